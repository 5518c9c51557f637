"""The index answers exactly what Casbin's own enforcer answers (differential test)."""

from __future__ import annotations

import random

import pytest

from landlord.policy.engine import DEFAULTS, Policy, Snapshot

MODEL = (DEFAULTS / "model.conf").read_text()
SUBJECTS = [f"tenant:t{i}" for i in range(6)] + ["namespace:n0", "user:u0", "group:g0"]
ROLES = ["role:r0", "role:r1", "role:r2", "group:g0"]
ACTIONS = ["depend", "source", "apply", "target", "api:get", "api:create"]
OBJECTS = [
    "t1/db",
    "t2/db",
    "t2/x/db",
    "https://h/t1/app.git",
    "https://h/t2/deep/app.git",
    "apps/Deployment",
    "core/ConfigMap",
    "tenants/t1",
    "staging",
]
OBJECT_PATTERNS = [*OBJECTS, "t1/*", "t2/**", "*", "**", "https://h/*/*", "https://**", "*/*"]
ACTION_PATTERNS = [*ACTIONS, "api:*", "*"]


def _random_policy(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(1, 8)):
        member = rng.choice([*SUBJECTS, "tenant:*", "tenant:t?", *ROLES])
        role = rng.choice(ROLES)
        if member != role:
            lines.append(f"g, {member}, {role}")
    for _ in range(rng.randint(1, 25)):
        subject = rng.choice([*SUBJECTS, *ROLES])
        lines.append(
            f"p, {subject}, {rng.choice(ACTION_PATTERNS)}, {rng.choice(OBJECT_PATTERNS)}, "
            f"{rng.choice(['allow', 'allow', 'deny'])}"
        )
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(40))
def test_index_and_casbin_agree(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    text = _random_policy(rng)
    policy = Policy(Snapshot(MODEL, text, f"seed {seed}"))
    assert policy.indexed
    for subject in SUBJECTS:
        for action in ACTIONS:
            for obj in OBJECTS:
                indexed = policy.decide([subject], action, obj).allowed
                assert indexed is policy.reference(subject, action, obj), (
                    f"{subject} {action} {obj}\n{text}"
                )
