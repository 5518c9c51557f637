"""Replaying requests under two policies: what would stop, what would open, nothing else."""

from __future__ import annotations

import random

import pytest

from landlord.policy import whatif
from landlord.policy.engine import DEFAULTS, Policy, Snapshot
from landlord.policy.requests import Request, Requester, Seen

MODEL = (DEFAULTS / "model.conf").read_text()
SHIPPED = (DEFAULTS / "policy.csv").read_text()


def _policy(*lines: str, base: str = SHIPPED) -> Policy:
    return Policy(Snapshot(MODEL, base + "\n".join(lines) + "\n", "test"))


def _line(policy: Policy, text: str) -> int:
    return next(rule.line for rule in policy.rules if rule.text == text)


def _ks(namespace: str, name: str) -> Requester:
    return Requester("Kustomization", namespace, name)


EDGES = [
    Request(("tenant:team-a",), "depend", "team-b/db", "depend", _ks("team-a", "web")),
    Request(("tenant:team-a",), "depend", "team-b/cache", "depend", _ks("team-a", "api")),
    Request(("tenant:team-c",), "depend", "team-b/db", "depend", _ks("team-c", "jobs")),
    Request(("tenant:team-a",), "apply", "core/ConfigMap", "apply", _ks("team-a", "web")),
]
OPEN = (
    "p, tenant:team-a, depend, team-b/*, allow",
    "p, tenant:team-c, depend, team-b/db, allow",
)


def test_removing_an_allow_line_reports_exactly_the_kustomizations_that_stop() -> None:
    before = _policy(*OPEN)
    after = _policy(OPEN[1])
    report = whatif.compare(before, after, EDGES)
    assert [c.request.requester for c in report.newly_denied] == [
        _ks("team-a", "api"),
        _ks("team-a", "web"),
    ]
    assert report.newly_denied[1].sentence() == (
        "Kustomization team-a/web would stop: depend team-b/db no line allows it (default deny)"
    )
    # The allow line that was removed is what decided before.
    where = f"policy.csv:{_line(before, 'p, tenant:team-a, depend, team-b/*, allow')}"
    assert all(c.before.rule and c.before.rule.where == where for c in report.newly_denied)
    assert report.newly_allowed == []
    assert (report.still_allowed, report.still_denied) == (2, 0)
    assert report.exit_code == whatif.DENIED
    assert report.stopping() == ["Kustomization team-a/api", "Kustomization team-a/web"]


def test_a_deny_line_names_itself_as_what_stops_the_request() -> None:
    before = _policy(*OPEN)
    after = _policy(*OPEN, "p, tenant:team-c, depend, team-b/*, deny")
    report = whatif.compare(before, after, EDGES)
    (change,) = report.newly_denied
    line = _line(after, "p, tenant:team-c, depend, team-b/*, deny")
    assert change.sentence() == (
        f"Kustomization team-c/jobs would stop: depend team-b/db denied by policy.csv:{line}"
    )
    assert change.as_json()["after"] == {"effect": "deny", "rule": f"policy.csv:{line}"}


def test_adding_a_deny_on_a_source_reports_the_git_repositories() -> None:
    sources = [
        Request(
            ("tenant:team-a",),
            "source",
            "https://git.example.com/team-a/app",
            "source",
            Requester("GitRepository", "team-a", "team-a"),
        ),
        Request(
            ("tenant:team-b",),
            "source",
            "https://github.com/team-b/app",
            "source",
            Requester("GitRepository", "team-b", "team-b"),
        ),
    ]
    after = _policy("p, role:tenant, source, https://github.com/**, deny")
    report = whatif.compare(_policy(), after, sources)
    assert [c.who for c in report.newly_denied] == ["GitRepository team-b/team-b"]
    assert report.still_allowed == 1


def test_a_change_that_only_reorders_lines_reports_nothing() -> None:
    lines = SHIPPED.splitlines()
    rng = random.Random(7)  # noqa: S311 - reproducible test data
    shuffled = lines[:]
    rng.shuffle(shuffled)
    before = _policy(*OPEN)
    after = _policy(*reversed(OPEN), base="\n".join(shuffled) + "\n")
    report = whatif.compare(before, after, EDGES)
    assert (report.newly_denied, report.newly_allowed) == ([], [])
    assert report.requests == len(EDGES)
    assert report.exit_code == whatif.NO_CHANGE


def test_only_newly_allowed_exits_one() -> None:
    report = whatif.compare(_policy(), _policy(OPEN[1]), EDGES)
    assert [c.who for c in report.newly_allowed] == ["Kustomization team-c/jobs"]
    assert (
        report.newly_allowed[0]
        .sentence()
        .startswith(
            "Kustomization team-c/jobs would be allowed: depend team-b/db allowed by policy.csv:"
        )
    )
    assert report.exit_code == whatif.ONLY_ALLOWED


def test_recorded_requests_keep_their_last_seen_time() -> None:
    seen = [Seen(EDGES[0], 1_700_000_000.5, "allow", "policy.csv:3")]
    report = whatif.compare(_policy(*OPEN), _policy(), seen)
    assert report.newly_denied[0].last_seen == 1_700_000_000.5
    assert report.newly_denied[0].as_json()["lastSeen"] == 1_700_000_000.5


def test_an_owners_api_call_reads_as_what_the_owner_could_no_longer_do() -> None:
    request = Request(
        ("group:payments-devs", "role:tenant-owner"),
        "api:get",
        "tenants/payments",
        "api",
        Requester("Tenant", "", "payments"),
    )
    after = _policy(base=SHIPPED.replace("p, role:tenant-owner, api:get, tenants/*, allow", ""))
    (change,) = whatif.compare(_policy(), after, [request]).newly_denied
    assert change.sentence() == (
        "group:payments-devs could no longer api:get tenants/payments "
        "(no line allows it (default deny))"
    )


@pytest.mark.parametrize("seed", range(5))
def test_the_report_agrees_with_casbin_on_every_request(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    tenants = [f"t{i}" for i in range(6)]

    roles = [f"g, tenant:{t}, role:r{i % 2}" for i, t in enumerate(tenants)]

    def lines() -> list[str]:
        found = []
        for _ in range(12):
            t, other = rng.choice([*tenants, "r0", "r1"]), rng.choice(tenants)
            subject = f"role:{t}" if t.startswith("r") else f"tenant:{t}"
            effect = rng.choice(["allow", "allow", "deny"])
            target = rng.choice([f"{other}/db", f"{other}/*", "*/db"])
            found.append(f"p, {subject}, depend, {target}, {effect}")
        return found

    # Same role lines on both sides (only the p lines of some subjects change), or not.
    before = _policy(*roles, *lines())
    after = _policy(*(roles if seed % 2 else roles[1:]), *lines())
    requests = [
        Request((f"tenant:{t}",), "depend", f"{o}/{n}", "depend", _ks(t, "k"))
        for t in tenants
        for o in tenants
        for n in ("db", "cache")
    ]
    report = whatif.compare(before, after, requests)
    expected_denied = {
        r.question
        for r in requests
        if before.reference(r.subjects[0], r.action, r.object)
        and not after.reference(r.subjects[0], r.action, r.object)
    }
    expected_allowed = {
        r.question
        for r in requests
        if not before.reference(r.subjects[0], r.action, r.object)
        and after.reference(r.subjects[0], r.action, r.object)
    }
    assert {c.request.question for c in report.newly_denied} == expected_denied
    assert {c.request.question for c in report.newly_allowed} == expected_allowed
