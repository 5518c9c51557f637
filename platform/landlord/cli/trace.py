"""``landlord trace``: the chain from a source revision to what was applied, for one object.

Each object of the chain is a :class:`Link`, built from its body by a pure
function; the command reads the bodies and prints the chain from the source down.
A piece that cannot be read is a line saying so, never a failure.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from landlord import api, audit, errors, kube
from landlord.api import conditions, labels, reasons
from landlord.api import tenant as tenant_api
from landlord.cli import console, kinds
from landlord.cli import output as formats
from landlord.cli.get import age
from landlord.git import urls
from landlord.kube import discovery
from landlord.kube import events as kube_events
from landlord.settings import Settings
from landlord.telemetry import tracing


@dataclasses.dataclass(frozen=True)
class Link:
    """One object of the chain and what it says about it, line by line."""

    kind: str
    name: str
    namespace: str | None
    lines: tuple[tuple[str, str], ...]

    def title(self) -> str:
        """``Kind namespace/name``."""
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    def as_data(self) -> dict[str, Any]:
        """What ``-o json|yaml`` prints for it."""
        return {
            "kind": self.kind,
            "name": self.name,
            **({"namespace": self.namespace} if self.namespace else {}),
            "details": dict(self.lines),
        }


def missing(kind: str, name: str, namespace: str | None, why: str) -> Link:
    """A link that could not be read."""
    return Link(kind, name, namespace, (("Status", why),))


def _when(stamp: str | None) -> str:
    return f"{stamp} ({age(stamp)} ago)" if stamp else "never"


def ready_text(body: dict[str, Any]) -> str:
    """``True (Reason: message)``, or why there is no Ready condition."""
    ready = conditions.get((body.get("status") or {}).get("conditions") or [], conditions.READY)
    if ready is None:
        return "Unknown (not reconciled yet)"
    detail = f"{ready.get('reason', '')}: {ready.get('message', '')}".strip(": ")
    suspended = " [suspended]" if (body.get("spec") or {}).get("suspend") else ""
    return f"{ready.get('status')} ({detail}){suspended}"


def trace_id(body: dict[str, Any]) -> str | None:
    """The trace of the request that asked for this object's state (its traceparent), if any."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    parent = annotations.get(labels.TRACEPARENT)
    return tracing.trace_id_of(parent) if parent else None


def _ref_text(ref: dict[str, Any] | None, default: str = "branch main (default)") -> str:
    given = {key: value for key, value in (ref or {}).items() if value}
    return ", ".join(f"{key} {value}" for key, value in given.items()) or default


def source_link(body: dict[str, Any]) -> Link:
    """A GitRepository (or HelmRepository, OCIRepository): URL, ref, revision, fetched, Ready."""
    metadata, spec = body["metadata"], body.get("spec") or {}
    artifact = (body.get("status") or {}).get("artifact") or {}
    lines = [("URL", urls.redact(str(spec.get("url") or "?")))]  # never a password
    if body.get("kind") == "GitRepository":
        lines.append(("Ref", _ref_text(spec.get("ref"))))
    elif body.get("kind") == "OCIRepository":
        lines.append(("Ref", _ref_text(spec.get("ref"), "tag latest (default)")))
    lines += [
        ("Revision", str(artifact.get("revision") or "none fetched yet")),
        (
            "Last fetch",
            f"{_when(artifact.get('lastUpdateTime'))}, then every {spec.get('interval', '?')}"
            if artifact.get("lastUpdateTime")
            else "no artifact stored yet",
        ),
        ("Ready", ready_text(body)),
    ]
    return Link(body["kind"], metadata["name"], metadata.get("namespace"), tuple(lines))


def reconcile_trace(events: list[dict[str, Any]]) -> str | None:
    """The trace id of the newest Landlord Event that carries one (its reconcile's trace)."""
    traced = [
        event
        for event in events
        if ((event.get("metadata") or {}).get("annotations") or {}).get(labels.TRACE_ID)
        and (event.get("source") or {}).get("component") == kube_events.COMPONENT
    ]
    if not traced:
        return None
    event = max(traced, key=_newest)
    return str(event["metadata"]["annotations"][labels.TRACE_ID])


def _newest(event: dict[str, Any]) -> tuple[str, int]:
    """Sort key: the last time (seconds only), then the write order within that second."""
    version = str((event.get("metadata") or {}).get("resourceVersion") or "0")
    return (
        str(event.get("lastTimestamp") or event.get("eventTime") or ""),
        int(version) if version.isdigit() else 0,
    )


