"""``landlord diff kustomization NAME``: what a sync would change, as a dry-run as the tenant.

The build is ``landlord build``'s (:mod:`landlord.cli.build`); the comparison is
:func:`landlord.sync.preview.diff`: every object read and dry-run as the
Kustomization's service account, then what prune would delete. Exit codes
follow ``flux diff``: 0 nothing would change, 1 something would (or an error,
which prints ``error:`` on stderr and nothing on stdout with ``-o json``).
"""

from __future__ import annotations

import concurrent.futures
import pathlib
from typing import Any

import click
from rich.markup import escape
from rich.text import Text

from landlord import kube
from landlord.cli import build, console, output
from landlord.settings import Settings
from landlord.sync import preview
from landlord.sync.failure import SyncError

# At most this many reads and dry-runs in flight at once.
IN_FLIGHT = 8


@click.group("diff", cls=build.KindGroup)
def diff_group() -> None:
    """Show what a sync would change on the cluster, applying nothing."""


@diff_group.command(
    "kustomization", short_help="What syncing a Kustomization would change (a dry-run)."
)
@click.argument("name")
@build.preview_options
@click.option(
    "-o",
    "--output",
    "output_format",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
    help="table: a line per change and a unified diff per drifted object; json or yaml: "
    "every object with its action (created, drifted, recreated, pruned, unchanged, "
    "skipped, kept), its diff and a note, for scripts.",
)
@click.pass_obj
def diff_kustomization(
    config: Settings,
    name: str,
    namespace: str,
    path: pathlib.Path | None,
    policy_dir: pathlib.Path | None,
    output_format: str,
) -> None:
    """Show what syncing Kustomization NAME would change: a dry-run as its service account.

    Builds --path (or the source's current revision) as `landlord build` does.
    Then, as the Kustomization's service account (impersonated exactly as the
    sync does: you need `impersonate` on it, and a refusal is an error, never a
    fallback to your own identity), reads every object, dry-runs a server-side
    apply of each one that would change, and compares the answer with the live
    object; then lists the objects of status.inventory that the revision no
    longer has, as prune would treat them. Nothing is applied.

    \b
    One line per change:
      ► KIND/NAMESPACE/NAME created    it does not exist yet
      ► KIND/NAMESPACE/NAME drifted    followed by a unified diff, live → dry-run
      ► KIND/NAMESPACE/NAME recreated  an immutable field changes (spec.force)
      ► KIND/NAMESPACE/NAME pruned     prune would delete it
      ◦ KIND/NAMESPACE/NAME kept: WHY  prune would leave it (spec.prune: false,
                                       landlord.dev/prune: disabled, not ours)

    Secret values are never shown: `***`, marked (before) and (after) when a
    value changes. SOPS-encrypted values are not decrypted: their keys are
    compared, not their values.

    \b
    Exit codes (as `flux diff`):
      0  no changes
      1  changes found, or an error: then stderr starts with `error:` and the
         sync's reason (BuildFailed, ValidationFailed, PolicyDenied,
         ApplyFailed…) and stdout is empty
      3  the Kustomization does not exist

    Also answers to `landlord diff ks NAME`.
    """  # noqa: D301 - click's \b keeps the lines as they are
    client = kube.connect()
    parts, result = build.built(config, client, name, namespace, path, policy_dir)
    workers = min(IN_FLIGHT, config.sync.apply_workers)
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="diff") as pool:
        try:
            found = preview.diff(parts, result, pool, in_flight=workers)
        except SyncError as error:
            raise build.failed(error) from None
    if output.structured(output_format):
        output.emit(as_data(result, found), output_format)
    else:
        build.notes([*result.notes, *found.notes])
        render(result, found)
    if found.changed:
        raise SystemExit(output.FAILED)


def as_data(result: preview.Built, found: preview.Diff) -> dict[str, Any]:
    """The diff for scripts: every object, its action, diff and note."""
    return {
        "kustomization": result.key,
        "revision": result.revision,
        "serviceAccount": result.account,
        "changed": found.changed,
        "changes": [change.to_dict() for change in found.changes],
        "notes": [*result.notes, *found.notes],
    }


def render(result: preview.Built, found: preview.Diff) -> None:
    """A line per change (and per object left in place), each drifted one's diff under it."""
    for change in found.changes:
        if change.action == "unchanged":
            continue
        if change.changes:
            console.out.print(
                f"[bold]►[/bold] {escape(change.shown)} {change.action}"
                + (f" [dim]({escape(change.note)})[/dim]" if change.note else ""),
                soft_wrap=True,
            )
        else:
            console.out.print(
                f"[dim]◦ {escape(change.shown)} {change.action}: {escape(change.note)}[/dim]",
                soft_wrap=True,
            )
        for line in change.diff.splitlines():
            style = ""
            if line.startswith("+") and not line.startswith("+++"):
                style = "green"
            elif line.startswith("-") and not line.startswith("---"):
                style = "red"
            elif line.startswith("@@"):
                style = "cyan"
            console.out.print(Text(line, style=style), soft_wrap=True)
    console.out.print(summary(result, found), soft_wrap=True, markup=False)


def summary(result: preview.Built, found: preview.Diff) -> str:
    """One line: how many changes of which kind, as whom, and that nothing was applied."""
    who = f"as service account {result.account}" if result.account else "as you (platform sync)"
    counts = {
        action: sum(1 for change in found.changes if change.action == action)
        for action in ("created", "drifted", "recreated", "pruned")
    }
    total = sum(counts.values())
    if not total:
        return (
            f"no changes: Kustomization {result.key} matches {result.revision} "
            f"(dry-run {who}; nothing was applied)"
        )
    listed = ", ".join(f"{count} {action}" for action, count in counts.items() if count)
    plural = "" if total == 1 else "s"
    return (
        f"{total} change{plural} ({listed}) for Kustomization {result.key} from "
        f"{result.revision} (dry-run {who}; nothing was applied)"
    )
