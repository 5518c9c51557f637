"""``policies/tests`` and ``landlord policy test | check``."""

from __future__ import annotations

import pathlib
import shutil

import pytest
from click.testing import CliRunner

from landlord.cli.main import cli
from landlord.cli.policy import EXIT_WARNINGS
from landlord.policy import cases, lint

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


def test_lines_a_test_file_adds_are_checked_and_named_by_its_own_lines(
    folder: pathlib.Path,
) -> None:
    (folder / "tests" / "added.yaml").write_text(
        "# an example a platform team may copy\n"
        "policy: |\n"
        "  p, tenant:team-a, depend, team-b/db, allow\n"
        "\n"
        "  p, tenant:sandbox, depend, *, deny\n"
        "cases:\n"
        "  - {subject: tenant:team-a, action: depend, object: team-b/db, expect: allow}\n"
    )
    (folder / "tests" / "alone.yaml").write_text(
        "standalone: true\n"
        "policy: |\n"
        "  p, tenant:a, target, clusters/prod/*, allow\n"
        "cases:\n"
        "  - {subject: tenant:a, action: target, object: clusters/prod, expect: deny}\n"
    )

    found = cases.findings(folder)

    assert [(f.rule.where, f.kind) for f in found] == [
        ("tests/added.yaml:5", lint.NEVER_MATCHES),
        ("tests/alone.yaml:3", lint.NEVER_MATCHES),
    ]


def test_policy_check_without_a_request_only_checks_the_lines(folder: pathlib.Path) -> None:
    runner = CliRunner()
    with (folder / "policy.csv").open("a") as policy_csv:
        policy_csv.write(
            "p, tenant:x, depend, team-b/*, allow\np, tenant:x, depend, team-b/db, allow\n"
        )

    lenient = runner.invoke(cli, ["policy", "check", "--policy", str(folder)])
    strict = runner.invoke(cli, ["policy", "check", "--policy", str(folder), "--strict"])
    partial = runner.invoke(cli, ["policy", "check", "--policy", str(folder), "tenant:x"])

    assert lenient.exit_code == 0
    assert "1 warning" in lenient.output
    assert "already matches everything it matches" in lenient.output
    assert strict.exit_code == EXIT_WARNINGS
    assert partial.exit_code == 2
    assert "give SUBJECT, ACTION and OBJECT, or none of them" in partial.output


def test_a_failed_case_exits_1_even_with_warnings_under_strict(folder: pathlib.Path) -> None:
    (folder / "tests" / "wrong.yaml").write_text(
        "policy: |\n"
        "  p, tenant:team-a, depend, *, deny\n"
        "cases:\n"
        "  - {subject: tenant:team-a, action: depend, object: b/db, expect: allow}\n"
    )

    result = CliRunner().invoke(cli, ["policy", "test", "--policy", str(folder), "--strict"])

    assert result.exit_code == 1
    assert "tests/wrong.yaml:2: p, tenant:team-a, depend, *, deny" in result.output
