"""Which tag an ImagePolicy picks: ``semver``, ``numerical`` or ``alphabetical`` over filtered tags.

Flux's semantics (image-reflector-controller ``internal/policy``):
``filterTags.pattern`` is an RE2 expression searched in each tag (a tag that
does not match is skipped); ``filterTags.extract`` rewrites a matching tag
with Go's ``Regexp.ExpandString`` (``$name``, ``${name}``, ``$1``, ``$$``) into
the value the policy orders; the policy returns the ORIGINAL tag.

- ``semver.range``: the highest strict semver (a leading ``v`` allowed) in the
  range (:mod:`landlord.gitops.semver`, Masterminds' rules).
- ``numerical.order``: values parsed as decimal numbers (tags that are not are
  skipped); ``asc`` (the default) picks the highest, ``desc`` the lowest.
- ``alphabetical.order``: byte order; ``asc`` (the default) picks the last,
  ``desc`` the first.

Ties (two tags extracting to the same value) go to the greatest original tag,
so the choice never depends on the order the registry listed the tags in.
Every pattern is compiled once per call; the work is linear in the tags.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import re2  # type: ignore[import-untyped]

from landlord.gitops import semver


class InvalidPolicyError(ValueError):
    """The policy or its tag filter cannot be used; the message names the field."""


POLICIES = ("semver", "numerical", "alphabetical")
ORDERS = ("asc", "desc")
# What Go's strconv.ParseFloat reads as a finite decimal number (no hex, inf, nan, "_").
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
# Go's Regexp.ExpandString: "$$", "${name}", or "$name" (the longest run of [A-Za-z0-9_]).
_REFERENCE = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([A-Za-z0-9_]+))")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# The longest value ``extract`` may make of a tag (a tag is at most 128 characters; a
# 256-character template of "$0"s would make 16 KiB of each of 10,000 tags, held at
# once). A longer value does not qualify, like a tag the pattern does not match.
MAX_EXTRACTED = 1024

Extractor = Callable[[str], str | None]


def select(
    tags: Sequence[str],
    policy: Mapping[str, Any],
    filter_tags: Mapping[str, Any] | None,
) -> str | None:
    """The tag the policy picks among ``tags``, or None when no tag qualifies.

    Raises :class:`InvalidPolicyError` on a bad range, order, pattern or extract.
    """
    choose = _policy(policy)
    extract = _extractor(filter_tags)
    values: dict[str, str] = {}  # extracted value -> the greatest original tag giving it
    for tag in tags:
        value = extract(tag)
        if value is None:
            continue
        known = values.get(value)
        if known is None or tag > known:
            values[value] = tag
    if not values:
        return None
    chosen = choose(values)
    return None if chosen is None else values[chosen]


def why_none(
    tags: Sequence[str], policy: Mapping[str, Any], filter_tags: Mapping[str, Any] | None
) -> str:
    """Why ``select`` found no tag, for the NoMatchingTag message (the spec is valid)."""
    kind = next((name for name in POLICIES if policy.get(name) is not None), "policy")
    if not tags:
        return "the ImageRepository found no tags"
    if not filter_tags or not filter_tags.get("pattern"):
        return f"no tag qualifies under spec.policy.{kind}"
    extract = _extractor(filter_tags)
    values = [(tag, value) for tag in tags if (value := extract(tag)) is not None]
    if not values:
        return "no tag matches spec.filterTags.pattern"
    tag, value = max(values)
    shown = f"{tag!r}" if value == tag else f"{tag!r} gives {value!r}"
    count = "1 tag matches" if len(values) == 1 else f"{len(values)} tags match"
    return (
        f"{count} spec.filterTags.pattern ({shown}), but no value "
        f"qualifies under spec.policy.{kind}"
    )


def validate(policy: Mapping[str, Any], filter_tags: Mapping[str, Any] | None) -> None:
    """Raise :class:`InvalidPolicyError` when ``select`` would; checks a spec before any scan."""
    _policy(policy)
    _extractor(filter_tags)


def _policy(policy: Mapping[str, Any]) -> Callable[[Mapping[str, str]], str | None]:
    if not isinstance(policy, Mapping):
        raise InvalidPolicyError(
            "spec.policy must be an object with one of: " + ", ".join(POLICIES)
        )
    named = [name for name in POLICIES if policy.get(name) is not None]
    unknown = sorted(set(policy) - set(POLICIES))
    if unknown:
        raise InvalidPolicyError(
            f"spec.policy has unknown field {unknown[0]!r}; use one of: " + ", ".join(POLICIES)
        )
    if len(named) != 1:
        raise InvalidPolicyError(
            "spec.policy must set exactly one of: "
            + ", ".join(POLICIES)
            + (f" (it sets {', '.join(named)})" if named else "")
        )
    kind = named[0]
    body = policy[kind]
    if not isinstance(body, Mapping):
        raise InvalidPolicyError(f"spec.policy.{kind} must be an object")
    if kind == "semver":
        text = body.get("range")
        if not isinstance(text, str) or not text.strip():
            raise InvalidPolicyError("spec.policy.semver.range is required (e.g. '>=1.0.0 <2.0.0')")
        try:
            wanted = semver.Range.parse(text, field="spec.policy.semver.range")
        except semver.RangeError as error:
            raise InvalidPolicyError(
                f"{error} (Masterminds semver ranges, as Flux: '>=1.0.0 <2.0.0', '^1.2', "
                "'~1.2', '1.x', '>=1.0.0-0' to include prereleases)"
            ) from None
        return lambda values: wanted.best(values)
    order = body.get("order", "asc")
    if order not in ORDERS:
        raise InvalidPolicyError(
            f"spec.policy.{kind}.order {str(order)[:40]!r} must be 'asc' or 'desc'"
        )
    if kind == "numerical":
        return lambda values: _numerical(values, descending=order == "desc")
    return lambda values: (min if order == "desc" else max)(values)


def _numerical(values: Mapping[str, str], *, descending: bool) -> str | None:
    best: tuple[decimal.Decimal, str] | None = None
    for value in values:
        if not _NUMBER.match(value):
            continue
        # Exact decimals: build numbers past 2**53 still order correctly.
        number = decimal.Decimal(value)
        if best is None:
            best = (number, value)
            continue
        better = number < best[0] if descending else number > best[0]
        # Equal numbers ("1.0" and "1"): the greatest spelling, as select() breaks ties.
        if better or (number == best[0] and value > best[1]):
            best = (number, value)
    return None if best is None else best[1]


def _extractor(filter_tags: Mapping[str, Any] | None) -> Extractor:
    if not filter_tags:
        return lambda tag: tag
    if not isinstance(filter_tags, Mapping):
        raise InvalidPolicyError("spec.filterTags must be an object with pattern and extract")
    pattern = filter_tags.get("pattern") or ""
    template = filter_tags.get("extract") or ""
    if not isinstance(pattern, str) or not isinstance(template, str):
        raise InvalidPolicyError("spec.filterTags.pattern and .extract must be strings")
    if template and not pattern:
        raise InvalidPolicyError("spec.filterTags.extract needs spec.filterTags.pattern")
    if not pattern:
        return lambda tag: tag
    options = re2.Options()
    options.log_errors = False  # a tenant's bad pattern is its status, not our log
    try:
        compiled = re2.compile(pattern, options=options)
    except re2.error as error:
        raw = error.args[0] if error.args else "invalid"
        why = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        raise InvalidPolicyError(
            f"spec.filterTags.pattern {pattern[:80]!r} is not a regular expression RE2 accepts "
            f"({why}); Landlord matches as Flux does, with RE2 syntax"
        ) from None
    if not template:
        return lambda tag: tag if compiled.search(tag) is not None else None
    pieces = _template(template, compiled)

    def extract(tag: str) -> str | None:
        match = compiled.search(tag)
        if match is None:
            return None
        value = "".join(
            piece if isinstance(piece, str) else (match.group(piece) or "") for piece in pieces
        )
        return value if len(value) <= MAX_EXTRACTED else None

    return extract


def _template(template: str, compiled: Any) -> list[str | int]:
    """``extract`` as literal text and group numbers; unknown groups are refused.

    Go would expand a reference to a group the pattern does not have to nothing,
    silently; every tag would then extract to the same value. Refusing says why.
    """
    names: Mapping[str, int] = compiled.groupindex
    groups: int = compiled.groups
    pieces: list[str | int] = []
    position = 0
    for reference in _REFERENCE.finditer(template):
        pieces.append(_literal(template, template[position : reference.start()]))
        position = reference.end()
        dollar, braced, bare = reference.groups()
        if dollar:
            pieces.append("$")
            continue
        name = braced if braced is not None else bare
        if not _NAME.match(name):
            raise InvalidPolicyError(
                f"spec.filterTags.extract {template[:80]!r}: {reference.group(0)!r} is not a "
                "group reference ($1, $name or ${name})"
            )
        if name.isdigit():
            number = int(name)
            if number > groups:
                raise InvalidPolicyError(
                    f"spec.filterTags.extract {template[:80]!r}: the pattern has no group {number} "
                    f"(it has {groups})"
                )
            pieces.append(number)
        elif name in names:
            pieces.append(names[name])
        else:
            known = ", ".join(sorted(names)) or "none"
            raise InvalidPolicyError(
                f"spec.filterTags.extract {template[:80]!r}: the pattern has no group named "
                f"{name!r} (named groups: {known})"
            )
    pieces.append(_literal(template, template[position:]))
    return [p for p in pieces if p != ""]


def _literal(template: str, text: str) -> str:
    # Go keeps a "$" that starts no reference as text; it is a typo far more often
    # than intended ("${ts" without its brace), so it is refused ("$$" is a "$").
    if "$" in text:
        raise InvalidPolicyError(
            f"spec.filterTags.extract {template[:80]!r}: a '$' that starts no group reference "
            "($1, $name or ${name}; '$$' for a literal '$')"
        )
    return text
