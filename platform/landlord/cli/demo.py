"""``landlord up``: the demo, on the embedded local control plane.

Brings up the control plane and a Git server on loopback, installs Landlord,
starts the operator, pushes a platform repository built from ``tenants/`` and
``policies/`` (a tenant with a source gets a demo repository) and bootstraps
it — the operator then reads its policy from that repository —, then prints
tenants, sources and kustomizations; keeps it all up until Ctrl-C.
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
from landlord.api import conditions
from landlord.cli import cluster as cluster_cli
from landlord.cli import console, get
from landlord.cluster import controlplane, processes
from landlord.gitserver import GitServer
from landlord.installer import bootstrap
from landlord.settings import Settings

DEMO_STATE_DIR = pathlib.Path(".landlord/demo")
READY_TIMEOUT = 90.0


DEMO_MANIFEST = """apiVersion: v1
kind: ConfigMap
metadata:
  name: welcome
data:
  message: pushed to the demo Git server, fetched by Landlord
"""


def _platform_repo(
    folder: pathlib.Path, git: GitServer, policies: pathlib.Path | None = None
) -> list[str]:
    """Push a platform repository built from ``folder`` (``tenants/``) and ``policies``.

    Tenants with a source get a demo repository of their own, and their
    ``spec.source.url`` points at it instead of the example host.
    """
    names: list[str] = []
    files: dict[str, str | bytes | None] = {}
    for path in sorted(folder.glob("*.yaml")):
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
        for document in documents:
            if document.get("kind") != "Tenant":
                continue
            name = document["metadata"]["name"]
            names.append(name)
            source = (document.get("spec") or {}).get("source")
            if source is not None:
                sync_path = ((document["spec"].get("sync") or {}).get("path") or ".").strip("/")
                target = f"{sync_path.removeprefix('.').strip('/')}/welcome.yaml".lstrip("/")
                git.create(name)
                git.commit(name, {target: DEMO_MANIFEST}, message="demo: first commit")
                source["url"] = git.url(name)
        files[f"tenants/{path.name}"] = yaml.safe_dump_all(documents, sort_keys=False)
    if policies is not None and policies.is_dir():
        for path in sorted(p for p in policies.rglob("*") if p.is_file()):
            files[f"policies/{path.relative_to(policies).as_posix()}"] = path.read_text()
    git.create("platform")
    git.commit("platform", files, message="platform: tenants from the Landlord checkout")
    return names


def _all_ready(client: kube.Kube, kind: str, names: list[str] | None = None) -> bool:
    items = client.list_objects(api.API_VERSION, kind)
    if names is not None:
        items = [item for item in items if item["metadata"]["name"] in names]
        if len(items) < len(names):
            return False
    return all(
        conditions.is_true((item.get("status") or {}).get("conditions") or [], conditions.READY)
        for item in items
    )


def _wait_ready(client: kube.Kube, names: list[str], stop: threading.Event) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and not stop.is_set():
        if all(
            _all_ready(client, kind, names if kind == "Tenant" else None)
            for kind in ("Tenant", "GitRepository", "Kustomization")
        ):
            return True
        stop.wait(0.5)
    return False


def _policy_in_force(client: kube.Kube, platform_namespace: str) -> str | None:
    """What the operator's newest PolicyLoaded Event says (which rules, from where)."""
    loaded = [
        event
        for event in client.list_objects("v1", "Event", namespace="default")
        if event.get("reason") == "PolicyLoaded"
        and (event.get("involvedObject") or {}).get("name") == platform_namespace
    ]
    if not loaded:
        return None
    newest = max(loaded, key=lambda e: int(e["metadata"].get("resourceVersion") or 0))
    return str(newest.get("message") or "")


def _start_operator(plane: controlplane.ControlPlane) -> processes.Record:
    env = {
        **os.environ,
        "KUBECONFIG": str(plane.kubeconfig),
        "LANDLORD_TELEMETRY__LOG_FORMAT": "json",
        # The demo's Git server speaks plain HTTP on loopback.
        "LANDLORD_SOURCES__ALLOWED_SCHEMES": "https,ssh,http",
        "LANDLORD_SOURCES__STORAGE_DIR": str(plane.state_dir / "sources"),
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
@click.option(
    "--policies",
    "policies_dir",
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    default=pathlib.Path("policies"),
    show_default=True,
    help="Folder with the Casbin model and policy to push with the tenants.",
)
@click.pass_obj
def up_command(
    settings: Settings,
    state_dir: pathlib.Path,
    nodes: int,
    tenants_dir: pathlib.Path,
    policies_dir: pathlib.Path,
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
    git = GitServer(state_dir.resolve() / "git").start()
    try:
        cluster_cli.print_ready(plane)
        client = kube.connect(plane.kubeconfig)
        installer.install(client, platform_namespace=settings.platform_namespace)
        console.step("landlord", "CRDs and operator RBAC installed")
        operator = _start_operator(plane)
        console.step("operator", f"running (log: {operator.log})")
        console.step("git", f"serving demo repositories at {git.base_url}")
        names = _platform_repo(tenants_dir, git, policies_dir) if tenants_dir.is_dir() else []
        bootstrap.bootstrap(
            client,
            url=git.url("platform"),
            branch="main",
            path="tenants",
            platform_namespace=settings.platform_namespace,
        )
        console.step(
            "platform",
            f"bootstrapped {git.url('platform')} ({len(names)} tenants from {tenants_dir}/)",
        )
        if names and not _wait_ready(client, names, stop):
            console.step("tenants", "[yellow]not all Ready yet; see the table[/yellow]")
        loaded = _policy_in_force(client, settings.platform_namespace)
        if loaded:
            console.step("policy", loaded)
        for table in (
            get.tenants_table(client),
            get.namespaced_table(client, "GitRepository"),
            get.namespaced_table(client, "Kustomization"),
        ):
            if table is not None:
                console.out.print(table)
        console.out.print(f"  export KUBECONFIG={plane.kubeconfig}; landlord get tenants")
        console.out.print("[bold]Ctrl-C stops the demo.[/bold]")
        stop.wait()
    finally:
        console.out.print("stopping…")
        if operator is not None:
            processes.stop(operator)
        git.stop()
        controlplane.down(state_dir, step=console.step)
        console.out.print("stopped.")
