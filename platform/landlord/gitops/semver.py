"""Semantic versions of tags and chart versions, and ranges to follow (``>=1.2 <2``, ``^1.4``…)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from landlord import errors

_VERSION = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_PARTIAL = re.compile(r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$")


@dataclasses.dataclass(frozen=True, order=True)
class Version:
    """A parsed semantic version; prereleases sort before the release."""

    major: int
    minor: int
    patch: int
    release: bool = True  # True sorts after False: 1.0.0-rc1 < 1.0.0
    pre: str = ""

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """The version in a tag name, or None if it is not one."""
        match = _VERSION.match(text)
        if not match:
            return None
        pre = match.group("pre") or ""
        return cls(
            int(match.group("major")),
            int(match.group("minor")),
            int(match.group("patch")),
            release=not pre,
            pre=pre,
        )


class RangeError(errors.TerminalError):
    """A version range that cannot be parsed; the message names the offending token."""

    reason = "InvalidSource"


Comparator = tuple[str, Version]


def _expand(token: str) -> list[Comparator]:
    """One range token as plain comparators (``^1.2`` becomes ``>=1.2.0 <2.0.0-``)."""
    match = re.match(r"^(>=|<=|>|<|=|\^|~)?(.*)$", token)
    op, rest = (match.group(1) or "", match.group(2)) if match else ("", token)
    full = Version.parse(rest)
    if full is not None and op not in ("^", "~"):
        return [(op or "=", full)]
    partial = _PARTIAL.match(rest)
    if not partial:
        raise RangeError(f"ref.semver: cannot parse {token!r}")
    major, minor, patch = (
        None if part is None or part in "xX*" else int(part) for part in partial.groups()
    )
    if major is None:
        return [(">=", Version(0, 0, 0))]
    low = Version(major, minor or 0, patch or 0)
    if op == "^":
        if major > 0 or minor is None:
            high = (major + 1, 0, 0)
        elif minor > 0 or patch is None:
            high = (0, minor + 1, 0)
        else:
            high = (0, 0, (patch or 0) + 1)
    elif op == "~":
        high = (major, minor + 1, 0) if minor is not None else (major + 1, 0, 0)
    elif op in ("", "="):
        if minor is None:
            high = (major + 1, 0, 0)
        elif patch is None:
            high = (major, minor + 1, 0)
        else:
            return [("=", low)]
    else:
        return [(op, low)]
    # "X.Y.Z-" (release=False, no prerelease text) sorts below every X.Y.Z prerelease.
    return [(">=", low), ("<", Version(*high, release=False))]


def _holds(op: str, left: Version, right: Version) -> bool:
    return {
        "=": left == right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]


@dataclasses.dataclass(frozen=True)
class Range:
    """``||``-separated alternatives of space-separated (AND) comparators."""

    alternatives: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        """Parse a range; RangeError with the offending token otherwise."""
        if not text.strip():
            raise RangeError("ref.semver is empty")
        alternatives = []
        for alternative in text.split("||"):
            tokens = re.sub(r"(>=|<=|>|<|=)\s+", r"\1", alternative.strip()).split()
            if not tokens:
                raise RangeError(f"ref.semver {text!r} has an empty alternative")
            comparators: list[Comparator] = []
            for token in tokens:
                comparators.extend(_expand(token))
            alternatives.append(tuple(comparators))
        return cls(tuple(alternatives))

    def matches(self, version: Version) -> bool:
        """Whether ``version`` satisfies the range (prereleases only when asked for)."""
        for comparators in self.alternatives:
            if not version.release and not any(
                not bound.release
                and (bound.major, bound.minor, bound.patch)
                == (version.major, version.minor, version.patch)
                for _, bound in comparators
                if bound.pre
            ):
                continue
            if all(_holds(op, version, bound) for op, bound in comparators):
                return True
        return False

    def best(self, tags: Iterable[str]) -> str | None:
        """The tag with the highest version in range, or None."""
        candidates = []
        for tag in tags:
            version = Version.parse(tag)
            if version is not None and self.matches(version):
                candidates.append((version, tag))
        return max(candidates)[1] if candidates else None
