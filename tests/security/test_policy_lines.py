"""A platform admin's policy mistake a hostile tenant walks through, and the checker that says so.

Casbin accepts a line whose pattern can never match what its action decides:
``p, tenant:mallory, source, *, deny`` denies nothing, because ``*`` never
crosses ``/`` and every source object has one. Each case here is such a
mistake: the engine's own answer shows the tenant getting through (the hole is
real), the line checker names the line and the pattern that works, and the
pattern it names does close the hole. The policy decides before any fetch,
apply or API call, so these run against the engine alone — no control plane.
"""

from __future__ import annotations

import logging
import pathlib
import shutil

import pytest
from click.testing import CliRunner

from landlord.cli.main import cli
from landlord.cli.policy import EXIT_WARNINGS
from landlord.policy import Gate, lint
from landlord.policy.engine import DEFAULTS, Policy, Snapshot
from landlord.policy.reloader import Reloader

SHIPPED = pathlib.Path(__file__).parents[2] / "policies"
MODEL = (DEFAULTS / "model.conf").read_text()
BASE = (SHIPPED / "policy.csv").read_text()
BASE_LINES = len(BASE.splitlines())


def _with(*lines: str) -> Policy:
    return Policy(Snapshot(MODEL, BASE + "\n".join(lines) + "\n", "platform repository"))


# The hostile tenant's request for each enforcement point, the deny-all line an
# admin would write with `*`, and the deny-all line docs/policies.md gives.
ATTEMPTS = [
    ("source", "https://evil.example.com/exfil.git", "*", "**"),
    ("source", "team-b/private-charts", "*", "**"),
    ("depend", "team-b/payments", "*", "*/*"),
    ("apply", "apps/Deployment", "*", "*/*"),
    ("api:get", "tenants/team-b", "*", "tenants/*"),
]


@pytest.mark.parametrize(("action", "obj", "star", "works"), ATTEMPTS)
def test_a_star_deny_all_lets_the_tenant_through_and_the_checker_names_the_fix(
    action: str, obj: str, star: str, works: str
) -> None:
    # The platform admin shuts mallory out, and lets her depend on shared
    # infrastructure / read her own tenant like every tenant (the allows she abuses).
    allows = [
        "p, role:tenant, depend, team-b/*, allow",
        "p, role:tenant, api:get, tenants/*, allow",
        "p, role:tenant, source, team-b/*, allow",
    ]
    mistaken = _with(*allows, f"p, tenant:mallory, {action}, {star}, deny")

    # The hole is real: the engine lets mallory through, decided by an allow line.
    decision = mistaken.decide(["tenant:mallory"], action, obj)
    assert decision.allowed, decision.explain()

    # The checker names the line, says why, and names the pattern that works.
    (finding,) = lint.check_policy(mistaken)
    assert finding.kind == lint.NEVER_MATCHES
    assert finding.rule.where == f"policy.csv:{BASE_LINES + len(allows) + 1}"
    assert "so this line denies nothing" in finding.why
    assert f"{works} for {action.partition(':')[0]}" in finding.suggestion

    # The pattern it names denies her, says so, and leaves the checker quiet.
    fixed = _with(*allows, f"p, tenant:mallory, {action}, {works}, deny")
    refused = fixed.decide(["tenant:mallory"], action, obj)
    assert not refused.allowed
    assert refused.explain().startswith(f"denied by policy.csv:{BASE_LINES + len(allows) + 1}")
    assert lint.check_policy(fixed) == []


def test_a_deny_written_for_a_namespace_instead_of_its_objects_is_reported() -> None:
    # "team-b is off limits" written as the namespace name: it matches no team-b/<name>.
    mistaken = _with(
        "g, tenant:*, role:infra-consumer",
        "p, role:infra-consumer, depend, **, allow",
        "p, role:infra-consumer, depend, team-b, deny",
    )

    assert mistaken.decide(["tenant:mallory"], "depend", "team-b/payments").allowed
    (finding,) = lint.check_policy(mistaken)
    assert finding.rule.text == "p, role:infra-consumer, depend, team-b, deny"
    assert finding.suggestion == "did you mean team-b/**?"
    fixed = _with(
        "g, tenant:*, role:infra-consumer",
        "p, role:infra-consumer, depend, **, allow",
        "p, role:infra-consumer, depend, team-b/**, deny",
    )
    assert not fixed.decide(["tenant:mallory"], "depend", "team-b/payments").allowed
    assert lint.check_policy(fixed) == []


def test_ci_refuses_the_mistake_before_it_ships(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "policies"
    shutil.copytree(SHIPPED, folder)
    with (folder / "policy.csv").open("a") as policy_csv:
        policy_csv.write("p, tenant:mallory, source, *, deny\n")
    runner = CliRunner()

    tested = runner.invoke(cli, ["policy", "test", "--policy", str(folder), "--strict"])
    checked = runner.invoke(cli, ["policy", "check", "--policy", str(folder), "--strict"])
    lenient = runner.invoke(cli, ["policy", "check", "--policy", str(folder)])

    for result in (tested, checked):
        assert result.exit_code == EXIT_WARNINGS, result.output
        assert f"policy.csv:{BASE_LINES + 1}: p, tenant:mallory, source, *, deny" in result.output
        assert "never matches a '/'" in result.output
        assert "** for source (*://** for every URL)" in result.output
    assert lenient.exit_code == 0
    assert "1 warning" in lenient.output


def test_the_shipped_policies_have_no_hole(tmp_path: pathlib.Path) -> None:
    runner = CliRunner()

    tested = runner.invoke(cli, ["policy", "test", "--policy", str(SHIPPED), "--strict"])
    checked = runner.invoke(cli, ["policy", "check", "--policy", str(SHIPPED), "--strict"])

    assert tested.exit_code == 0, tested.output
    assert checked.exit_code == 0, checked.output
    assert "warning" not in tested.output
    assert "0 warnings" in checked.output


def test_the_operator_logs_the_hole_once_when_the_policy_arrives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    texts = [BASE + "p, tenant:mallory, source, *, deny\n"]
    gate = Gate()
    reloader = Reloader(gate, lambda: Snapshot(MODEL, texts[0], "platform repository"))
    caplog.set_level(logging.WARNING, logger="landlord.policy.reloader")

    assert reloader.check()
    assert not reloader.check()  # read again, unchanged
    texts[0] += "p, tenant:mallory, depend, *, deny\n"  # a new version with one more hole
    assert reloader.check()

    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 3, warned
    assert sum(f"policy.csv:{BASE_LINES + 1}:" in message for message in warned) == 2
    assert f"policy.csv:{BASE_LINES + 2}: p, tenant:mallory, depend, *, deny" in warned[2]
    # The policy is in force all the same (refusing it would keep an older one, not a better one).
    assert gate.check("source", ["tenant:mallory"], "https://evil.example.com/x.git").allowed
