"""A spec the typed model refuses, as one condition message (reason ``InvalidSpec``)."""

from __future__ import annotations

import pydantic


def describe(error: pydantic.ValidationError) -> str:
    """``spec.<field>: <problem>`` for each problem pydantic found, joined by ``; ``."""
    parts = []
    for item in error.errors():
        where = "spec." + ".".join(str(part) for part in item["loc"]) if item["loc"] else "spec"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)
