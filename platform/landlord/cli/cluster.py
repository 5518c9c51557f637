"""``landlord cluster up | down | status | build``."""

from __future__ import annotations

import pathlib

import click
from rich.table import Table

from landlord import kube
from landlord.cli import console
from landlord.cli import output as formats
from landlord.cluster import binaries, controlplane
from landlord.cluster.realnode import plan as realnode_plan
from landlord.clusters import register
from landlord.kube import remote
from landlord.settings import Settings


def options_from(
    settings: Settings, state_dir: pathlib.Path | None, nodes: int, real_nodes: int = 0
) -> controlplane.Options:
    """Control-plane options from settings and flags."""
    return controlplane.Options(
        state_dir=state_dir or settings.cluster.state_dir,
        cache_dir=settings.cluster.cache_dir,
        assets_dir=settings.cluster.assets_dir,
        nodes=nodes,
        real_nodes=real_nodes,
        timeout=settings.cluster.start_timeout,
    )


def bring_up(options: controlplane.Options) -> controlplane.ControlPlane:
    """Start the control plane with progress on the terminal."""
    with console.build_progress() as progress:
        binaries.resolve(
            controlplane.needed_binaries(options.nodes, options.real_nodes),
            cache_dir=options.cache_dir,
            assets_dir=options.assets_dir,
            progress=progress,
        )
    return controlplane.up(options, step=console.step)


def print_ready(plane: controlplane.ControlPlane) -> None:
    """How to reach a freshly started control plane."""
    console.out.print(
        f"[green]control plane ready[/green] in {plane.timings.get('total', 0):.1f}s: "
        f"{plane.server}"
    )
    console.out.print(f"  export KUBECONFIG={plane.kubeconfig}")
    for name, version in plane.versions.items():
        console.out.print(f"  [dim]{name}: {version}[/dim]")


@click.group("cluster")
def cluster_group() -> None:
    """Run a real local control plane (etcd, apiserver, controllers, kwok nodes)."""


_state_dir = click.option(
    "--state-dir",
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    default=None,
    help="Where the control plane keeps its state and kubeconfig [default: .landlord/cluster].",
)


@cluster_group.command("up")
@_state_dir
@click.option(
    "--nodes",
    type=click.IntRange(0, 1000),
    default=1,
    show_default=True,
    help="kwok fake nodes (0: no scheduler, no nodes).",
)
@click.option(
    "--real-nodes",
    type=click.IntRange(0, realnode_plan.MAX_NODES),
    default=0,
    show_default=True,
    help="Real nodes (kubelet, kube-proxy, containerd) that run pods; needs root and "
    "`make node-tools`. One cluster with real nodes per machine.",
)
@click.pass_obj
def up_command(
    settings: Settings, state_dir: pathlib.Path | None, nodes: int, real_nodes: int
) -> None:
    """Start the control plane; return once it is ready."""
    plane = bring_up(options_from(settings, state_dir, nodes, real_nodes))
    print_ready(plane)
    if plane.real_nodes is not None:
        for node in plane.real_nodes.nodes:
            console.out.print(f"  [dim]real node {node.name}: {node.dir}[/dim]")


@cluster_group.command("down")
@_state_dir
@click.pass_obj
def down_command(settings: Settings, state_dir: pathlib.Path | None) -> None:
    """Stop every component, in reverse order, and clear the state."""
    directory = state_dir or settings.cluster.state_dir
    stopped = controlplane.down(directory, step=console.step)
    if stopped:
        console.out.print(f"stopped {', '.join(stopped)}")
    else:
        console.out.print(f"no control plane was running from {directory}")


@cluster_group.command("load-image")
@click.argument("archive", type=click.Path(path_type=pathlib.Path, dir_okay=False, exists=True))
@_state_dir
@click.pass_obj
def load_image_command(
    settings: Settings, archive: pathlib.Path, state_dir: pathlib.Path | None
) -> None:
    """Import an image archive (OCI or Docker) into every real node's containerd.

    Pods then use it by the name its archive gives it, with imagePullPolicy IfNotPresent.
    """
    directory = state_dir or settings.cluster.state_dir
    loaded = controlplane.load_image(directory, archive)
    console.out.print(f"loaded {archive.name} into {', '.join(loaded)}")


