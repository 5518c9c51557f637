"""``landlord reconcile | suspend | resume KIND NAME``: act on one Landlord object."""

from __future__ import annotations

import datetime
import time

import click

from landlord import api, errors, kube
from landlord.api import conditions, labels
from landlord.cli import console

KINDS = {
    "tenant": "Tenant",
    "tenants": "Tenant",
    "tnt": "Tenant",
    "source": "GitRepository",
    "sources": "GitRepository",
    "gitrepository": "GitRepository",
    "gitrepositories": "GitRepository",
    "gitrepo": "GitRepository",
    "kustomization": "Kustomization",
    "kustomizations": "Kustomization",
    "ks": "Kustomization",
    "helmrelease": "HelmRelease",
    "helmreleases": "HelmRelease",
    "hr": "HelmRelease",
    "helmrepository": "HelmRepository",
    "helmrepositories": "HelmRepository",
    "helmrepo": "HelmRepository",
    "provider": "Provider",
    "providers": "Provider",
    "alert": "Alert",
    "alerts": "Alert",
    "receiver": "Receiver",
    "receivers": "Receiver",
}
KIND_CHOICE = click.Choice(sorted(KINDS), case_sensitive=False)


def _target(kind: str, namespace: str | None) -> tuple[str, str | None]:
    resolved = KINDS[kind.lower()]
    if resolved == "Tenant":
        return resolved, None
    return resolved, namespace or "default"


@click.command("reconcile")
@click.argument("kind", type=KIND_CHOICE)
@click.argument("name")
@click.option("-n", "--namespace", default=None, help="Namespace (not for tenants).")
@click.option("--timeout", type=float, default=60.0, show_default=True)
def reconcile_command(kind: str, name: str, namespace: str | None, timeout: float) -> None:
    """Ask for an immediate reconcile and wait until it was handled."""
    resolved, ns = _target(kind, namespace)
    client = kube.connect()
    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    try:
        client.merge_patch(
            api.API_VERSION,
            resolved,
            name,
            {"metadata": {"annotations": {labels.REQUESTED_AT: stamp}}},
            ns,
        )
    except errors.ApiError as error:
        if error.not_found:
            raise errors.TerminalError(
                f"{resolved} {name} not found" + (f" in namespace {ns}" if ns else "")
            ) from None
        raise
    console.out.print(f"► asked {resolved} {name} to reconcile")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(api.API_VERSION, resolved, name, ns) or {}
        status = body.get("status") or {}
        if status.get("lastHandledReconcileAt") == stamp:
            ready = conditions.get(status.get("conditions") or [], conditions.READY) or {}
            mark = "✔" if ready.get("status") == "True" else "✗"
            console.out.print(f"{mark} {ready.get('reason', '')}: {ready.get('message', '')}")
            if ready.get("status") != "True":
                raise SystemExit(1)
            return
        time.sleep(0.5)
    raise errors.RetryableError(
        f"{resolved} {name} did not handle the request in {timeout:.0f}s",
        hint="is `landlord run` running?",
    )


def _set_suspend(kind: str, name: str, namespace: str | None, suspend: bool) -> None:
    resolved, ns = _target(kind, namespace)
    try:
        kube.connect().merge_patch(
            api.API_VERSION, resolved, name, {"spec": {"suspend": suspend}}, ns
        )
    except errors.ApiError as error:
        if error.not_found:
            raise errors.TerminalError(f"{resolved} {name} not found") from None
        raise
    console.out.print(f"{'suspended' if suspend else 'resumed'} {resolved} {name}")


@click.command("suspend")
@click.argument("kind", type=KIND_CHOICE)
@click.argument("name")
@click.option("-n", "--namespace", default=None)
def suspend_command(kind: str, name: str, namespace: str | None) -> None:
    """Stop reconciling an object (its state stays as it is)."""
    _set_suspend(kind, name, namespace, True)


@click.command("resume")
@click.argument("kind", type=KIND_CHOICE)
@click.argument("name")
@click.option("-n", "--namespace", default=None)
def resume_command(kind: str, name: str, namespace: str | None) -> None:
    """Reconcile a suspended object again."""
    _set_suspend(kind, name, namespace, False)
