"""Reading ``policy.csv``: one rule per line, checked before Casbin sees it.

Casbin accepts almost any line; a typo there silently becomes a rule that
never matches. Here every line must be a ``p`` rule with a known subject
prefix, a known action (or a pattern matching one) and an effect, or a ``g``
line; errors name the file and the line.
"""

from __future__ import annotations

import dataclasses
import re

from landlord.policy import patterns

SUBJECT_PREFIXES = ("tenant:", "namespace:", "user:", "group:", "role:")
POINTS = ("depend", "source", "apply", "target", "push", "api")
ACTIONS = (
    "depend",
    "source",
    "apply",
    "target",
    "push",
    "api:create",
    "api:get",
    "api:list",
    "api:update",
    "api:delete",
    "api:reconcile",
)
EFFECTS = ("allow", "deny")


class PolicyError(Exception):
    """A model or policy that cannot be used; ``problems`` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class Rule:
    """One ``p`` or ``g`` line, with where it came from."""

    ptype: str
    fields: tuple[str, ...]
    source: str
    line: int

    @property
    def text(self) -> str:
        return ", ".join((self.ptype, *self.fields))

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


def _split(line: str) -> list[str]:
    return [field.strip() for field in line.split(",")]


def _subject_problem(value: str, role_only: bool = False) -> str | None:
    if not value:
        return "empty subject"
    if role_only and not value.startswith("role:") and not value.startswith("group:"):
        return f"{value!r} is not a role (role:NAME) or a group (group:NAME)"
    if not value.startswith(SUBJECT_PREFIXES):
        return f"subject {value!r} must start with one of {', '.join(SUBJECT_PREFIXES)}"
    if value.partition(":")[2] == "":
        return f"subject {value!r} has no name"
    return None


def _action_problem(value: str) -> str | None:
    if value in ACTIONS:
        return None
    if problem := _pattern_problem(value):
        return problem
    if patterns.is_pattern(value) and any(patterns.matches(a, value) for a in ACTIONS):
        return None
    return f"unknown action {value!r} (one of {', '.join(ACTIONS)}, or a pattern like api:*)"


def _pattern_problem(value: str) -> str | None:
    """A glob whose bracket class is not one (``[z-a]``) would fail on the first request."""
    if "[" not in value:
        return None  # only a bracket class can fail to compile
    try:
        patterns.compile_glob(value)
    except re.error as error:
        return f"{value!r} is not a valid pattern: {error}"
    return None


def parse(text: str, source: str = "policy.csv") -> list[Rule]:
    """The rules in ``text``; raises :class:`PolicyError` listing every bad line."""
    rules: list[Rule] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = _split(line)
        ptype, rest = fields[0], tuple(fields[1:])
        problem: str | None = None
        if ptype == "p":
            if len(rest) != 4:
                problem = (
                    f"a p line has 4 fields (subject, action, object, allow|deny), not {len(rest)}"
                )
            else:
                subject, action, obj, effect = rest
                problem = (
                    _subject_problem(subject)
                    or (
                        f"subject {subject!r} is a pattern; give the subjects a role with a "
                        f"g line (g, {subject}, role:NAME) and write the rule for the role"
                        if patterns.is_pattern(subject)
                        else None
                    )
                    or _action_problem(action)
                    or (None if obj else "empty object")
                    or _pattern_problem(obj)
                    or (None if effect in EFFECTS else f"effect {effect!r} must be allow or deny")
                )
        elif ptype == "g":
            if len(rest) != 2:
                problem = f"a g line has 2 fields (subject, role), not {len(rest)}"
            else:
                problem = (
                    _subject_problem(rest[0])
                    or _pattern_problem(rest[0])
                    or _subject_problem(rest[1], role_only=True)
                )
        else:
            problem = f"a line starts with p or g, not {ptype!r}"
        if problem:
            problems.append(f"{source}:{number}: {problem}")
        else:
            rules.append(Rule(ptype, rest, source, number))
    if problems:
        raise PolicyError(problems)
    return rules