@cluster_group.command("status")
@_state_dir
@formats.output_option
@click.pass_obj
def status_command(settings: Settings, state_dir: pathlib.Path | None, output: str) -> None:
    """Say what runs (exit 1 when something recorded is not running)."""
    directory = state_dir or settings.cluster.state_dir
    plane, components = controlplane.status(directory)
    if plane is None:
        console.err.print(f"no control plane recorded in {directory}")
        raise SystemExit(1)
    if formats.structured(output):
        formats.emit(
            {
                "server": plane.server,
                "kubeconfig": str(plane.kubeconfig),
                "components": [
                    {
                        "name": item.name,
                        "pid": item.pid,
                        "running": item.running,
                        "version": plane.versions.get(item.name, ""),
                        "log": str(item.log),
                    }
                    for item in components
                ],
            },
            output,
        )
        if not all(item.running for item in components):
            raise SystemExit(1)
        return
    table = Table("component", "pid", "state", "version", "log")
    for item in components:
        table.add_row(
            item.name,
            str(item.pid),
            "[green]running[/green]" if item.running else "[red]stopped[/red]",
            plane.versions.get(item.name, ""),
            _relative(item.log, plane.state_dir),
        )
    console.out.print(f"server {plane.server}   kubeconfig {plane.kubeconfig}")
    console.out.print(table)
    if not all(item.running for item in components):
        raise SystemExit(1)


def _relative(path: str, base: pathlib.Path) -> str:
    try:
        return str(pathlib.Path(path).relative_to(base))
    except ValueError:
        return path


@cluster_group.command("build")
@click.option(
    "--real-nodes",
    "real_nodes",
    is_flag=True,
    help="Also build the kubelet and kube-proxy (a few minutes the first time).",
)
@click.option(
    "--flux",
    "flux",
    is_flag=True,
    help="Also build Flux's source- and kustomize-controller, for the side-by-side bench "
    "(about 2 minutes each the first time).",
)
@click.pass_obj
def build_command(settings: Settings, real_nodes: bool, flux: bool) -> None:
    """Build (or find in the cache) the control plane's binaries, kustomize, helm and sops."""
    groups = ["etcd", "kubernetes", "kwok", "kustomize", "helm", "sops", "registry"]
    if real_nodes:
        groups.append("kubernetes-node")
    if flux:
        groups += ["flux-source", "flux-kustomize"]
    with console.build_progress() as progress:
        found = binaries.build_all(
            cache_dir=settings.cluster.cache_dir, groups=groups, progress=progress
        )
    for name, path in sorted(found.items()):
        console.out.print(f"{name:>24}  {path}", soft_wrap=True)


@cluster_group.command("register")
@click.argument("name")
@click.option(
    "--kubeconfig",
    "kubeconfig",
    type=click.Path(path_type=pathlib.Path, dir_okay=False, exists=True),
    required=True,
    help="The target's kubeconfig: inline certificates or a token only (no exec, "
    "auth-provider or file paths).",
)
@click.option("--interval", default=None, help="How often to probe it (default 1m).")
@click.pass_obj
def register_command(
    settings: Settings, name: str, kubeconfig: pathlib.Path, interval: str | None
) -> None:
    """Register a target cluster: a kubeconfig Secret and a Cluster in the platform namespace.

    Writes to the cluster of the current kubeconfig (where the operator runs).
    The file is checked first: a kubeconfig the operator would refuse is never stored.
    """
    try:  # checked before anything is connected to or written
        wanted = register.manifests(
            name,
            kubeconfig.read_bytes(),
            platform_namespace=settings.platform_namespace,
            interval=interval,
        )
    except (remote.KubeconfigError, ValueError) as error:
        raise click.ClickException(f"{kubeconfig}: {error}") from None
    secret, cluster = register.apply(kube.connect(), wanted)
    console.out.print(
        f"registered cluster [bold]{name}[/bold]: Secret "
        f"{secret['metadata']['namespace']}/{secret['metadata']['name']}, Cluster "
        f"{cluster['metadata']['namespace']}/{name}; `landlord get clusters` shows whether "
        "it is reachable"
    )
