"""``landlord policy test | check | diff``: try a policy before it reaches the operator.

Both print the line checker's warnings (``policy.lint``): lines that can never
match, allow lines a deny line shadows, duplicates. Warnings do not change the
exit code unless ``--strict`` is given, which is what CI wants: then they exit
with :data:`EXIT_WARNINGS` (a failed case or a denied request still exits 1).
"""

from __future__ import annotations

import pathlib
import sys

import click
from rich.markup import escape
from rich.table import Table

from landlord import errors
from landlord.cli import console, policydiff
from landlord.policy import cases, lint
from landlord.policy.engine import Policy, PolicyError

EXIT_WARNINGS = 3

POLICY_DIR = click.option(
    "--policy",
    "directory",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=pathlib.Path("policies"),
    show_default=True,
    help="Folder with model.conf, policy.csv and tests/.",
)


STRICT = click.option(
    "--strict",
    is_flag=True,
    help=f"Exit {EXIT_WARNINGS} when the line checker warns (lines that cannot do what they say).",
)


def _report(findings: list[lint.Finding]) -> None:
    """Each finding: where, the line, why, and what would work."""
    for finding in findings:
        console.err.print(
            f"[yellow]warning:[/yellow] {escape(finding.rule.where)}: {escape(finding.rule.text)}"
        )
        console.err.print(f"  {escape(finding.why)}", soft_wrap=True)
        if finding.suggestion:
            console.err.print(f"  [dim]→[/dim] {escape(finding.suggestion)}", soft_wrap=True)


def _invalid(error: PolicyError, directory: pathlib.Path) -> errors.TerminalError:
    return errors.TerminalError(
        f"the policy in {directory} is invalid:\n  " + "\n  ".join(error.problems),
        hint="fix the lines above; the operator keeps its last good policy until you do",
    )


@click.group("policy")
def policy_group() -> None:
    """Test and query the Casbin policy, and see what a change to it would do."""


policy_group.add_command(policydiff.diff_command)


@policy_group.command("test")
@POLICY_DIR
@click.option("-v", "--verbose", is_flag=True, help="List passing cases too.")
@STRICT
def test_command(directory: pathlib.Path, verbose: bool, strict: bool) -> None:
    """Run the table-driven cases in DIR/tests/ against DIR's model and policy.

    Also checks the lines of policy.csv and of each test file's own ``policy``
    block, and warns about any that cannot do what they say.
    """
    try:
        results = cases.run(directory)
        findings = cases.findings(directory)
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
    gaps = cases.gaps(results)
    for gap in gaps:
        console.err.print(f"[yellow]warning:[/yellow] no case covers {gap}")
    _report(findings)
    plural = "" if len(findings) == 1 else "s"
    warned = f", {len(findings)} line warning{plural}" if findings else ""
    console.out.print(
        f"{len(results) - len(failed)} passed, {len(failed)} failed "
        f"({len({r.case.source.split(' ')[0] for r in results})} files){warned}"
    )
    if failed:
        sys.exit(1)
    if strict and (findings or gaps):
        sys.exit(EXIT_WARNINGS)


@policy_group.command("check")
@POLICY_DIR
@STRICT
@click.argument("subject", required=False)
@click.argument("action", required=False)
@click.argument("obj", metavar="[OBJECT]", required=False)
def check_command(
    directory: pathlib.Path,
    strict: bool,
    subject: str | None,
    action: str | None,
    obj: str | None,
) -> None:
    """Check DIR's policy lines; with SUBJECT ACTION OBJECT, also print that decision.

    Warns about lines that cannot do what they say. SUBJECT may list several
    comma-separated subjects (a user and their groups). Exits 0 when allowed,
    1 when denied (without a request: 0), 3 on warnings with --strict.
    """
    if subject is not None and (action is None or obj is None):
        raise click.UsageError("give SUBJECT, ACTION and OBJECT, or none of them")
    try:
        policy = Policy.from_directory(directory)
    except PolicyError as error:
        raise _invalid(error, directory) from None
    findings = lint.check_policy(policy)
    _report(findings)
    if subject is None or action is None or obj is None:
        console.out.print(
            f"{policy.lines} lines, {len(findings)} warning{'' if len(findings) == 1 else 's'}"
            + ("" if policy.indexed else " (not checked: model.conf is not Landlord's own)")
        )
        if strict and findings:
            sys.exit(EXIT_WARNINGS)
        return
    subjects = [s.strip() for s in subject.split(",") if s.strip()]
    decision = policy.decide(subjects, action, obj)
    colour = "green" if decision.allowed else "red"
    console.out.print(f"[bold {colour}]{decision.effect}[/bold {colour}]  {decision.explain()}")
    roles = sorted(set().union(*(policy.roles(s) for s in subjects)) - set(subjects))
    if roles:
        console.out.print(f"[dim]roles: {', '.join(roles)}[/dim]")
    if not decision.allowed:
        sys.exit(1)
    if strict and findings:
        sys.exit(EXIT_WARNINGS)
