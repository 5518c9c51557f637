"""``landlord export``: Landlord objects as clean YAML, for a backup or another cluster.

What the apiserver and the operator add to an object (status, uid,
resourceVersion, managedFields, finalizers, the annotations of a reconcile
request or a trace) is left out by :func:`clean`, so that applying the
export elsewhere asks for the same desired state and nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
import yaml

from landlord import api, errors, kube
from landlord.api import labels
from landlord.cli import console, kinds
from landlord.telemetry import tracing

ALL = "all"
KIND_CHOICE = click.Choice(sorted([*kinds.ALIASES, ALL]), case_sensitive=False)

# Annotations only the running system writes: a reconcile request, and the trace
# context (and Landlord's signature of it, keyed for this cluster) of a request.
RUNTIME_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        labels.REQUESTED_AT,
        labels.TRACEPARENT,
        tracing.TRACEPARENT_SIGNATURE,
    }
)


def clean(body: dict[str, Any]) -> dict[str, Any]:
    """The object as it would be written in Git: apiVersion, kind, metadata and spec.

    metadata keeps name, namespace, labels and annotations (without runtime
    ones); everything the apiserver or a controller filled in is dropped.
    """
    metadata = body.get("metadata") or {}
    kept: dict[str, Any] = {"name": metadata["name"]}
    if metadata.get("namespace"):
        kept["namespace"] = metadata["namespace"]
    if metadata.get("labels"):
        kept["labels"] = dict(metadata["labels"])
    annotations = {
        key: value
        for key, value in (metadata.get("annotations") or {}).items()
        if key not in RUNTIME_ANNOTATIONS
    }
    if annotations:
        kept["annotations"] = annotations
    cleaned: dict[str, Any] = {
        "apiVersion": body.get("apiVersion", api.API_VERSION),
        "kind": body["kind"],
        "metadata": kept,
    }
    if "spec" in body:
        cleaned["spec"] = body["spec"]
    return cleaned


def documents(bodies: Iterable[dict[str, Any]]) -> str:
    """Multi-document YAML: each object after a ``---`` line ("" for none)."""
    return "".join(
        "---\n" + yaml.safe_dump(clean(body), sort_keys=False, default_flow_style=False)
        for body in bodies
    )


def _kinds(word: str) -> tuple[kinds.Kind, ...]:
    # Every kind in `landlord get all`'s order: Tenants (they make namespaces), sources,
    # then what uses them: the order in which the export is best applied.
    return kinds.ALL if word.lower() == ALL else (kinds.resolve(word),)


def gather(
    client: kube.Kube, word: str, name: str | None, namespace: str | None
) -> list[dict[str, Any]]:
    """The objects ``export WORD [NAME]`` prints, ordered by kind, namespace and name.

    ``namespace`` None: every namespace. With a namespace, cluster-scoped kinds
    are left out of ``all``.
    """
    found: list[dict[str, Any]] = []
    for each in _kinds(word):
        kind, scoped = each.name, each.cluster_scoped
        if scoped and namespace is not None and word.lower() == ALL:
            continue
        where = None if scoped else namespace
        if name is not None:
            body = client.get(api.API_VERSION, kind, name, None if scoped else where or "default")
            if body is None:
                place = "" if scoped else f" in namespace {where or 'default'}"
                raise errors.NotFoundError(f"{kind} {name} not found{place}")
            body.setdefault("apiVersion", api.API_VERSION)
            body.setdefault("kind", kind)
            found.append(body)
            continue
        items = client.list_objects(api.API_VERSION, kind, namespace=where)
        found.extend(
            sorted(
                items,
                key=lambda i: (i["metadata"].get("namespace") or "", i["metadata"]["name"]),
            )
        )
    return found


@click.command("export")
@click.argument("kind", type=KIND_CHOICE, metavar="KIND")
@click.argument("name", required=False)
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Only this namespace (default: every namespace; with NAME: default). "
    "Ignored for tenants, which are cluster-scoped.",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (the default).")
def export_command(
    kind: str, name: str | None, namespace: str | None, all_namespaces: bool
) -> None:
    """Print Landlord objects as clean multi-document YAML, for a backup or a migration.

    KIND is a Landlord kind or alias (tenant, source, ks, hr, helmrepo, provider,
    alert, receiver, cluster, ...) or `all` for every kind, sources before what
    uses them. Without NAME, every object of the kind is printed.

    Each object keeps apiVersion, kind, name, namespace, labels, annotations and
    spec; status, managedFields, uid, resourceVersion, generation,
    creationTimestamp, finalizers, owner references,
    kubectl.kubernetes.io/last-applied-configuration and Landlord's runtime
    annotations (landlord.dev/requested-at, the trace context) are left out.
    `kubectl apply -f` (or a commit to the platform repository) recreates them.
    Secrets they refer to are not exported.
    """
    if name is not None and kind.lower() == ALL:
        raise click.UsageError("NAME cannot be given with `all`")
    if name is not None and all_namespaces:
        raise click.UsageError("NAME needs one namespace: give -n instead of -A")
    where = None if all_namespaces else namespace
    found = gather(kube.connect(), kind, name, where)
    if not found:
        what = "Landlord objects" if kind.lower() == ALL else kinds.resolve(kind).plural
        console.err.print(f"no {what} to export" + (f" in namespace {where}" if where else ""))
    click.echo(documents(found), nl=False)
