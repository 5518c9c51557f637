"""Comparing desired and live objects."""

from __future__ import annotations

from typing import Any


def contains(live: Any, wanted: Any) -> bool:
    """Whether ``live`` already holds every field of ``wanted`` (lists compare whole)."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(
            key in live and contains(live[key], value) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(live, list)
            and len(live) == len(wanted)
            and all(contains(a, b) for a, b in zip(live, wanted, strict=True))
        )
    return bool(live == wanted)
