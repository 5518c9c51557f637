"""``landlord check``: one line per check with ✓/✗ and what to do; exit 1 when one fails."""

from __future__ import annotations

import pathlib

import click
from rich.markup import escape

from landlord import check, kube
from landlord.cli import console, output
from landlord.settings import Settings

MARKS = {
    "ok": "[green]✓[/green]",
    "warn": "[yellow]![/yellow]",
    "fail": "[red]✗[/red]",
    "skip": "[dim]-[/dim]",
}


@click.command("check")
@click.option(
    "--kubeconfig",
    type=click.Path(path_type=pathlib.Path, dir_okay=False),
    default=None,
    help="The cluster to check [default: KUBECONFIG or ~/.kube/config].",
)
@click.option(
    "--as",
    "as_user",
    default=None,
    metavar="USER",
    help="Check as this identity (impersonated), e.g. "
    "system:serviceaccount:landlord-system:landlord-operator.",
)
@click.option(
    "--pre",
    is_flag=True,
    help="Only the checks that make sense before `landlord install`: a supported apiserver, "
    "whether this identity may apply what install applies (CRDs, the platform namespace, "
    "ClusterRoles and bindings, admission policies), the policy and the tools "
    "(kustomize, helm, sops, bubblewrap).",
)
@click.option(
    "--output",
    "-o",
    "output_format",
    type=click.Choice(["text", *output.FORMATS]),
    default="text",
    show_default=True,
    help="text (also table, wide: one line per check), or json/yaml for scripts: "
    '{"ok": bool, "checks": [{"name", "state", "message", "hint"}]}.',
)
@click.pass_obj
def check_command(
    settings: Settings,
    kubeconfig: pathlib.Path | None,
    as_user: str | None,
    pre: bool,
    output_format: str,
) -> None:
    """Is the cluster and this machine ready for the operator? Exit 1 when a check fails.

    Warnings (!) and skipped checks (-) do not fail it. It changes nothing.
    """
    client: kube.Kube | None
    problem = ""
    try:
        client = kube.connect(kubeconfig)
    except Exception as error:  # noqa: BLE001 - any kubeconfig problem is a failed check
        client, problem = None, str(error) or type(error).__name__
    if client is not None and as_user:
        client = client.impersonate(as_user)
    results = (check.run_pre if pre else check.run_all)(settings, client)
    if client is None:
        results.insert(
            0,
            check.Result(
                "apiserver",
                "fail",
                f"no usable kubeconfig: {problem}",
                "set KUBECONFIG or pass --kubeconfig",
            ),
        )
    failed = [result for result in results if result.failed]
    if output.structured(output_format):
        output.emit({"ok": not failed, "checks": [r.to_json() for r in results]}, output_format)
    else:
        for result in results:
            console.out.print(
                f"{MARKS[result.state]} {result.name}: {escape(result.message)}", soft_wrap=True
            )
            if result.hint and result.state in ("fail", "warn"):
                console.out.print(f"    [dim]→[/dim] {escape(result.hint)}", soft_wrap=True)
        what = "pre-install checks" if pre else "checks"
        summary = (
            f"{len(failed)} of {len(results)} {what} failed"
            if failed
            else f"all {len(results)} {what} passed"
        )
        warned = sum(result.state == "warn" for result in results)
        console.out.print(
            ("[red]" if failed else "[green]")
            + summary
            + ("[/red]" if failed else "[/green]")
            + (f", {warned} warning{'s' if warned != 1 else ''}" if warned else "")
        )
    if failed:
        raise SystemExit(1)
