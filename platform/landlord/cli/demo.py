"""``landlord up``: the demo, on the embedded local control plane."""

from __future__ import annotations

import pathlib
import signal
import threading

import click

from landlord import errors
from landlord.cli import cluster as cluster_cli
from landlord.cli import console
from landlord.cluster import controlplane
from landlord.settings import Settings

DEMO_STATE_DIR = pathlib.Path(".landlord/demo")


@click.command("up")
@click.option(
    "--state-dir",
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    default=DEMO_STATE_DIR,
    show_default=True,
)
@click.option("--nodes", type=click.IntRange(0, 1000), default=1, show_default=True)
@click.pass_obj
def up_command(settings: Settings, state_dir: pathlib.Path, nodes: int) -> None:
    """Run the demo: a local control plane, kept up until Ctrl-C."""
    options = cluster_cli.options_from(settings, state_dir, nodes)
    try:
        plane = cluster_cli.bring_up(options)
    except errors.StateDirError:
        # The demo owns its state dir: a leftover from a killed run is cleared.
        console.step("demo", f"clearing leftover state in {state_dir}")
        controlplane.down(state_dir, step=console.step)
        plane = cluster_cli.bring_up(options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        cluster_cli.print_ready(plane)
        console.out.print("  try: kubectl get nodes,namespaces")
        console.out.print("[bold]Ctrl-C stops the control plane.[/bold]")
        stop.wait()
    finally:
        console.out.print("stopping…")
        controlplane.down(state_dir, step=console.step)
        console.out.print("stopped.")
