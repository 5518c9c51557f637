"""The Casbin adapter: a model and policy compiled into something fast to ask.

Casbin parses the model and holds the role graph (``g`` lines, transitive,
with glob patterns). Its enforcer evaluates the matcher against every policy
line per request — about 1.7 ms at 100 lines and 114 ms at 10,000 on our
machines — so with Landlord's own model (the shipped ``model.conf``) decisions
come from an index instead: the ``p`` lines of each subject, found through the
subject's roles, then the deny-overrides effect, then a decision cache. The
index is held to Casbin's answer by a differential test; with any other model
every decision goes through Casbin's enforcer (cached the same way).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import pathlib
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import casbin
from casbin import persist

from landlord.policy import patterns
from landlord.policy.rules import PolicyError, Rule, parse

# Casbin logs every model and policy it loads at INFO; the reloader logs what matters.
logging.getLogger("casbin").setLevel(logging.WARNING)

DEFAULTS = pathlib.Path(__file__).parent / "defaults"
CACHE_SIZE = 100_000

__all__ = ["DEFAULTS", "Decision", "Policy", "PolicyError", "Snapshot"]


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The text of a model and a policy, and where they were read from."""

    model: str
    policy: str
    origin: str

    @property
    def digest(self) -> str:
        data = self.model.encode() + b"\0" + self.policy.encode()
        return "sha256:" + hashlib.sha256(data).hexdigest()

    @classmethod
    def from_directory(cls, path: pathlib.Path, origin: str | None = None) -> Snapshot:
        """``model.conf`` and ``policy.csv`` from ``path``."""
        texts = []
        for name in ("model.conf", "policy.csv"):
            try:
                texts.append((path / name).read_text())
            except OSError as error:
                raise PolicyError([f"{path / name}: {error.strerror or error}"]) from None
        return cls(texts[0], texts[1], origin or str(path))


@dataclasses.dataclass(frozen=True)
class Decision:
    """One answer, with the line that decided it (None: nothing matched, default deny)."""

    allowed: bool
    subjects: tuple[str, ...]
    action: str
    object: str
    rule: Rule | None = None
    note: str = ""

    @property
    def effect(self) -> str:
        return "allow" if self.allowed else "deny"

    def explain(self) -> str:
        """A sentence naming the deciding line, for status messages and the CLI."""
        who = " or ".join(self.subjects)
        if self.note:
            return f"{who} may not {self.action} {self.object}: {self.note}"
        if self.rule is None and self.allowed:
            return "allowed (Casbin does not report which line allowed it with this model)"
        if self.rule is None:
            return f"no policy line allows {who} to {self.action} {self.object} (default deny)"
        verb = "allowed" if self.allowed else "denied"
        return f"{verb} by {self.rule.where} ({self.rule.text})"

    def how_to_allow(self, subject: str) -> str:
        """The sentence telling a platform admin how to allow what was refused.

        A deny line overrides every allow line, so when one decided, adding an allow
        line alone would change nothing: the sentence says to narrow that line first.
        """
        line = f"`p, {subject}, {self.action}, {self.object}, allow`"
        if self.rule is not None and not self.allowed:
            return (
                f"A deny line overrides every allow line: a platform admin can allow it only "
                f"by narrowing or removing {self.rule.where} (and, if no other line allows "
                f"it, adding {line})"
            )
        return f"A platform admin can allow it with a policy line such as {line}"


def _normalize(model: str) -> list[str]:
    lines = []
    for raw in model.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append("".join(line.split()))
    return lines


