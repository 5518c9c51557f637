"""Kubernetes resource quantities (``500m``, ``16Gi``, ``1e3``) as exact decimals."""

from __future__ import annotations

import decimal
import re

_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIXES: dict[str, decimal.Decimal | int] = {
    "": 1,
    "n": decimal.Decimal("1e-9"),
    "u": decimal.Decimal("1e-6"),
    "m": decimal.Decimal("1e-3"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def parse(value: str | int) -> decimal.Decimal:
    """The quantity's value; ValueError when it is not one."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match or match.group(1).count(".") > 1 or match.group(1) in {".", "+", "-"}:
        raise ValueError(f"{text!r} is not a quantity such as 500m, 2, 16Gi or 1e3")
    number = decimal.Decimal(match.group(1))
    suffix = match.group(2) or ""
    if suffix[:1] in {"e", "E"}:
        return number * decimal.Decimal(10) ** int(suffix[1:])
    return number * decimal.Decimal(_SUFFIXES[suffix])
