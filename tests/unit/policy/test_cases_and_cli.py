"""``policies/tests`` and ``landlord policy test | check``."""

from __future__ import annotations

import pathlib
import shutil

import pytest
from click.testing import CliRunner

from landlord.cli.main import cli
from landlord.policy import cases

REPO_POLICIES = pathlib.Path(__file__).parents[3] / "policies"


def test_the_shipped_cases_pass_and_cover_every_enforcement_point() -> None:
    results = cases.run(REPO_POLICIES)

    assert [r.case for r in results if not r.passed] == []
    assert cases.gaps(results) == []


@pytest.fixture
def folder(tmp_path: pathlib.Path) -> pathlib.Path:
    shutil.copytree(REPO_POLICIES, tmp_path / "policies")
    return tmp_path / "policies"


def test_policy_test_fails_on_a_wrong_expectation(folder: pathlib.Path) -> None:
    (folder / "tests" / "wrong.yaml").write_text(
        "cases:\n"
        "  - subject: tenant:team-a\n"
        "    action: depend\n"
        "    object: team-b/shared-db\n"
        "    expect: allow\n"
    )

    result = CliRunner().invoke(cli, ["policy", "test", "--policy", str(folder)])

    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert "wrong.yaml case 1" in result.output
    assert "1 failed" in result.output


def test_policy_test_passes_on_the_shipped_folder(folder: pathlib.Path) -> None:
    result = CliRunner().invoke(cli, ["policy", "test", "--policy", str(folder)])

    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output


def test_policy_check_prints_the_deciding_line(folder: pathlib.Path) -> None:
    runner = CliRunner()

    denied = runner.invoke(
        cli, ["policy", "check", "--policy", str(folder), "tenant:a", "apply", "core/LimitRange"]
    )
    allowed = runner.invoke(
        cli, ["policy", "check", "--policy", str(folder), "tenant:a", "apply", "apps/Deployment"]
    )

    assert denied.exit_code == 1
    assert "deny" in denied.output
    assert "core/LimitRange, deny" in denied.output
    assert allowed.exit_code == 0
    assert "allowed by policy.csv:" in allowed.output
    assert "role:tenant" in allowed.output


def test_an_invalid_policy_is_reported_with_its_lines(folder: pathlib.Path) -> None:
    (folder / "policy.csv").write_text("p, tenant:a, depend\n")

    result = CliRunner().invoke(
        cli, ["policy", "check", "--policy", str(folder), "tenant:a", "depend", "b/db"]
    )

    assert result.exit_code != 0
    assert "policy.csv:1" in str(result.exception) + result.output
