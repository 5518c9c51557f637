"""``landlord reconcile | suspend | resume KIND NAME``: act on one Landlord object."""

from __future__ import annotations

import datetime
import time
from typing import Any

import click

from landlord import api, errors, kube
from landlord.api import conditions, gitrepository, helmrelease, kustomization, labels
from landlord.cli import console, kinds
from landlord.cli.kinds import KIND_CHOICE, KINDS

__all__ = ["KINDS", "KIND_CHOICE", "reconcile_command", "resume_command", "suspend_command"]

# The kinds whose source `--with-source` reconciles first, and where each names it.
WITH_SOURCE = (kustomization.KIND, helmrelease.KIND)


def _target(kind: str, namespace: str | None) -> tuple[str, str | None]:
    resolved = KINDS[kind.lower()]
    if resolved == "Tenant":
        return resolved, None
    return resolved, namespace or "default"


def _not_found(kind: str, name: str, namespace: str | None) -> errors.NotFoundError:
    return errors.NotFoundError(
        f"{kind} {name} not found" + (f" in namespace {namespace}" if namespace else "")
    )


def source_of(body: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, name, namespace) of a Kustomization's or a HelmRelease's source."""
    spec = body.get("spec") or {}
    if body.get("kind") == helmrelease.KIND:
        ref = ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
    else:
        ref = spec.get("sourceRef") or {}
    own = str(body["metadata"].get("namespace") or "")
    return (
        str(ref.get("kind") or gitrepository.KIND),
        str(ref.get("name") or ""),
        str(ref.get("namespace") or own),
    )


def request_and_wait(
    client: kube.Kube, kind: str, name: str, namespace: str | None, timeout: float
) -> dict[str, Any]:
    """Ask for an immediate reconcile, wait until it was handled, print and return the result.

    Handled means ``status.lastHandledReconcileAt`` repeats the request's stamp; the
    Ready condition is read from that same body. NotFoundError when it does not exist.
    """
    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    try:
        client.merge_patch(
            api.API_VERSION,
            kind,
            name,
            {"metadata": {"annotations": {labels.REQUESTED_AT: stamp}}},
            namespace,
        )
    except errors.ApiError as error:
        if error.not_found:
            raise _not_found(kind, name, namespace) from None
        raise
    where = f"{namespace}/" if namespace else ""
    console.out.print(f"► asked {kind} {where}{name} to reconcile")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(api.API_VERSION, kind, name, namespace) or {}
        status = body.get("status") or {}
        if status.get("lastHandledReconcileAt") == stamp:
            ready = conditions.get(status.get("conditions") or [], conditions.READY) or {}
            mark = "✔" if ready.get("status") == "True" else "✗"
            # A failed sync names the revision it tried, not the one still applied.
            attempted = (
                None if ready.get("status") == "True" else status.get("lastAttemptedRevision")
            )
            revision = (
                (status.get("artifact") or {}).get("revision")
                or attempted
                or status.get("lastAppliedRevision")
            )
            console.out.print(
                f"{mark} {ready.get('reason', '')}: {ready.get('message', '')}"
                + (f" ({revision})" if revision else ""),
                soft_wrap=True,
                markup=False,
            )
            return body
        time.sleep(0.5)
    raise errors.RetryableError(
        f"{kind} {name} did not handle the request in {timeout:.0f}s",
        hint="is `landlord run` running?",
    )


def _ready(body: dict[str, Any]) -> bool:
    return conditions.is_true((body.get("status") or {}).get("conditions") or [], conditions.READY)


@click.command("reconcile")
@click.argument("kind", type=KIND_CHOICE, metavar="KIND")
@click.argument("name")
@click.option(
    "-n", "--namespace", default=None, help="Namespace [default: default; not for tenants]."
)
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait for each reconcile to be handled.",
)
@click.option(
    "--with-source",
    is_flag=True,
    help="Kustomizations and HelmReleases: reconcile the source first (the GitRepository or "
    "HelmRepository named in sourceRef) and wait for it, so a new commit or chart is "
    "picked up in one call.",
)
def reconcile_command(
    kind: str, name: str, namespace: str | None, timeout: float, with_source: bool
) -> None:
    """Ask for an immediate reconcile and wait until it was handled.

    Exit 0 when the object is Ready afterwards, 1 when it is not (or the source
    with --with-source is not), 3 when it does not exist.
    """
    resolved, ns = _target(kind, namespace)
    client = kube.connect()
    if with_source:
        if resolved not in WITH_SOURCE:
            raise click.UsageError(
                f"--with-source applies to Kustomizations and HelmReleases, not {resolved}s"
            )
        body = client.get(api.API_VERSION, resolved, name, ns)
        if body is None:
            raise _not_found(resolved, name, ns)
        body.setdefault("kind", resolved)
        source_kind, source_name, source_ns = source_of(body)
        source = request_and_wait(client, source_kind, source_name, source_ns, timeout)
        if not _ready(source):
            raise SystemExit(1)
    result = request_and_wait(client, resolved, name, ns, timeout)
    if not _ready(result):
        raise SystemExit(1)


def _set_suspend(kind: str, name: str, namespace: str | None, suspend: bool) -> None:
    resolved, ns = _target(kind, namespace)
    try:
        kube.connect().merge_patch(
            api.API_VERSION, resolved, name, {"spec": {"suspend": suspend}}, ns
        )
    except errors.ApiError as error:
        if error.not_found:
            raise _not_found(resolved, name, ns) from None
        raise
    console.out.print(f"{'suspended' if suspend else 'resumed'} {resolved} {name}")


@click.command("suspend")
@click.argument("kind", type=KIND_CHOICE, metavar="KIND")
@click.argument("name")
@click.option(
    "-n", "--namespace", default=None, help="Namespace [default: default; not for tenants]."
)
def suspend_command(kind: str, name: str, namespace: str | None) -> None:
    """Stop reconciling an object (its state stays as it is). Exit 3 when it does not exist."""
    _set_suspend(kind, name, namespace, True)


@click.command("resume")
@click.argument("kind", type=KIND_CHOICE, metavar="KIND")
@click.argument("name")
@click.option(
    "-n", "--namespace", default=None, help="Namespace [default: default; not for tenants]."
)
def resume_command(kind: str, name: str, namespace: str | None) -> None:
    """Reconcile a suspended object again. Exit 3 when it does not exist."""
    _set_suspend(kind, name, namespace, False)


# Every spelling of every kind, in each command's help (and so in docs/cli.md).
for _command in (reconcile_command, suspend_command, resume_command):
    _command.help = f"{_command.help or ''}\n\nKIND: {kinds.reconcilable_help()}."
