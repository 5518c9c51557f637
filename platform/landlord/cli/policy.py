"""``landlord policy test | check``: try a policy before it reaches the operator."""

from __future__ import annotations

import pathlib
import sys

import click
from rich.table import Table

from landlord import errors
from landlord.cli import console
from landlord.policy import cases
from landlord.policy.engine import Policy, PolicyError

POLICY_DIR = click.option(
    "--policy",
    "directory",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=pathlib.Path("policies"),
    show_default=True,
    help="Folder with model.conf, policy.csv and tests/.",
)


def _invalid(error: PolicyError, directory: pathlib.Path) -> errors.TerminalError:
    return errors.TerminalError(
        f"the policy in {directory} is invalid:\n  " + "\n  ".join(error.problems),
        hint="fix the lines above; the operator keeps its last good policy until you do",
    )


@click.group("policy")
def policy_group() -> None:
    """Test and query the Casbin policy."""


@policy_group.command("test")
@POLICY_DIR
@click.option("-v", "--verbose", is_flag=True, help="List passing cases too.")
def test_command(directory: pathlib.Path, verbose: bool) -> None:
    """Run the table-driven cases in DIR/tests/ against DIR's model and policy."""
    try:
        results = cases.run(directory)
    except PolicyError as error:
        raise _invalid(error, directory) from None
    failed = [r for r in results if not r.passed]
    shown = results if verbose else failed
    if shown:
        table = Table("", "Case", "Request", "Expected", "Got", "Decided by", box=None)
        for result in shown:
            case, decision = result.case, result.decision
            table.add_row(
                "[green]ok[/green]" if result.passed else "[red]FAIL[/red]",
                case.source,
                f"{' '.join(case.subjects)} {case.action} {case.object}",
                case.expect,
                decision.effect,
                decision.rule.where if decision.rule else "no matching line",
            )
        console.out.print(table)
    for gap in cases.gaps(results):
        console.err.print(f"[yellow]warning:[/yellow] no case covers {gap}")
    console.out.print(
        f"{len(results) - len(failed)} passed, {len(failed)} failed "
        f"({len({r.case.source.split(' ')[0] for r in results})} files)"
    )
    if failed:
        sys.exit(1)


@policy_group.command("check")
@POLICY_DIR
@click.argument("subject")
@click.argument("action")
@click.argument("obj", metavar="OBJECT")
def check_command(directory: pathlib.Path, subject: str, action: str, obj: str) -> None:
    """Print the decision for SUBJECT ACTION OBJECT and the line that made it.

    SUBJECT may list several comma-separated subjects (a user and their
    groups). Exits 0 when allowed, 1 when denied.
    """
    try:
        policy = Policy.from_directory(directory)
    except PolicyError as error:
        raise _invalid(error, directory) from None
    subjects = [s.strip() for s in subject.split(",") if s.strip()]
    decision = policy.decide(subjects, action, obj)
    colour = "green" if decision.allowed else "red"
    console.out.print(f"[bold {colour}]{decision.effect}[/bold {colour}]  {decision.explain()}")
    roles = sorted(set().union(*(policy.roles(s) for s in subjects)) - set(subjects))
    if roles:
        console.out.print(f"[dim]roles: {', '.join(roles)}[/dim]")
    if not decision.allowed:
        sys.exit(1)
