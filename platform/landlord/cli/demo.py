"""``landlord up``: the demo, on the embedded local control plane.

Brings up the control plane, installs Landlord, starts the operator, applies
the example tenants from ``tenants/`` and prints their status; keeps it all up
until Ctrl-C, then stops everything.
"""

from __future__ import annotations

import os
import pathlib
import signal
import sys
import threading
import time

import click
import yaml

from landlord import api, installer, kube
from landlord.api import conditions, labels
from landlord.cli import cluster as cluster_cli
from landlord.cli import console, get
from landlord.cluster import controlplane, processes
from landlord.settings import Settings

DEMO_STATE_DIR = pathlib.Path(".landlord/demo")
READY_TIMEOUT = 90.0


def _apply_tenants(client: kube.Kube, folder: pathlib.Path) -> list[str]:
    names = []
    for path in sorted(folder.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "Tenant":
                client.apply(document, field_manager=labels.FIELD_MANAGER, force=True)
                names.append(document["metadata"]["name"])
    return names


def _wait_ready(client: kube.Kube, names: list[str]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        ready = 0
        for name in names:
            body = client.get(api.API_VERSION, "Tenant", name) or {}
            status = body.get("status") or {}
            ready += conditions.is_true(status.get("conditions") or [], conditions.READY)
        if ready == len(names):
            return True
        time.sleep(0.5)
    return False


def _start_operator(plane: controlplane.ControlPlane) -> processes.Record:
    env = {
        **os.environ,
        "KUBECONFIG": str(plane.kubeconfig),
        "LANDLORD_TELEMETRY__LOG_FORMAT": "json",
    }
    return processes.start(
        "operator",
        [sys.executable, "-m", "landlord", "run"],
        plane.state_dir / "logs" / "operator.log",
        env=env,
    )


@click.command("up")
@click.option(
    "--state-dir",
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    default=DEMO_STATE_DIR,
    show_default=True,
)
@click.option("--nodes", type=click.IntRange(0, 1000), default=1, show_default=True)
@click.option(
    "--tenants",
    "tenants_dir",
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    default=pathlib.Path("tenants"),
    show_default=True,
    help="Folder of Tenant YAML to onboard.",
)
@click.pass_obj
def up_command(
    settings: Settings, state_dir: pathlib.Path, nodes: int, tenants_dir: pathlib.Path
) -> None:
    """Run the demo: control plane, operator and example tenants, until Ctrl-C."""
    options = cluster_cli.options_from(settings, state_dir, nodes)
    if controlplane.ControlPlane.load(state_dir.resolve()) is not None:
        # The demo owns its state dir: a leftover from a killed run is cleared.
        console.step("demo", f"clearing leftover state in {state_dir}")
        controlplane.down(state_dir, step=console.step)
    plane = cluster_cli.bring_up(options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    operator: processes.Record | None = None
    try:
        cluster_cli.print_ready(plane)
        client = kube.connect(plane.kubeconfig)
        installer.install(client, platform_namespace=settings.platform_namespace)
        console.step("landlord", "CRDs and operator RBAC installed")
        operator = _start_operator(plane)
        console.step("operator", f"running (log: {operator.log})")
        names = _apply_tenants(client, tenants_dir) if tenants_dir.is_dir() else []
        console.step("tenants", f"applied {len(names)} from {tenants_dir}/")
        if names and not _wait_ready(client, names):
            console.step("tenants", "[yellow]not all Ready yet; see the table[/yellow]")
        table = get.tenants_table(client)
        if table is not None:
            console.out.print(table)
        console.out.print(f"  export KUBECONFIG={plane.kubeconfig}; landlord get tenants")
        console.out.print("[bold]Ctrl-C stops the demo.[/bold]")
        stop.wait()
    finally:
        console.out.print("stopping…")
        if operator is not None:
            processes.stop(operator)
        controlplane.down(state_dir, step=console.step)
        console.out.print("stopped.")
