"""Go-style durations (``30s``, ``1m30s``, ``1.5h``), as the CRDs write them."""

from __future__ import annotations

import random
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse(text: str) -> float:
    """Seconds in ``text``; ValueError when it is not a duration."""
    if not text or _PART.sub("", text):
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m or 1h30m")
    return sum(float(value) * _UNITS[unit] for value, unit in _PART.findall(text))


def jittered(seconds: float, share: float = 0.1) -> float:
    """``seconds`` ± ``share`` at random, so reconcilers do not run in lockstep."""
    return seconds * random.uniform(1 - share, 1 + share)  # noqa: S311 - scheduling only
