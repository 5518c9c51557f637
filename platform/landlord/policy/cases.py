"""Table-driven policy tests: the YAML files in ``policies/tests/``.

Each file holds ``cases`` — ``subject`` (or ``subjects``), ``action``,
``object``, ``expect: allow|deny`` and an optional ``why`` — and may add
``policy`` lines of its own (appended to ``policy.csv`` for that file's cases
only, or used instead of it with ``standalone: true``), which is how the
examples a platform team may copy are tested.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import yaml

from landlord.policy import lint
from landlord.policy.engine import Decision, Policy, PolicyError, Snapshot
from landlord.policy.rules import ACTIONS, POINTS, Rule, parse


@dataclasses.dataclass(frozen=True)
class Case:
    """One expected decision."""

    source: str
    subjects: tuple[str, ...]
    action: str
    object: str
    expect: str
    why: str = ""


@dataclasses.dataclass(frozen=True)
class Result:
    """A case and what the policy answered."""

    case: Case
    decision: Decision

    @property
    def passed(self) -> bool:
        return self.decision.effect == self.case.expect


def _cases(path: pathlib.Path, data: Any) -> list[Case]:
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise PolicyError([f"{path.name}: expected a mapping with a list under 'cases'"])
    found, problems = [], []
    for index, item in enumerate(data["cases"], start=1):
        where = f"{path.name} case {index}"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        subjects = item.get("subjects") or ([item["subject"]] if item.get("subject") else [])
        missing = [k for k in ("action", "object", "expect") if not item.get(k)]
        if not subjects:
            missing.insert(0, "subject")
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        if item["expect"] not in ("allow", "deny"):
            problems.append(f"{where}: expect must be allow or deny, not {item['expect']!r}")
            continue
        if item["action"] not in ACTIONS:
            problems.append(f"{where}: unknown action {item['action']!r}")
            continue
        found.append(
            Case(
                where,
                tuple(str(s) for s in subjects),
                str(item["action"]),
                str(item["object"]),
                str(item["expect"]),
                str(item.get("why") or ""),
            )
        )
    if problems:
        raise PolicyError(problems)
    return found


def run(directory: pathlib.Path) -> list[Result]:
    """Every case under ``directory/tests`` against the model and policy in ``directory``."""
    base = Snapshot.from_directory(directory)
    files = sorted((directory / "tests").glob("*.y*ml"))
    if not files:
        raise PolicyError([f"no test files (*.yaml) in {directory / 'tests'}"])
    results: list[Result] = []
    for path in files:
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            raise PolicyError([f"{path.name}: {error}"]) from None
        extra = str(data.get("policy") or "") if isinstance(data, dict) else ""
        alone = isinstance(data, dict) and data.get("standalone") is True
        text = extra if alone else base.policy + ("\n" + extra if extra else "")
        policy = Policy(Snapshot(base.model, text, f"{base.origin} + {path.name}"))
        for case in _cases(path, data):
            results.append(Result(case, policy.decide(case.subjects, case.action, case.object)))
    return results


def coverage(results: list[Result]) -> dict[str, set[str]]:
    """For each enforcement point, the effects (allow, deny) some case expects."""
    seen: dict[str, set[str]] = {point: set() for point in POINTS}
    for result in results:
        point = result.case.action.partition(":")[0]
        seen[point].add(result.case.expect)
    return seen


def gaps(results: list[Result]) -> list[str]:
    """Enforcement points with no allow case or no deny case."""
    return [
        f"{point}: no {effect} case"
        for point, effects in coverage(results).items()
        for effect in ("allow", "deny")
        if effect not in effects
    ]


def _block_start(text: str) -> int | None:
    """The file line just before the first line of the ``policy: |`` block (None: not a ``|``)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if key.value == "policy" and isinstance(value, yaml.ScalarNode) and value.style == "|":
            return int(value.start_mark.line) + 1
    return None


def _moved(rules: list[Rule], offset: int, name: str, start: int) -> list[Rule]:
    """``rules`` after line ``offset`` renamed to ``name``, numbered from ``start``."""
    return [
        rule
        if rule.line <= offset
        else dataclasses.replace(rule, source=name, line=start + rule.line - offset)
        for rule in rules
    ]


def findings(directory: pathlib.Path) -> list[lint.Finding]:
    """The line checker's findings: ``policy.csv``, then the lines each test file adds.

    A test file's lines are checked together with the policy they are added
    to (a deny there may shadow an allow here) and named by the test file's own
    line numbers; findings about ``policy.csv`` are reported once.
    """
    base = Snapshot.from_directory(directory)
    found = lint.check_policy(Policy(base))
    for path in sorted((directory / "tests").glob("*.y*ml")):
        text = path.read_text()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise PolicyError([f"{path.name}: {error}"]) from None
        extra = str(data.get("policy") or "") if isinstance(data, dict) else ""
        if not extra:
            continue
        alone = isinstance(data, dict) and data.get("standalone") is True
        combined = extra if alone else base.policy + "\n" + extra
        offset = 0 if alone else len((base.policy + "\n").splitlines())
        policy = Policy(Snapshot(base.model, combined, f"{base.origin} + {path.name}"))
        if not policy.indexed:
            continue
        start = _block_start(text)
        # Not a `|` block: the lines are numbered within the block.
        name = f"tests/{path.name}" if start is not None else f"tests/{path.name} policy"
        rules = _moved(parse(combined), offset, name, start or 0)
        found += [f for f in lint.check(rules, policy.roles) if f.rule.source == name]
    return found
