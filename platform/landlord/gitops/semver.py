"""Semantic versions of tags and chart versions, and ranges to follow (``>=1.2 <2``, ``^1.4``…).

Ranges follow Masterminds/semver v3, which Flux uses (``GitRepository``
``ref.semver``, ``ImagePolicy`` ``semver.range``, chart versions): ``||``
alternatives of space- or comma-separated comparators ``=``, ``!=``, ``>``,
``<``, ``>=``/``=>``, ``<=``/``=<``, ``~``, ``^``, wildcards (``1.x``,
``1.2.*``, ``*``) and hyphen ranges (``1.2 - 1.4.5``). A prerelease version
qualifies only for an alternative that names a prerelease itself
(``>=1.0.0-0``). Versions order as semver 2.0 says: numeric prerelease
identifiers numerically, below alphanumeric ones; build metadata ignored.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from landlord import errors

_VERSION = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
# One comparator: an operator, then a version that may be partial or hold wildcards.
_TOKEN = re.compile(
    r"^(?P<op>!=|>=|=>|<=|=<|>|<|=|\^|~)?v?(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*]))?"
    r"(?:\.(?P<patch>\d+|[xX*]))?(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_HYPHEN = re.compile(r"(\S+)\s+-\s+(\S+)")
_OPERATOR_SPACE = re.compile(r"(!=|>=|=>|<=|=<|>|<|=|\^|~)\s+")
_WILDCARDS = frozenset("xX*")

PreKey = tuple[tuple[int, int, str], ...]


def _pre_key(pre: str) -> PreKey:
    """Semver 2.0 precedence of a prerelease: numeric identifiers numerically, and first."""
    if not pre:
        return ()
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split("."))


@dataclasses.dataclass(frozen=True, order=True)
class Version:
    """A parsed semantic version; prereleases sort before the release.

    ``release=False`` with an empty ``pre`` is the lowest version of its
    ``major.minor.patch`` (``X.Y.Z-``), below every prerelease of it: the
    exclusive upper bound of a range such as ``^1.2``.
    """

    major: int
    minor: int
    patch: int
    release: bool = True  # True sorts after False: 1.0.0-rc1 < 1.0.0
    pre: str = dataclasses.field(default="", compare=False)
    pre_key: PreKey = dataclasses.field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pre_key", _pre_key(self.pre))

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """The version in a tag name (strict semver, an optional leading ``v``), or None."""
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


@dataclasses.dataclass(frozen=True)
class Comparator:
    """``version <op> bound``; for ``!in``, outside ``[bound, upper)`` (``!=1.2``)."""

    op: str
    bound: Version
    upper: Version | None = None

    def holds(self, version: Version) -> bool:
        bound = self.bound
        if self.op == "!in":
            return not (bound <= version < (self.upper or bound))
        return {
            "=": version == bound,
            "!=": version != bound,
            ">": version > bound,
            ">=": version >= bound,
            "<": version < bound,
            "<=": version <= bound,
        }[self.op]


def _floor(major: int, minor: int, patch: int) -> Version:
    """``X.Y.Z-``: below every version and prerelease of ``X.Y.Z``."""
    return Version(major, minor, patch, release=False)


def _expand(token: str, field: str) -> list[Comparator]:
    """One range token as plain comparators (``^1.2`` becomes ``>=1.2.0 <2.0.0-``)."""
    match = _TOKEN.match(token)
    if not match:
        raise RangeError(f"{field}: cannot parse {token!r}")
    op = {"=>": ">=", "=<": "<=", "": "="}.get(match.group("op") or "", match.group("op") or "")
    pre = match.group("pre") or ""
    numbers: list[int | None] = []
    for name in ("major", "minor", "patch"):
        part = match.group(name)
        # Masterminds: everything after the first wildcard is a wildcard too.
        if part is None or part in _WILDCARDS or (numbers and numbers[-1] is None):
            numbers.append(None)
        else:
            numbers.append(int(part))
    major, minor, patch = numbers
    if major is None:
        return [Comparator(">=", Version(0, 0, 0, release=not pre, pre=pre))]
    low = Version(major, minor or 0, patch or 0, release=not pre, pre=pre)
    if minor is None:
        following = _floor(major + 1, 0, 0)
    elif patch is None:
        following = _floor(major, minor + 1, 0)
    else:
        following = _floor(major, minor, patch + 1)
    partial = patch is None
    if op == "^":
        if major > 0 or minor is None:
            high = _floor(major + 1, 0, 0)
        elif minor > 0 or patch is None:
            high = _floor(0, minor + 1, 0)
        else:
            high = _floor(0, 0, patch + 1)
        return [Comparator(">=", low), Comparator("<", high)]
    if op == "~":
        high = _floor(major + 1, 0, 0) if minor is None else _floor(major, minor + 1, 0)
        return [Comparator(">=", low), Comparator("<", high)]
    if not partial:
        return [Comparator(op, low)]
    return {
        "=": [Comparator(">=", low), Comparator("<", following)],
        "!=": [Comparator("!in", low, following)],
        ">": [Comparator(">=", following)],
        ">=": [Comparator(">=", low)],
        "<": [Comparator("<", low)],
        "<=": [Comparator("<", following)],
    }[op]


@dataclasses.dataclass(frozen=True)
class Alternative:
    """Comparators that must all hold; prereleases qualify only when one names a prerelease."""

    comparators: tuple[Comparator, ...]
    prereleases: bool


@dataclasses.dataclass(frozen=True)
class Range:
    """``||``-separated alternatives of space-separated (AND) comparators."""

    alternatives: tuple[Alternative, ...]

    @classmethod
    def parse(cls, text: str, *, field: str = "ref.semver") -> Range:
        """Parse a range; RangeError naming ``field`` and the offending token otherwise."""
        if not text.strip():
            raise RangeError(f"{field} is empty")
        alternatives = []
        for alternative in text.split("||"):
            spaced = _HYPHEN.sub(r">=\1 <=\2", alternative.replace(",", " ").strip())
            tokens = _OPERATOR_SPACE.sub(r"\1", spaced).split()
            if not tokens:
                raise RangeError(f"{field} {text!r} has an empty alternative")
            comparators: list[Comparator] = []
            prereleases = False
            for token in tokens:
                expanded = _expand(token, field)
                prereleases = prereleases or any(c.bound.pre for c in expanded)
                comparators.extend(expanded)
            alternatives.append(Alternative(tuple(comparators), prereleases))
        return cls(tuple(alternatives))

    def matches(self, version: Version) -> bool:
        """Whether ``version`` satisfies the range (prereleases only when asked for)."""
        for alternative in self.alternatives:
            if not version.release and not alternative.prereleases:
                continue
            if all(c.holds(version) for c in alternative.comparators):
                return True
        return False

    def best(self, tags: Iterable[str]) -> str | None:
        """The tag with the highest version in range, or None (ties: the greatest tag name)."""
        best: tuple[Version, str] | None = None
        for tag in tags:
            version = Version.parse(tag)
            if version is not None and self.matches(version):
                candidate = (version, tag)
                if best is None or candidate > best:
                    best = candidate
        return best[1] if best else None
