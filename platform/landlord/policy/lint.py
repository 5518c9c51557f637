"""Policy lines that cannot do what they say: the line checker.

A policy that parses can still be wrong in a way nobody sees: ``p, tenant:x,
source, *, deny`` denies nothing, because ``*`` never crosses ``/`` and every
source object (a URL, or ``namespace/name``) has one. Casbin does not mind, the
operator does not mind, and a tenant walks through the hole. This module finds
three kinds of such lines, each with a claim that is always right (it may miss
a case; it never warns about a line that works):

- :data:`NEVER_MATCHES` — the object pattern matches no object the line's
  action is ever asked about (per enforcement point: ``api:*, tenants/*`` is
  fine although ``api:list`` asks about ``tenants``);
- :data:`SHADOWED` — an allow line every match of which one deny line also
  matches, for a subject every holder of the allow line has (deny overrides
  allow, so the allow never takes effect);
- :data:`DUPLICATE` — a line another line of the same subject and effect
  already covers (actions and objects).

Objects are known by their shape (:data:`.shapes.SHAPES`, written in the
policy's own glob language), and patterns are compared exactly as the engine
matches them, by an automaton search (:mod:`.automata`) that also yields an
example object. Only Landlord's own model is checked; with any other
``model.conf`` the matcher may mean something else, and nothing is said.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence

from landlord.policy import patterns
from landlord.policy.automata import TooLargeError, example
from landlord.policy.engine import Policy
from landlord.policy.rules import Rule
from landlord.policy.shapes import EVERYTHING, EXAMPLES, actions_of, covers, object_example

NEVER_MATCHES = "NeverMatches"
SHADOWED = "ShadowedByDeny"
DUPLICATE = "Duplicate"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One line that does not do what it says, why, and what would."""

    kind: str
    rule: Rule
    why: str
    suggestion: str = ""
    other: Rule | None = None
    # The actions for which the line changes no decision (all it matches, or
    # those of the enforcement points its object pattern misses).
    actions: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.rule.where}: {self.rule.text}: {self.why}"
        if self.suggestion:
            text += f"; {self.suggestion}"
        return text


def _point(action: str) -> str:
    return action.partition(":")[0]


def _by_point(actions: Iterable[str]) -> dict[str, list[str]]:
    points: dict[str, list[str]] = {}
    for action in actions:
        points.setdefault(_point(action), []).append(action)
    return points


def _suggest(pattern: str, missing: dict[str, list[str]], *, deny: bool) -> str:
    """A pattern near ``pattern`` that matches objects of every point (and its actions) missed.

    A deny line is offered the widest near pattern first, an allow line the narrowest.
    """
    wildcards_only = not any(
        not repeats and one != "[^/]" for one, repeats in patterns.tokens(pattern)
    )
    wider = re.sub(r"(?<!\*)\*(?!\*)", "**", pattern)
    candidates = (
        []
        if wildcards_only
        else [
            *([wider, f"{pattern}/**", f"{pattern}/*"] if deny else [f"{pattern}/*", wider]),
            f"tenants/{pattern}",
        ]
    )
    for candidate in candidates:
        try:
            if candidate != pattern and all(
                any(object_example(candidate, a) for a in actions) for actions in missing.values()
            ):
                return f"did you mean {candidate}?"
        except TooLargeError:
            continue
    wide = []
    for point, actions in missing.items():
        every = "tenants" if actions == ["api:list"] else EVERYTHING[point]
        if point == "api" and "api:list" in actions and len(actions) > 1:
            every += " (tenants for api:list)"
        wide.append(
            f"{every} for {point}" + (" (*://** for every URL)" if point == "source" else "")
        )
    return "the pattern that matches every object is " + ", ".join(wide)


