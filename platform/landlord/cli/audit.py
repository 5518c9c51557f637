"""``landlord audit tenant NAME``: who asked for what, which commit, when it was applied."""

from __future__ import annotations

import click
from rich.table import Table

from landlord import audit, kube
from landlord.cli import console
from landlord.cli import output as formats
from landlord.settings import Settings


@click.group("audit")
def audit_group() -> None:
    """Answer "who changed what, when, through which request"."""


@audit_group.command("tenant")
@click.argument("name")
@click.option("--limit", default=50, show_default=True, help="Commits to read at most.")
@formats.output_option
@click.pass_obj
def tenant_command(settings: Settings, name: str, limit: int, output: str) -> None:
    """The timeline of tenant NAME: commits, status changes and Events, oldest first."""
    trail = audit.tenant_trail(kube.connect(), settings, name, limit=limit)
    if formats.structured(output):
        formats.emit(
            {
                "tenant": name,
                "path": trail.path,
                "repository": trail.location.url,
                "branch": trail.location.branch,
                "entries": [
                    {
                        "time": entry.time.isoformat(),
                        "source": entry.source,
                        "who": entry.who,
                        "what": entry.what,
                        "traceId": entry.trace_id,
                    }
                    for entry in trail.entries
                ],
                "where": list(trail.where),
            },
            output,
        )
        return
    table = Table("TIME", "SOURCE", "WHO", "WHAT", "TRACE", box=None, pad_edge=False)
    for entry in trail.entries:
        table.add_row(
            entry.time.strftime("%Y-%m-%d %H:%M:%S"),
            entry.source,
            entry.who,
            entry.what,
            entry.trace_id,
        )
    location = trail.location
    console.out.print(f"tenant {name} ({trail.path} in {location.url}, branch {location.branch})")
    console.out.print(table)
    for line in trail.where:
        console.out.print(f"where: {line}")