class _Rules(persist.Adapter):  # type: ignore[misc]
    """Feeds the already-checked rules to Casbin (it never reads the file itself)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = rules

    def load_policy(self, model: Any) -> None:
        for rule in self.rules:
            model.add_policy(rule.ptype, rule.ptype, list(rule.fields))


def _match(*args: str) -> bool:
    return patterns.matches(args[0], args[1])


Matcher = Callable[[str], bool]


def _matcher(pattern: str) -> Matcher:
    """A match function for ``pattern``, its regular expression compiled on first use.

    A 10,000-line policy has thousands of patterns a given run never meets (a
    ``policy diff`` compiles two policies to ask each a few requests); parsing has
    already checked that every one compiles.
    """
    if not patterns.is_pattern(pattern):
        return pattern.__eq__
    literal = pattern.rstrip("*")
    stars = len(pattern) - len(literal)
    if stars and not patterns.is_pattern(literal):
        # The common shapes, ``team-b/*`` and ``https://git.example.com/**``: a prefix test
        # (``*`` stays inside its segment, ``**`` crosses them), no regular expression.
        if stars >= 2:
            return lambda value: value.startswith(literal)
        start = len(literal)
        return lambda value: value.startswith(literal) and "/" not in value[start:]
    compiled: re.Pattern[str] | None = None

    def match(value: str) -> bool:
        nonlocal compiled
        if compiled is None:
            compiled = patterns.compile_glob(pattern)
        return compiled.fullmatch(value) is not None

    return match


@dataclasses.dataclass(frozen=True)
class _Entry:
    """A ``p`` rule ready for the hot path: its object matcher precompiled."""

    rule: Rule
    deny: bool
    matches_object: Matcher


class Policy:
    """A compiled model and policy; immutable once built, safe to share between threads.

    With Landlord's model, roles are resolved from the ``g`` lines here (exact
    links plus glob patterns, as Casbin's role manager with ``objectMatch``
    does) and ``p`` rules are indexed by subject and action. Casbin's own
    enforcer is built for any other model, and on demand for :meth:`reference`.
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.digest = snapshot.digest
        self.rules = parse(snapshot.policy, "policy.csv")
        standard = (DEFAULTS / "model.conf").read_text()
        self.indexed = _normalize(snapshot.model) == _normalize(standard)
        self._lock = threading.Lock()
        self._enforcer: Any = None
        p_rules = [rule for rule in self.rules if rule.ptype == "p"]
        # A broken matcher or effect must fail now, not on the hot path: ask a
        # throwaway enforcer holding one line.
        self._casbin(p_rules[:1]).enforce("tenant:landlord-check", "depend", "landlord/check")
        if not self.indexed:
            self._enforcer = self._casbin(self.rules)
        self._by_text = {rule.fields: rule for rule in p_rules}
        # (subject, action) → rules; (subject) → rules whose action is a pattern
        self._exact: dict[tuple[str, str], list[_Entry]] = {}
        self._wild: dict[str, list[tuple[Matcher, _Entry]]] = {}
        for rule in p_rules:
            subject, action, obj, effect = rule.fields
            entry = _Entry(rule, effect == "deny", _matcher(obj))
            if patterns.is_pattern(action):
                self._wild.setdefault(subject, []).append((_matcher(action), entry))
            else:
                self._exact.setdefault((subject, action), []).append(entry)
        self._links: dict[str, set[str]] = {}
        self._pattern_links: list[tuple[Matcher, str]] = []
        for rule in self.rules:
            if rule.ptype == "g":
                member, role = rule.fields
                if patterns.is_pattern(member):
                    self._pattern_links.append((_matcher(member), role))
                else:
                    self._links.setdefault(member, set()).add(role)
        self._roles: dict[str, frozenset[str]] = {}
        self._cache: dict[tuple[tuple[str, ...], str, str], Decision] = {}

    def _casbin(self, rules: Sequence[Rule]) -> Any:
        try:
            model = casbin.Enforcer.new_model(text=self.snapshot.model)
            enforcer = casbin.Enforcer(model, _Rules(rules))
            enforcer.add_function("objectMatch", _match)
            enforcer.add_named_matching_func("g", _match)
        except Exception as error:  # noqa: BLE001 - Casbin raises anything on a bad model
            raise PolicyError([f"model.conf: {type(error).__name__}: {error}"]) from None
        return _Checked(enforcer)

    @classmethod
    def from_directory(cls, path: pathlib.Path) -> Policy:
        return cls(Snapshot.from_directory(path))

    @property
    def lines(self) -> int:
        return len(self.rules)

    def roles(self, subject: str) -> frozenset[str]:
        """``subject`` and every role it has, transitively (``g`` lines, patterns included)."""
        found = self._roles.get(subject)
        if found is not None:
            return found
        seen = {subject}
        frontier = [subject]
        while frontier:
            name = frontier.pop()
            direct = set(self._links.get(name, ()))
            direct.update(role for match, role in self._pattern_links if match(name))
            for role in direct - seen:
                seen.add(role)
                frontier.append(role)
        found = self._roles[subject] = frozenset(seen)
        return found

    def decide(self, subjects: Sequence[str], action: str, obj: str) -> Decision:
        """Deny if any line denies, allow if one allows, deny if none matches."""
        key = (tuple(subjects), action, obj)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        decision = (
            self._decide_indexed(key[0], action, obj)
            if self.indexed
            else self._decide_casbin(key[0], action, obj)
        )
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = decision
        return decision

    def _decide_indexed(self, subjects: tuple[str, ...], action: str, obj: str) -> Decision:
        allow: Rule | None = None
        deny: Rule | None = None
        for subject in subjects:
            for holder in self.roles(subject):
                entries = self._exact.get((holder, action), [])
                wild = self._wild.get(holder)
                if wild:
                    entries = entries + [entry for match, entry in wild if match(action)]
                for entry in entries:
                    if not entry.matches_object(obj):
                        continue
                    rule = entry.rule
                    if entry.deny:
                        if deny is None or rule.line < deny.line:
                            deny = rule
                    elif allow is None or rule.line < allow.line:
                        allow = rule
        if deny is not None:
            return Decision(False, subjects, action, obj, deny)
        return Decision(allow is not None, subjects, action, obj, allow)

    def _decide_casbin(self, subjects: tuple[str, ...], action: str, obj: str) -> Decision:
        allowed_by: list[Rule | None] = []
        for subject in subjects:
            with self._lock:
                allowed, explain = self._enforcer.enforce_ex(subject, action, obj)
            rule = self._by_text.get(tuple(explain)) if explain else None
            if not allowed and rule is not None:
                return Decision(False, subjects, action, obj, rule)
            if allowed:
                allowed_by.append(rule)
        if not allowed_by:
            return Decision(False, subjects, action, obj)
        return Decision(True, subjects, action, obj, allowed_by[0])

    def reference(self, subject: str, action: str, obj: str) -> bool:
        """Casbin's own answer (no index, no cache): what the index is tested against."""
        with self._lock:
            if self._enforcer is None:
                self._enforcer = self._casbin(self.rules)
            return bool(self._enforcer.enforce(subject, action, obj))


class _Checked:
    """Casbin's enforcer, its failures on a bad model turned into PolicyError."""

    def __init__(self, enforcer: Any) -> None:
        self._enforcer = enforcer

    def enforce(self, *request: str) -> bool:
        try:
            return bool(self._enforcer.enforce(*request))
        except Exception as error:  # noqa: BLE001 - Casbin raises anything on a bad model
            raise PolicyError([f"model.conf: {type(error).__name__}: {error}"]) from None

    def enforce_ex(self, *request: str) -> tuple[bool, list[str]]:
        allowed, explain = self._enforcer.enforce_ex(*request)
        return bool(allowed), list(explain or [])
