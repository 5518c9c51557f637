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

Objects are known by their shape (``SHAPES``, written in the policy's own glob
language), and patterns are compared exactly as the engine matches them: each
glob becomes an automaton over the very character steps of
:func:`patterns.tokens`, and "can this pattern match an object?" or "does this
pattern match everything that one matches?" is a search of their product, which
also yields an example object. Only Landlord's own model is checked; with any
other ``model.conf`` the matcher may mean something else, and nothing is said.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Sequence

from landlord.policy import patterns
from landlord.policy.engine import Policy
from landlord.policy.rules import ACTIONS, Rule

NEVER_MATCHES = "NeverMatches"
SHADOWED = "ShadowedByDeny"
DUPLICATE = "Duplicate"

_Spec = tuple[patterns.Token, ...]


def _literal_steps(text: str) -> _Spec:
    return tuple((re.escape(c), False) for c in text)


def _some(one: str) -> _Spec:
    return ((one, False), (one, True))


# The objects each action is asked about, as the steps of a glob. These are the
# objects that can exist (Kubernetes names, group/Kind, URLs with a scheme);
# otherwise loose on purpose (a URL's host and path may be anything): a looser
# shape can only make the checker say less, never something wrong.
_NAME = _some("[a-z0-9.-]")
_REF = _NAME + _literal_steps("/") + _NAME
_URL = (("[a-zA-Z]", False), ("[a-zA-Z0-9+.-]", True), *_literal_steps("://"), (".", True))
_KIND = _some("[a-z0-9.-]") + _literal_steps("/") + _some("[A-Za-z0-9]")
SHAPES: dict[str, tuple[_Spec, ...]] = {
    "depend": (_REF,),
    "source": (_URL, _REF),
    "apply": (_KIND,),
    "target": (_NAME,),
    **{
        action: (_literal_steps("tenants/") + _NAME,)
        for action in ACTIONS
        if action.startswith("api:")
    },
    "api:list": (_literal_steps("tenants"),),
}
EXAMPLES: dict[str, str] = {
    "depend": "a namespace/name such as team-b/shared-db",
    "source": "a Git URL such as https://git.example.com/team-a/app.git, "
    "or a namespace/name such as team-b/charts",
    "apply": "a group/Kind such as apps/Deployment or core/ConfigMap",
    "target": "a target cluster's name such as staging",
    "api": "tenants/<name> (tenants for api:list)",
}
# The pattern that matches every object of an enforcement point.
EVERYTHING: dict[str, str] = {
    "depend": "*/*",
    "source": "**",
    "apply": "*/*",
    "target": "*",
    "api": "tenants/*",
}
# Automata bigger than this are not searched (the claim would be a guess).
MAX_STATES = 20_000


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


# -- globs as automata ------------------------------------------------------------

_Step = tuple[Callable[[str], bool], bool]


@functools.lru_cache(maxsize=4096)
def _steps(tokens: _Spec) -> tuple[_Step, ...]:
    steps = []
    for one, repeats in tokens:
        compiled = re.compile(one, re.DOTALL)
        steps.append((functools.partial(_fullmatch, compiled), repeats))
    return tuple(steps)


def _literal(one: str) -> str | None:
    unescaped = re.sub(r"\\(.)", r"\1", one, flags=re.DOTALL)
    return unescaped if len(unescaped) == 1 and re.escape(unescaped) == one else None


def _fullmatch(compiled: re.Pattern[str], char: str) -> bool:
    return compiled.fullmatch(char) is not None


def _tokens(glob: str | _Spec) -> _Spec:
    return patterns.tokens(glob) if isinstance(glob, str) else glob


class _Glob:
    """A glob as a deterministic automaton whose states are sets of step positions."""

    def __init__(self, glob: str | _Spec) -> None:
        self.steps = _steps(_tokens(glob))
        self.start = self._closure({0})
        # The one character a plain literal step takes (a search tries only it).
        self.literal = [None if repeats else _literal(one) for one, repeats in _tokens(glob)]

    def only(self, state: frozenset[int]) -> set[str] | None:
        """The only characters that lead anywhere from ``state``, when few are."""
        chars = set()
        for i in state:
            if i == len(self.steps):
                continue
            char = self.literal[i]
            if char is None:
                return None
            chars.add(char)
        return chars

    def _closure(self, positions: Iterable[int]) -> frozenset[int]:
        out = set(positions)
        frontier = list(out)
        while frontier:
            i = frontier.pop()
            if i < len(self.steps) and self.steps[i][1] and i + 1 not in out:
                out.add(i + 1)
                frontier.append(i + 1)
        return frozenset(out)

    def step(self, state: frozenset[int], char: str) -> frozenset[int]:
        nxt = set()
        for i in state:
            if i < len(self.steps):
                matches, repeats = self.steps[i]
                if matches(char):
                    nxt.add(i if repeats else i + 1)
        return self._closure(nxt)

    def accepts(self, state: frozenset[int]) -> bool:
        return len(self.steps) in state


