"""``landlord up``: the demo (``landlord.demo.up``) on the embedded local control plane.

Brings up the control plane, runs the demo's steps, prints tenants, sources
and kustomizations and how to go on; keeps it all up until Ctrl-C.
"""

from __future__ import annotations

import pathlib
import signal
import threading

import click

from landlord.api import gitrepository, kustomization
from landlord.cli import cluster as cluster_cli
from landlord.cli import console, get
from landlord.cluster import controlplane
from landlord.demo import incluster, up
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
@click.option(
    "--tenants",
    "tenants_dir",
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    default=pathlib.Path("tenants"),
    show_default=True,
    help="Folder of Tenant YAML to onboard.",
)
@click.option(
    "--policies",
    "policies_dir",
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    default=pathlib.Path("policies"),
    show_default=True,
    help="Folder with the Casbin model and policy to push with the tenants.",
)
@click.option(
    "--in-cluster",
    is_flag=True,
    help="Run Landlord as pods on a real node, installed by its Helm chart "
    "(builds the image; needs `make node-tools`; one such cluster per machine).",
)
@click.option(
    "--chart",
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    default=pathlib.Path("charts/landlord"),
    show_default=True,
    help="The chart --in-cluster installs.",
)
@click.pass_obj
def up_command(
    settings: Settings,
    state_dir: pathlib.Path,
    nodes: int,
    tenants_dir: pathlib.Path,
    policies_dir: pathlib.Path,
    in_cluster: bool,
    chart: pathlib.Path,
) -> None:
    """Run the demo: control plane, operator and example tenants, until Ctrl-C."""
    up.clear_leftovers(state_dir, console.step)
    options = cluster_cli.options_from(
        settings, state_dir, 0 if in_cluster else nodes, real_nodes=1 if in_cluster else 0
    )
    plane = cluster_cli.bring_up(options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        cluster_cli.print_ready(plane)
        steps = (
            incluster.running(
                settings,
                plane,
                chart=chart,
                tenants_dir=tenants_dir,
                policies_dir=policies_dir,
                stop=stop,
                step=console.step,
            )
            if in_cluster
            else up.running(
                settings,
                plane,
                tenants_dir=tenants_dir,
                policies_dir=policies_dir,
                stop=stop,
                step=console.step,
            )
        )
        with steps as demo:
            for table in (
                get.tenants_table(demo.client),
                get.namespaced_table(demo.client, gitrepository.KIND),
                get.namespaced_table(demo.client, kustomization.KIND),
            ):
                if table is not None:
                    console.out.print(table)
            console.out.print(f"  export KUBECONFIG={plane.kubeconfig}; landlord get tenants")
            if demo.api_url:
                console.out.print(
                    f"  export LANDLORD_API__URL={demo.api_url} LANDLORD_TOKEN=$(kubectl create "
                    f"token {demo.admin} -n {settings.platform_namespace} --audience "
                    f"{settings.api.audiences[0]}); landlord tenant list"
                )
                console.out.print(f"  landlord audit tenant {up.DEMO_API_TENANT}")
                console.out.print(f"  status page: {demo.api_url}/ui (the token above, under ui)")
            else:
                console.out.print(
                    f"  Landlord runs in pods: landlord logs come from the pods in "
                    f"{settings.platform_namespace} (chart release {incluster.RELEASE})"
                )
            console.out.print("[bold]Ctrl-C stops the demo.[/bold]")
            stop.wait()
            console.out.print("stopping…")
    finally:
        controlplane.down(state_dir, step=console.step)
        console.out.print("stopped.")