def _never_matches(rule: Rule) -> Finding | None:
    _, action, obj, effect = rule.fields
    covered = _by_point(actions_of(action))
    missing = {
        point: actions
        for point, actions in covered.items()
        if not any(object_example(obj, a) for a in actions)
    }
    if not missing:
        return None
    if example((obj, ((".", True), ("/", False), (".", True)))) is None:
        why = (
            f"{obj!r} never matches a '/', and every {'/'.join(missing)} object has one "
            "(* and ? stay inside one /-separated segment; ** crosses segments)"
        )
    else:
        why = f"{obj!r} matches no {'/'.join(missing)} object"
    verb = "denies" if effect == "deny" else "allows"
    if len(missing) == len(covered):
        why += f", so this line {verb} nothing"
    else:
        why += f", so this line {verb} no {'/'.join(missing)} request"
    if len(missing) == 1:
        (point,) = missing
        why += f" ({point} objects are {EXAMPLES[point]})"
    return Finding(
        NEVER_MATCHES,
        rule,
        why,
        _suggest(obj, missing, deny=effect == "deny"),
        actions=tuple(a for actions in missing.values() for a in actions),
    )


def _within(rule: Rule, other: Rule) -> bool:
    """Whether ``other`` matches every action and object ``rule`` matches."""
    actions = actions_of(rule.fields[1])
    if not set(actions) <= set(actions_of(other.fields[1])):
        return False
    return all(covers(other.fields[2], rule.fields[2], action) for action in actions)


def check(
    rules: Sequence[Rule],
    roles: Callable[[str], frozenset[str]],
) -> list[Finding]:
    """Every finding about the ``p`` lines of ``rules``, in line order, at most one a line.

    ``roles`` gives a subject and all its roles (``Policy.roles``).
    """
    p_rules = [rule for rule in rules if rule.ptype == "p"]
    findings: dict[Rule, Finding] = {}
    for rule in p_rules:
        try:
            found = _never_matches(rule)
        except TooLargeError:
            continue
        if found is not None:
            findings[rule] = found
    working = [rule for rule in p_rules if rule not in findings]
    denies: dict[str, list[Rule]] = {}
    groups: dict[tuple[str, str], list[Rule]] = {}
    for rule in working:
        subject, _, _, effect = rule.fields
        if effect == "deny":
            denies.setdefault(subject, []).append(rule)
        groups.setdefault((subject, effect), []).append(rule)
    for rule in working:
        subject, _, _, effect = rule.fields
        if effect != "allow":
            continue
        candidates = sorted(
            (deny for holder in roles(subject) for deny in denies.get(holder, ())),
            key=lambda r: r.line,
        )
        for deny in candidates:
            try:
                if _within(rule, deny):
                    findings[rule] = Finding(
                        SHADOWED,
                        rule,
                        f"every request it matches is also denied by {deny.where} "
                        f"({deny.text}), and deny overrides allow, so this line allows nothing",
                        "remove it, or narrow the deny line",
                        deny,
                        actions_of(rule.fields[1]),
                    )
                    break
            except TooLargeError:
                continue
    for group in groups.values():
        for rule in group:
            if rule in findings:
                continue
            for other in group:
                if other is rule or (other in findings and findings[other].kind == DUPLICATE):
                    continue
                try:
                    if not _within(rule, other):
                        continue
                    # Two lines that cover each other: the later one is the duplicate.
                    if _within(other, rule) and other.line > rule.line:
                        continue
                except TooLargeError:
                    continue
                findings[rule] = Finding(
                    DUPLICATE,
                    rule,
                    f"{other.where} ({other.text}) already matches everything it matches, "
                    "so it changes no decision",
                    "remove this line",
                    other,
                    actions_of(rule.fields[1]),
                )
                break
    return sorted(findings.values(), key=lambda f: (f.rule.source, f.rule.line))


def check_policy(policy: Policy) -> list[Finding]:
    """The findings about a compiled policy; none with a model other than Landlord's own."""
    if not policy.indexed:
        return []
    return check(policy.rules, policy.roles)