def last_apply(events: list[dict[str, Any]]) -> str:
    """The last successful apply Landlord recorded in an Event (or why none is known)."""
    applied = [
        event
        for event in events
        if event.get("reason") == reasons.SUCCEEDED
        and (event.get("source") or {}).get("component") == kube_events.COMPONENT
    ]
    if not applied:
        return "no apply Event found (the apiserver keeps Events for an hour by default)"
    event = max(applied, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    return f"{_when(event.get('lastTimestamp') or event.get('eventTime'))}: {event.get('message')}"


def kustomization_link(
    body: dict[str, Any], events: list[dict[str, Any]], trace: str | None = None
) -> Link:
    """A Kustomization: path, target, revisions, last apply, inventory, trace id, Ready."""
    metadata, spec = body["metadata"], body.get("spec") or {}
    status = body.get("status") or {}
    inventory = status.get("inventory") or {}
    applied = status.get("lastAppliedRevision")
    attempted = status.get("lastAttemptedRevision")
    lines = [
        ("Path", str(spec.get("path") or "./")),
        (
            "Target",
            f"cluster {spec.get('cluster') or 'local'}"
            + (f", namespace {spec['targetNamespace']}" if spec.get("targetNamespace") else ""),
        ),
        ("Applied revision", str(applied or "none applied yet")),
    ]
    if attempted and attempted != applied:
        lines.append(("Attempted revision", str(attempted)))
    lines.append(("Last apply", last_apply(events)))
    if inventory:
        where = inventory.get("clusterName") or inventory.get("cluster") or "?"
        count = len(inventory.get("entries") or [])
        lines.append(("Inventory", f"{count} object{'' if count == 1 else 's'} on {where}"))
    else:
        lines.append(("Inventory", "empty (nothing applied yet)"))
    reconciled = reconcile_trace(events)
    if reconciled:
        lines.append(("Reconcile trace", f"{reconciled} (the last reconcile that posted an Event)"))
    lines.append(
        (
            "Trace",
            trace
            or "not recorded on the object (only a state an onboarding request asked for "
            "carries its trace); log lines written during a reconcile carry its trace_id: "
            f"`landlord logs --kind ks --name {metadata['name']} -n {metadata['namespace']}`",
        )
    )
    lines.append(("Ready", ready_text(body)))
    return Link("Kustomization", metadata["name"], metadata["namespace"], tuple(lines))


def tenant_link(body: dict[str, Any], commit: str | None = None) -> Link:
    """A Tenant: its namespaces, its own repository, the platform commit, Ready."""
    metadata, spec = body["metadata"], body.get("spec") or {}
    status = body.get("status") or {}
    lines = [
        ("Namespaces", ", ".join(status.get("namespaces") or spec.get("namespaces") or [])),
        ("Source", urls.redact(str((spec.get("source") or {}).get("url") or "none (no sync)"))),
    ]
    if commit is not None:
        lines.append(("Platform commit", commit))
    trace = trace_id(body)
    if trace:
        lines.append(("Trace", f"{trace} (the onboarding request)"))
    lines.append(("Ready", ready_text(body)))
    return Link("Tenant", metadata["name"], None, tuple(lines))


def inventory_id(body: dict[str, Any]) -> str:
    """The object's id in an inventory (Flux's ``namespace_name_group_kind``)."""
    metadata = body["metadata"]
    group = body["apiVersion"].rpartition("/")[0]
    return f"{metadata.get('namespace') or ''}_{metadata['name']}_{group}_{body['kind']}"


def object_link(body: dict[str, Any], owner: dict[str, Any] | None) -> Link:
    """An applied object: who manages it and whether its Kustomization's inventory has it."""
    metadata = body["metadata"]
    found = metadata.get("labels") or {}
    if found.get(labels.KUSTOMIZATION_NAME):
        manager = (
            f"Kustomization {found.get(labels.KUSTOMIZATION_NAMESPACE)}/"
            f"{found[labels.KUSTOMIZATION_NAME]}"
        )
    elif found.get(labels.HELMRELEASE_NAME):
        release = f"{found.get(labels.HELMRELEASE_NAMESPACE)}/{found[labels.HELMRELEASE_NAME]}"
        manager = f"HelmRelease {release}"
    else:
        manager = f"not applied by Landlord (no {labels.KUSTOMIZATION_NAME} label)"
    lines = [("Managed by", manager), ("Created", _when(metadata.get("creationTimestamp")))]
    if owner is not None and owner.get("kind") == "Kustomization":
        entries = ((owner.get("status") or {}).get("inventory") or {}).get("entries") or []
        listed = inventory_id(body) in {entry.get("id") for entry in entries}
        lines.append(("In inventory", "yes" if listed else "no (applied before, or elsewhere)"))
    return Link(body["kind"], metadata["name"], metadata.get("namespace"), tuple(lines))


def helmrelease_link(body: dict[str, Any]) -> Link:
    """A HelmRelease: its chart, its last release, Ready."""
    metadata, spec = body["metadata"], body.get("spec") or {}
    chart = ((spec.get("chart") or {}).get("spec")) or {}
    history = (body.get("status") or {}).get("history") or []
    release = (
        f"{history[0].get('name')} v{history[0].get('version')} ({history[0].get('status')})"
        if history
        else "none installed yet"
    )
    lines = (
        ("Chart", f"{chart.get('chart', '?')} {chart.get('version') or '(latest)'}"),
        ("Release", release),
        ("Ready", ready_text(body)),
    )
    return Link("HelmRelease", metadata["name"], metadata["namespace"], lines)


# -- reading the chain ------------------------------------------------------------


class _Reader:
    def __init__(self, client: kube.Kube, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def get(self, kind: str, name: str, namespace: str | None) -> tuple[dict[str, Any] | None, str]:
        """The object, or None and why it is unavailable."""
        try:
            body = self.client.get(api.API_VERSION, kind, name, namespace)
        except errors.ApiError as error:
            return None, f"unavailable: {error.message}"
        if body is None:
            return None, "not found"
        body.setdefault("kind", kind)
        body.setdefault("apiVersion", api.API_VERSION)
        return body, ""

    def source(self, owner: dict[str, Any], ref: dict[str, Any]) -> Link:
        kind = str(ref.get("kind") or "GitRepository")
        name = str(ref.get("name") or "?")
        namespace = ref.get("namespace") or owner["metadata"]["namespace"]
        body, why = self.get(kind, name, namespace)
        return source_link(body) if body is not None else missing(kind, name, namespace, why)

    def kustomization(self, name: str, namespace: str) -> list[Link]:
        body, why = self.get("Kustomization", name, namespace)
        if body is None:
            return [missing("Kustomization", name, namespace, why)]
        chain = []
        tenant = ((body.get("metadata") or {}).get("labels") or {}).get(labels.TENANT)
        if tenant:
            owner, why = self.get(tenant_api.KIND, tenant, None)
            chain.append(tenant_link(owner) if owner else missing("Tenant", tenant, None, why))
        chain.append(self.source(body, (body.get("spec") or {}).get("sourceRef") or {}))
        try:
            found = kube_events.list_for(self.client, "Kustomization", name, namespace)
        except errors.ApiError:
            found = []
        chain.append(kustomization_link(body, found, trace_id(body)))
        return chain

    def tenant(self, name: str) -> list[Link]:
        body, why = self.get(tenant_api.KIND, name, None)
        if body is None:
            if why == "not found":
                raise errors.NotFoundError(f"Tenant {name} not found")
            return [missing("Tenant", name, None, why)]
        chain = [tenant_link(body, self.platform_commit(name))]
        spec = body.get("spec") or {}
        if not spec.get("source"):
            return chain
        home = (body.get("status") or {}).get("namespaces") or spec.get("namespaces") or [name]
        synced = [link for link in self.kustomization(name, home[0]) if link.kind != "Tenant"]
        if not any(link.kind == "GitRepository" for link in synced):  # no Kustomization to ask
            source, why = self.get("GitRepository", name, home[0])
            chain.append(
                source_link(source) if source else missing("GitRepository", name, home[0], why)
            )
        return chain + synced

    def platform_commit(self, name: str) -> str:
        """The last commit of the tenant's file in the platform repository (the audit trail)."""
        try:
            trail = audit.tenant_trail(self.client, self.settings, name, limit=1)
        except errors.LandlordError as error:
            return f"unavailable: {error.message}"
        commits = [entry for entry in trail.entries if entry.source == "git"]
        if not commits:
            return f"none found for {trail.path}"
        latest = commits[-1]
        trace = f", trace {latest.trace_id}" if latest.trace_id else ""
        return f"{latest.what} by {latest.who} at {latest.time:%Y-%m-%d %H:%M:%S}{trace}"

    def helmrelease(self, name: str, namespace: str) -> list[Link]:
        body, why = self.get("HelmRelease", name, namespace)
        if body is None:
            return [missing("HelmRelease", name, namespace, why)]
        chart = (((body.get("spec") or {}).get("chart") or {}).get("spec")) or {}
        return [self.source(body, chart.get("sourceRef") or {}), helmrelease_link(body)]

    def applied(self, word: str, name: str, namespace: str | None) -> list[Link]:
        found = discovery.resolve(self.client, word)
        if found is None:
            raise click.BadParameter(f"the apiserver serves no kind {word!r}", param_hint="KIND")
        where = (namespace or "default") if found.namespaced else None
        body = self.client.get(found.api_version, found.kind, name, where)
        if body is None:
            place = f" in namespace {where}" if where else ""
            raise errors.NotFoundError(f"{found.kind} {name} not found{place}")
        body.setdefault("apiVersion", found.api_version)
        body.setdefault("kind", found.kind)
        marks = (body.get("metadata") or {}).get("labels") or {}
        chain: list[Link] = []
        owner = None
        if marks.get(labels.KUSTOMIZATION_NAME):
            ks_name = marks[labels.KUSTOMIZATION_NAME]
            ks_namespace = marks.get(labels.KUSTOMIZATION_NAMESPACE) or where or "default"
            chain = self.kustomization(ks_name, ks_namespace)
            owner, _ = self.get("Kustomization", ks_name, ks_namespace)
        elif marks.get(labels.HELMRELEASE_NAME):
            chain = self.helmrelease(
                marks[labels.HELMRELEASE_NAME],
                marks.get(labels.HELMRELEASE_NAMESPACE) or where or "default",
            )
        return [*chain, object_link(body, owner)]


def chain_of(
    client: kube.Kube, settings: Settings, word: str, name: str, namespace: str | None
) -> list[Link]:
    """The chain of the object KIND NAME names, from its source down."""
    reader = _Reader(client, settings)
    known = kinds.ALIASES.get(word.lower())
    kind = known.name if known is not None else None
    if kind == "Tenant":
        return reader.tenant(name)
    if kind in ("Kustomization", "HelmRelease", "GitRepository", "HelmRepository", "OCIRepository"):
        where = namespace or "default"
        body, why = reader.get(kind, name, where)
        if body is None and why == "not found":
            raise errors.NotFoundError(f"{kind} {name} not found in namespace {where}")
        if kind == "Kustomization":
            return reader.kustomization(name, where)
        if kind == "HelmRelease":
            return reader.helmrelease(name, where)
        return [source_link(body) if body else missing(kind, name, where, why)]
    return reader.applied(word, name, namespace)


@click.command("trace")
@click.argument("kind", metavar="KIND[/NAME]")
@click.argument("name", required=False)
@click.option("-n", "--namespace", default=None, help="The object's namespace (default: default).")
@formats.output_option
@click.pass_obj
def trace_command(
    settings: Settings, kind: str, name: str | None, namespace: str | None, output: str
) -> None:
    """Show the chain from a source revision to an object: what applied it, from where.

    For example `landlord trace ks web -n team-a`, `landlord trace tenant team-a`
    or `landlord trace deployment/web -n team-a`.

    A Kustomization shows its Tenant (when a Tenant made it), its GitRepository
    (URL, ref, revision, last fetch) and itself: path, target, applied revision,
    last apply, inventory, the trace id of the request that asked for its state,
    and Ready. A Tenant shows the last commit of its file in the platform
    repository, then its GitRepository and Kustomization. Any other object
    (KIND: any kind the apiserver serves, e.g. deploy or configmap) shows the
    chain of the Kustomization or HelmRelease its labels name, then itself.
    A piece that cannot be read is shown as such on its line.
    """
    if name is None:
        kind, slash, name = kind.partition("/")
        if not slash or not name:
            raise click.UsageError("give KIND NAME or KIND/NAME")
    chain = chain_of(kube.connect(), settings, kind, name, namespace)
    if formats.structured(output):
        formats.emit([link.as_data() for link in chain], output)
        return
    width = max((len(label) for link in chain for label, _ in link.lines), default=0) + 1
    for index, link in enumerate(chain):
        if index:
            console.out.print("  [dim]↓[/dim]")
        console.out.print(f"[bold]{link.kind}[/bold] {link.title().partition(' ')[2]}")
        for label, value in link.lines:
            console.out.print(f"  {label + ':':<{width}} ", end="")
            console.out.print(value, markup=False, soft_wrap=True)