@functools.lru_cache(maxsize=4096)
def _glob(glob: str | _Spec) -> _Glob:
    return _Glob(glob)


_PREFERRED = "abcdefghijklmnopqrstuvwxyz0123456789/:.-_@ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _alphabet(globs: Sequence[str | _Spec]) -> list[str]:
    """One character of each class no step of ``globs`` tells apart.

    Every step is a literal, ``[^/]``, ``.`` or a bracket class whose ranges
    end in characters written in the pattern; so each character written, its
    neighbours, all of ASCII and one character written nowhere represent every
    character there is.
    """
    chars = {chr(code) for code in range(128)}
    for glob in globs:
        for one, _ in _tokens(glob):
            for c in one:
                code = ord(c)
                chars.update(chr(n) for n in (code - 1, code, code + 1) if 0 <= n <= 0x10FFFF)
    fresh = 0xE000
    while chr(fresh) in chars:
        fresh += 1
    chars.add(chr(fresh))
    preferred = [c for c in _PREFERRED if c in chars]
    return preferred + sorted(chars - set(preferred))


class TooLargeError(Exception):
    """The search would visit more than :data:`MAX_STATES` states: no claim is made."""


@functools.lru_cache(maxsize=65_536)
def example(
    include: tuple[str | _Spec, ...],
    exclude: tuple[str | _Spec, ...] = (),
) -> str | None:
    """The shortest string every glob of ``include`` matches and none of ``exclude``.

    None when there is none. Raises :class:`TooLargeError` rather than guess.
    """
    globs = [_glob(p) for p in include]
    others = [_glob(p) for p in exclude]
    alphabet = _alphabet([*include, *exclude])
    start = (tuple(g.start for g in globs), tuple(g.start for g in others))
    parents: dict[object, tuple[object, str] | None] = {start: None}
    queue = [start]
    for state in queue:
        ins, outs = state
        if all(g.accepts(s) for g, s in zip(globs, ins, strict=True)) and not any(
            g.accepts(s) for g, s in zip(others, outs, strict=True)
        ):
            word = []
            at: object = state
            while (parent := parents[at]) is not None:
                at, char = parent
                word.append(char)
            return "".join(reversed(word))
        chars: Iterable[str] = alphabet
        for glob, at in zip(globs, ins, strict=True):
            only = glob.only(at)
            if only is not None:
                chars = [c for c in alphabet if c in only]
                break
        for char in chars:
            nxt_in = tuple(g.step(s, char) for g, s in zip(globs, ins, strict=True))
            if not all(nxt_in):
                continue
            nxt = (nxt_in, tuple(g.step(s, char) for g, s in zip(others, outs, strict=True)))
            if nxt not in parents:
                if len(parents) >= MAX_STATES:
                    raise TooLargeError(f"{include} minus {exclude}")
                parents[nxt] = (state, char)
                queue.append(nxt)
    return None


def object_example(pattern: str, action: str) -> str | None:
    """An object ``action`` is asked about that ``pattern`` matches, or None if none is."""
    if not patterns.is_pattern(pattern):
        return pattern if fits(pattern, action) else None
    for shape in SHAPES[action]:
        found = example((pattern, shape))
        if found is not None:
            return found
    return None


def fits(obj: str, action: str) -> bool:
    """Whether ``obj`` has the shape of an object ``action`` is asked about."""
    return any(_regex(shape).fullmatch(obj) is not None for shape in SHAPES[action])


@functools.lru_cache(maxsize=64)
def _regex(spec: _Spec) -> re.Pattern[str]:
    return re.compile("".join(f"{one}*" if repeats else one for one, repeats in spec), re.DOTALL)


def covers(wide: str, narrow: str, action: str) -> bool:
    """Whether ``wide`` matches every object of ``action`` that ``narrow`` matches.

    False may also mean "not worth proving" (a claim is only made when sure).
    """
    if wide == narrow or wide == "**":
        return True
    if not patterns.is_pattern(narrow):
        return not fits(narrow, action) or patterns.matches(narrow, wide)
    if not patterns.is_pattern(wide):
        # A literal covers only itself; a pattern that matches just that one
        # object is too rare to be worth a search.
        return False
    wide_prefix, narrow_prefix = _prefix(wide), _prefix(narrow)
    if not (wide_prefix.startswith(narrow_prefix) or narrow_prefix.startswith(wide_prefix)):
        return False  # they start differently: no common object, or none at all
    return all(example((narrow, shape), (wide,)) is None for shape in SHAPES[action])


def _prefix(pattern: str) -> str:
    """The literal characters ``pattern`` starts with."""
    out = []
    for one, repeats in patterns.tokens(pattern):
        char = None if repeats else _literal(one)
        if char is None:
            break
        out.append(char)
    return "".join(out)


# -- the checks ---------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def actions_of(action: str) -> tuple[str, ...]:
    """The actions an action pattern of a line matches."""
    return tuple(a for a in ACTIONS if patterns.matches(a, action))


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
