"""The line checker's claims hold against the engine's own answers (differential test).

Random policies over random globs: whatever the checker says a pattern can
match, the engine matches; where it says a pattern matches no object of an
action, no sample object of that action is matched; and every line it flags
can be removed without changing a single decision of the actions it is
flagged for (also with every subject allowed everything, so that a deny counts).
"""

from __future__ import annotations

import random

import pytest

from landlord.policy import lint, patterns, shapes
from landlord.policy.engine import DEFAULTS, Policy, Snapshot
from landlord.policy.rules import ACTIONS

MODEL = (DEFAULTS / "model.conf").read_text()
SUBJECTS = ["tenant:t1", "tenant:t2", "namespace:n0", "user:u0", "group:g0"]
ROLES = ["role:r0", "role:r1", "group:g0"]
ACTION_PATTERNS = [*ACTIONS, "api:*", "*", "api:[gl]*", "[ds]*"]
PIECES = ["*", "*", "**", "?", "/", "/", "a", "b", "t1", "-", ":", "://", "[ab]", "[!a]", "."]
PIECES += ["tenants", "https", "core", "A", "[/]", "\\*"]
USEFUL = ["**", "*", "*/*", "tenants/*", "a/*", "a/**", "*://**", "https://**", "t1/b", "a/[ab]"]
USEFUL += ["core/*", "?/*", "*/A", "tenants", "a", "t1"]
NAMES = ["a", "b", "t1", "a-b", "a.b", "ab", "tenants", "core", "https"]


SEGMENTS = ["a", "b", "t1", "*", "?", "[ab]", "a*", "*b", "[!a]*", "**", "t?", "a-b"]


def _pattern(rng: random.Random) -> str:
    """Half free-form, half shaped like objects (so that lines overlap and cover)."""
    if rng.random() < 0.5:
        return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 5)))
    seg = lambda: rng.choice(SEGMENTS)  # noqa: E731 - a one-line helper
    return rng.choice(
        [
            f"{seg()}/{seg()}",
            f"tenants/{seg()}",
            f"{seg()}://{seg()}/{seg()}",
            seg(),
            f"core/{seg()}",
            f"clusters/{seg()}",
        ]
    )


def _samples(rng: random.Random, action: str, found: list[str]) -> list[str]:
    """Objects of ``action``: fixed, random of its shape, and the checker's own examples."""
    name = lambda: rng.choice(NAMES)  # noqa: E731 - a one-line helper
    point = action.partition(":")[0]
    if point in ("depend", "source", "push"):
        out = [f"{name()}/{name()}" for _ in range(20)] if point != "push" else []
        if point in ("source", "push"):
            tails = ["", "a", "a/b", "/", "a:b/t1", "a//b", "*", "t1/a.b/"]
            out += [f"{s}://{rng.choice(tails)}" for s in ("https", "ssh", "a", "A") for _ in "..."]
            out.append("https://git.example.com/team-a/app.git")
    elif point == "apply":
        kinds = ["A", "Deployment", "a", "ConfigMap", "t1"]
        out = [f"{name()}/{rng.choice(kinds)}" for _ in range(20)] + ["core/ConfigMap"]
    elif point == "target":
        out = [f"clusters/{name()}" for _ in range(10)]
    else:
        out = ["tenants"] if action == "api:list" else [f"tenants/{name()}" for _ in range(10)]
    out += found
    assert all(shapes.fits(obj, action) for obj in out), out
    return sorted(set(out))


def _policy(rng: random.Random) -> tuple[str, list[str]]:
    lines = ["g, tenant:*, role:r0", f"g, {rng.choice(SUBJECTS)}, role:r1", "g, role:r1, role:r0"]
    for _ in range(rng.randint(2, 12)):
        subject = rng.choice([*SUBJECTS, *ROLES])
        action = rng.choice(ACTION_PATTERNS)
        obj = _pattern(rng) if rng.random() < 0.5 else rng.choice(USEFUL)
        lines.append(f"p, {subject}, {action}, {obj}, {rng.choice(['allow', 'deny'])}")
        if rng.random() < 0.4:  # a line on the same action: the same object, a wider one or any
            other = rng.choice([obj, obj.replace("*", "**", 1), rng.choice(USEFUL), _pattern(rng)])
            lines.append(f"p, {rng.choice([subject, *ROLES, 'role:r0'])}, {action}, {other}, deny")
    return "\n".join(lines), lines


@pytest.mark.parametrize("seed", range(80))
def test_the_checker_agrees_with_the_engine(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    text, lines = _policy(rng)
    policy = Policy(Snapshot(MODEL, text, f"seed {seed}"))
    objects_of = {action: list[str]() for action in ACTIONS}

    # 1. Examples are real matches; "no example" means no sample matches either.
    p_lines = [rule for rule in policy.rules if rule.ptype == "p"]
    for rule in p_lines:
        for action in ACTIONS:
            found = shapes.object_example(rule.fields[2], action)
            if found is not None:
                assert shapes.fits(found, action)
                alone = Policy(Snapshot(MODEL, f"p, user:u, {action}, {rule.fields[2]}, allow", ""))
                assert alone.decide(["user:u"], action, found).allowed, (rule, action, found)
                objects_of[action].append(found)
    samples = {action: _samples(rng, action, objects_of[action]) for action in ACTIONS}
    for rule in p_lines:
        for action in ACTIONS:
            if shapes.object_example(rule.fields[2], action) is None:
                matched = [o for o in samples[action] if patterns.matches(o, rule.fields[2])]
                assert matched == [], (rule, action)

    # 2. Removing any one flagged line changes no decision of the actions it is
    # flagged for: as the policy is, and with every subject allowed everything
    # (so that removing a deny would show).
    subjects = [*SUBJECTS, *ROLES, "tenant:t9"]
    open_all = [f"p, {subject}, *, **, allow" for subject in subjects]
    for finding in lint.check_policy(policy):
        assert finding.actions
        requests = [
            ([subject], action, obj)
            for subject in subjects
            for action in finding.actions
            for obj in samples[action]
        ]
        kept = [line for n, line in enumerate(lines, start=1) if n != finding.rule.line]
        for extra in ([], open_all):
            before = Policy(Snapshot(MODEL, "\n".join(lines + extra), "with"))
            after = Policy(Snapshot(MODEL, "\n".join(kept + extra), "without"))
            changed = [
                request
                for request in requests
                if before.decide(*request).allowed != after.decide(*request).allowed
            ]
            assert changed == [], f"{finding}\n{text}"
