"""Go-style durations (``30s``, ``1m30s``, ``1.5h``), as the CRDs write them, and their bounds.

Every duration a tenant sets decides how often the operator works for it or how
long one of its workers stays busy, so each is held to the platform's
:class:`Bounds` (Flux's CVE-2022-39272 class: a ``1ms`` interval is a busy
loop). A value outside them is refused with :class:`OutOfBoundsError`, never clamped:
the tenant learns what to change instead of getting something it did not write.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
from collections.abc import Mapping
from typing import Any

from landlord import settings

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

# A timeout shorter than this can only fail; it is no setting (nothing to tune).
MIN_TIMEOUT = 1.0
# Backoff doubles at most this many times: 2**30 × any bounded retry is a finite
# float, where ``2 ** failures`` overflows after about a thousand failures.
MAX_DOUBLINGS = 30


@dataclasses.dataclass(frozen=True)
class Bounds:
    """What the platform allows a tenant's durations to be, in seconds (``LANDLORD_LIMITS__*``)."""

    min_interval: float = 10.0
    max_interval: float = 24 * 3600.0
    max_timeout: float = 600.0


def bounds_of(limits: settings.LimitsSettings) -> Bounds:
    """The platform's bounds, from its ``LANDLORD_LIMITS__*`` settings."""
    return Bounds(
        min_interval=limits.min_interval,
        max_interval=limits.max_interval,
        max_timeout=limits.max_timeout,
    )


class OutOfBoundsError(ValueError):
    """A duration field a tenant set that the platform does not allow."""

    def __init__(self, field: str, value: str, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(
            f"{field} {value!r} is not allowed: it must be a duration {allowed}; "
            "nothing was fetched or applied"
        )


def parse(text: str) -> float:
    """Seconds in ``text``; ValueError when it is not a duration."""
    if not text or _PART.sub("", text):
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m or 1h30m")
    return sum(float(value) * _UNITS[unit] for value, unit in _PART.findall(text))


def format_seconds(seconds: float) -> str:
    """``seconds`` as a Go-style duration (``10s``, ``10m``, ``1h30m``, ``500ms``)."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    hours, rest = divmod(seconds, 3600.0)
    minutes, secs = divmod(rest, 60.0)
    parts = [f"{hours:g}h" if hours else "", f"{minutes:g}m" if minutes else ""]
    parts.append(f"{secs:g}s" if secs else "")
    return "".join(parts)


def bounded(
    spec: Mapping[str, Any],
    field: str,
    default: float,
    *,
    low: float,
    high: float,
    path: str = "spec",
) -> float:
    """Seconds of ``spec[field]`` (``default`` when unset), or OutOfBoundsError outside [low, high].

    The default itself is brought into the range: a platform whose minimum is
    above a field's default must not refuse objects that never set it.
    """
    text = spec.get(field)
    if text in (None, ""):
        return min(max(default, low), high)
    allowed = f"between {format_seconds(low)} and {format_seconds(high)}"
    name = f"{path}.{field}"
    try:
        seconds = parse(str(text))
    except ValueError:
        raise OutOfBoundsError(name, str(text), allowed) from None
    if not (math.isfinite(seconds) and low <= seconds <= high):
        raise OutOfBoundsError(name, str(text), allowed)
    return seconds


def interval(
    spec: Mapping[str, Any], field: str, default: float, bounds: Bounds, *, path: str = "spec"
) -> float:
    """An interval (``interval``, ``retryInterval``): within the platform's min and max."""
    return bounded(
        spec, field, default, low=bounds.min_interval, high=bounds.max_interval, path=path
    )


def timeout(
    spec: Mapping[str, Any], field: str, default: float, bounds: Bounds, *, path: str = "spec"
) -> float:
    """A timeout (Git commands, health checks): at least 1 s, at most the platform's max."""
    return bounded(
        spec,
        field,
        default,
        low=min(MIN_TIMEOUT, bounds.max_timeout),
        high=bounds.max_timeout,
        path=path,
    )


def backoff(retry: float, failures: int, ceiling: float) -> float:
    """``retry × 2^(failures − 1)``, at most ``ceiling``; the exponent is capped first.

    Capping only the result is not enough: ``2 ** 10000`` as a float raises
    OverflowError before ``min`` ever sees it.
    """
    doublings = min(max(failures - 1, 0), MAX_DOUBLINGS)
    return min(retry * 2.0**doublings, ceiling)


def jittered(seconds: float, share: float = 0.1) -> float:
    """``seconds`` ± ``share`` at random, so reconcilers do not run in lockstep."""
    return seconds * random.uniform(1 - share, 1 + share)  # noqa: S311 - scheduling only
