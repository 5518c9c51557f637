"""``landlord get``: Landlord's objects and whether they are Ready, in one shape for every kind.

One :class:`View` per kind says how each column's cell is read from an
object's body. Every kind has the same core columns — NAMESPACE (not for
Tenants and Clusters), NAME, READY, REVISION, SUSPENDED, AGE and STATUS (the
Ready condition's message) — plus its own; ``-o wide`` adds more, ``-o json``
and ``-o yaml`` print the objects themselves.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click
import yaml
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from landlord import api, errors, kube
from landlord.api import conditions
from landlord.cli import console, kinds, output
from landlord.kube import watch as kube_watch
from landlord.settings import Settings

Body = dict[str, Any]
Cell = Callable[[Body], str]
NONE = "-"
READY_STYLES = {"True": "green", "False": "red"}


# -- reading cells from a body ---------------------------------------------------------------


def age(timestamp: str | None) -> str:
    """``kubectl``-style age: 45s, 12m, 3h, 5d."""
    if not timestamp:
        return "?"
    created = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = int((datetime.datetime.now(datetime.UTC) - created).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def ago(timestamp: str | None, never: str = NONE) -> str:
    """``12m ago``, or ``never`` when there is no time."""
    return f"{age(timestamp)} ago" if timestamp else never


def _status(body: Body) -> Body:
    return body.get("status") or {}


def _spec(body: Body) -> Body:
    return body.get("spec") or {}


def _ready_condition(body: Body) -> Body | None:
    return conditions.get(_status(body).get("conditions") or [], conditions.READY)


def ready(body: Body) -> tuple[str, str]:
    """(the Ready condition's status, its message); ``Unknown`` before the first reconcile."""
    found = _ready_condition(body)
    if found is None:
        return "Unknown", "not reconciled yet"
    return str(found.get("status")), str(found.get("message") or found.get("reason") or "")


def _text(value: Any) -> str:
    return NONE if value in (None, "", [], {}) else str(value)


def _namespace(body: Body) -> str:
    return str(body["metadata"].get("namespace") or "")


def _name(body: Body) -> str:
    return str(body["metadata"]["name"])


def _suspended(body: Body) -> str:
    return "True" if _spec(body).get("suspend") else "False"


def _age(body: Body) -> str:
    return age(body["metadata"].get("creationTimestamp"))


def _observed(body: Body) -> str:
    """``observedGeneration/generation``: 2/3 means the status speaks of an older spec."""
    observed = _status(body).get("observedGeneration")
    generation = body["metadata"].get("generation")
    return f"{_text(observed)}/{_text(generation)}"


def _ready_since(body: Body) -> str:
    return ago((_ready_condition(body) or {}).get("lastTransitionTime"))


def _artifact_revision(body: Body) -> str:
    return _text((_status(body).get("artifact") or {}).get("revision"))


def _artifact_time(body: Body) -> str:
    return ago((_status(body).get("artifact") or {}).get("lastUpdateTime"))


def _applied_revision(body: Body) -> str:
    return _text(_status(body).get("lastAppliedRevision"))


def _no_revision(body: Body) -> str:
    return NONE


def shown_url(url: Any) -> str:
    """A URL as a table shows it: a password in it is never printed."""
    if not url:
        return NONE
    parts = urllib.parse.urlsplit(str(url))
    if parts.password is None:
        return str(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def tenant_namespaces(body: Body) -> list[str]:
    """A Tenant's namespaces: provisioned (status), else wanted (spec), else its name."""
    return list(_status(body).get("namespaces") or _spec(body).get("namespaces") or [_name(body)])


def _tenant_clusters(body: Body) -> str:
    placed = _status(body).get("clusters") or []
    if not placed:
        return ",".join(_spec(body).get("clusters") or []) or "local"
    return ",".join(
        str(item.get("name")) + ("" if item.get("ready") else " (not ready)") for item in placed
    )


def _oci_ref(body: Body) -> str:
    ref = _spec(body).get("ref") or {}
    for key in ("digest", "semver", "tag"):
        if ref.get(key):
            return f"{key} {ref[key]}"
    return "tag latest"


def _scan(body: Body) -> Body:
    return _status(body).get("lastScanResult") or {}


def _latest_image(body: Body) -> str:
    return _text(_status(body).get("latestImage"))


def _pushed(body: Body) -> str:
    return _text(str(_status(body).get("lastPushCommit") or "")[:12] or None)


def _git_ref(body: Body) -> str:
    ref = _spec(body).get("ref") or {}
    for key in ("commit", "semver", "tag", "branch"):
        if ref.get(key):
            return f"{key} {ref[key]}"
    return NONE


def target_of(item: Body) -> str:
    """Where a Kustomization applies (its spec), and where objects still wait to be pruned."""
    spec = item.get("spec") or {}
    wanted = spec.get("cluster") or (
        f"kubeConfig:{((spec.get('kubeConfig') or {}).get('secretRef') or {}).get('name', '?')}"
        if spec.get("kubeConfig")
        else "local"
    )
    inventory = (item.get("status") or {}).get("inventory") or {}
    pending = [
        f"{g.get('clusterName') or g.get('cluster')}({len(g.get('entries') or [])})"
        for g in inventory.get("pending") or []
    ]
    return wanted + (f" (pending prune: {', '.join(pending)})" if pending else "")


def _drift_repair(body: Body) -> str:
    repair = _status(body).get("lastDriftRepair") or {}
    if not repair.get("time"):
        return NONE
    return f"{age(repair['time'])} ago: {repair.get('objects', '')}"


def _source_ref(ref: Body, own_namespace: str) -> str:
    if not ref:
        return NONE
    return f"{ref.get('kind', '?')}/{ref.get('namespace') or own_namespace}/{ref.get('name', '?')}"


def _kustomization_source(body: Body) -> str:
    return _source_ref(_spec(body).get("sourceRef") or {}, _namespace(body))


def _inventory_size(body: Body) -> str:
    inventory = _status(body).get("inventory")
    if not inventory:
        return NONE
    return str(len(inventory.get("entries") or []))


def _last_release(body: Body) -> Body:
    history = _status(body).get("history") or []
    return history[0] if history else {}


def _release(body: Body) -> str:
    last = _last_release(body)
    if not last:
        return NONE
    return f"{last.get('name')}.v{last.get('version')} ({last.get('status')})"


def _chart_source(body: Body) -> str:
    chart = (_spec(body).get("chart") or {}).get("spec") or {}
    return _source_ref(chart.get("sourceRef") or {}, _namespace(body))


# -- one view per kind -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Column:
    """A column: its header, how its cell is read, and whether only ``-o wide`` shows it."""

    header: str
    cell: Cell
    wide: bool = False


@dataclasses.dataclass(frozen=True)
class View:
    """How one kind is shown: its revision and its own columns, beside the core ones."""

    kind: kinds.Kind
    revision: Cell
    extra: tuple[Column, ...] = ()

    def columns(self, wide: bool = False) -> list[Column]:
        """The columns in order: core, the kind's own, -o wide's, AGE and STATUS last."""
        head = [Column("NAMESPACE", _namespace)] if self.kind.namespaced else []
        head += [
            Column("NAME", _name),
            Column("READY", lambda body: ready(body)[0]),
            Column("REVISION", self.revision),
            Column("SUSPENDED", _suspended),
        ]
        own = [column for column in self.extra if wide or not column.wide]
        common = [Column("OBSERVED", _observed), Column("READY SINCE", _ready_since)]
        tail = [Column("AGE", _age), Column("STATUS", lambda body: ready(body)[1])]
        return head + own + (common if wide else []) + tail

    def headers(self, wide: bool = False) -> list[str]:
        return [column.header for column in self.columns(wide)]

    def row(self, body: Body, wide: bool = False) -> list[str]:
        """The cells of one object."""
        return [column.cell(body) for column in self.columns(wide)]

    def rows(self, items: Iterable[Body], wide: bool = False) -> list[list[str]]:
        """The cells of every object, sorted by namespace and name."""
        return [self.row(body, wide) for body in sort(items)]


def _kind(name: str) -> kinds.Kind:
    return kinds.BY_NAME[name]


VIEWS: dict[str, View] = {
    view.kind.name: view
    for view in (
        View(
            _kind("Tenant"),
            _applied_revision,
            (
                Column("NAMESPACES", lambda body: ",".join(tenant_namespaces(body))),
                Column("CLUSTERS", _tenant_clusters, wide=True),
                Column(
                    "SOURCE",
                    lambda body: shown_url((_spec(body).get("source") or {}).get("url")),
                    wide=True,
                ),
            ),
        ),
        View(
            _kind("GitRepository"),
            _artifact_revision,
            (
                Column("URL", lambda body: shown_url(_spec(body).get("url")), wide=True),
                Column("REF", _git_ref, wide=True),
                Column("FETCHED", _artifact_time, wide=True),
            ),
        ),
        View(
            _kind("HelmRepository"),
            _artifact_revision,
            (
                Column("URL", lambda body: shown_url(_spec(body).get("url")), wide=True),
                Column(
                    "CHARTS",
                    lambda body: _text((_status(body).get("artifact") or {}).get("charts")),
                    wide=True,
                ),
                Column("FETCHED", _artifact_time, wide=True),
            ),
        ),
        View(
            _kind("OCIRepository"),
            _artifact_revision,
            (
                Column("URL", lambda body: shown_url(_spec(body).get("url")), wide=True),
                Column("REF", _oci_ref, wide=True),
                Column("FETCHED", _artifact_time, wide=True),
            ),
        ),
        View(
            _kind("Kustomization"),
            _applied_revision,
            (
                Column("CLUSTER", target_of),
                Column("LAST DRIFT REPAIR", _drift_repair),
                Column("SOURCE", _kustomization_source, wide=True),
                Column("PATH", lambda body: _text(_spec(body).get("path")), wide=True),
                Column("OBJECTS", _inventory_size, wide=True),
                Column(
                    "ATTEMPTED",
                    lambda body: _text(_status(body).get("lastAttemptedRevision")),
                    wide=True,
                ),
            ),
        ),
        View(
            _kind("HelmRelease"),
            lambda body: _text(_status(body).get("lastAttemptedRevision")),
            (
                Column("CHART", lambda body: _text(_status(body).get("helmChart"))),
                Column("RELEASE", _release),
                Column("SOURCE", _chart_source, wide=True),
                Column(
                    "DEPLOYED", lambda body: ago(_last_release(body).get("lastDeployed")), wide=True
                ),
            ),
        ),
        View(
            _kind("ImageRepository"),
            _no_revision,
            (
                Column("IMAGE", lambda body: _text(_spec(body).get("image"))),
                Column("TAGS", lambda body: _text(_scan(body).get("tagCount"))),
                Column("LAST SCAN", lambda body: ago(_scan(body).get("scanTime"))),
            ),
        ),
        View(
            _kind("ImagePolicy"),
            _latest_image,
            (
                Column(
                    "REPOSITORY",
                    lambda body: _text((_spec(body).get("imageRepositoryRef") or {}).get("name")),
                    wide=True,
                ),
                Column(
                    "PREVIOUS",
                    lambda body: _text(_status(body).get("observedPreviousImage")),
                    wide=True,
                ),
            ),
        ),
        View(
            _kind("ImageUpdateAutomation"),
            _pushed,
            (
                Column("LAST RUN", lambda body: ago(_status(body).get("lastAutomationRunTime"))),
                Column("LAST PUSH", lambda body: ago(_status(body).get("lastPushTime"))),
                Column(
                    "SOURCE",
                    lambda body: _text((_spec(body).get("sourceRef") or {}).get("name")),
                    wide=True,
                ),
            ),
        ),
        View(
            _kind("Provider"),
            _no_revision,
            (
                Column("TYPE", lambda body: _text(_spec(body).get("type"))),
                Column("DELIVERED", lambda body: _text(_status(body).get("delivered")), wide=True),
                Column("FAILED", lambda body: _text(_status(body).get("failed")), wide=True),
            ),
        ),
        View(
            _kind("Alert"),
            _no_revision,
            (
                Column(
                    "PROVIDER",
                    lambda body: _text((_spec(body).get("providerRef") or {}).get("name")),
                ),
                Column("SEVERITY", lambda body: _text(_spec(body).get("eventSeverity")), wide=True),
                Column(
                    "SOURCES",
                    lambda body: str(len(_spec(body).get("eventSources") or [])),
                    wide=True,
                ),
            ),
        ),
        View(
            _kind("Receiver"),
            _no_revision,
            (
                Column("TYPE", lambda body: _text(_spec(body).get("type"))),
                Column(
                    "WEBHOOK PATH", lambda body: _text(_status(body).get("webhookPath")), wide=True
                ),
            ),
        ),
        View(
            _kind("Cluster"),
            _no_revision,
            (
                Column("VERSION", lambda body: _text(_status(body).get("version"))),
                Column("IDENTITY", lambda body: _text(_status(body).get("identity"))),
                Column("LAST CONTACT", lambda body: ago(_status(body).get("lastContact"), "never")),
                Column("REACHABLE", lambda body: _text(_status(body).get("reachable")), wide=True),
                Column(
                    "SECRET",
                    lambda body: _text(
                        ((_spec(body).get("kubeConfig") or {}).get("secretRef") or {}).get("name")
                    ),
                    wide=True,
                ),
            ),
        ),
    )
}


def sort(items: Iterable[Body]) -> list[Body]:
    """By namespace, then name."""
    return sorted(items, key=lambda body: (_namespace(body), _name(body)))


def stripped(body: Body) -> Body:
    """The object as ``-o json|yaml`` prints it: without ``metadata.managedFields``."""
    copied = copy.deepcopy(body)
    (copied.get("metadata") or {}).pop("managedFields", None)
    return copied


def listing(items: Iterable[Body]) -> Body:
    """A ``kind: List`` document of the objects, as ``kubectl get -o yaml`` prints one."""
    return {"apiVersion": "v1", "kind": "List", "items": [stripped(body) for body in items]}


def render(view: View, items: Iterable[Body], wide: bool = False) -> Table:
    """The objects as a table; READY in colour (on a terminal)."""
    columns = view.columns(wide)
    table = output.table(*(column.header for column in columns))
    for cells in view.rows(items, wide):
        table.add_row(
            *(
                Text(cell, style=READY_STYLES.get(cell, "yellow"))
                if column.header == "READY"
                else Text(cell)
                for column, cell in zip(columns, cells, strict=True)
            )
        )
    return table


# -- reading objects -------------------------------------------------------------------------


def fetch(
    client: kube.Kube,
    kind: kinds.Kind,
    *,
    namespace: str | None,
    platform_namespace: str,
) -> list[Body]:
    """The objects of a kind in ``namespace`` (None: every namespace).

    Clusters are always read in the platform namespace; Tenants are
    cluster-scoped, and ``namespace`` keeps those that own it.
    """
    if kind.platform_only:
        return client.list_objects(api.API_VERSION, kind.name, namespace=platform_namespace)
    if kind.cluster_scoped:
        items = client.list_objects(api.API_VERSION, kind.name)
        if namespace is not None:
            items = [body for body in items if namespace in tenant_namespaces(body)]
        return items
    return client.list_objects(api.API_VERSION, kind.name, namespace=namespace)


def one(
    client: kube.Kube,
    kind: kinds.Kind,
    name: str,
    *,
    namespace: str | None,
    platform_namespace: str,
) -> Body:
    """The object named ``name``; NotFoundError when there is none.

    Without a namespace, a namespaced kind is looked for in every namespace: a
    TerminalError asks for one when several namespaces have an object of that name.
    """
    if kind.cluster_scoped or kind.platform_only or namespace is not None:
        where = platform_namespace if kind.platform_only else namespace
        found = client.get(api.API_VERSION, kind.name, name, None if kind.cluster_scoped else where)
        if found is None:
            suffix = "" if kind.cluster_scoped or where is None else f" in namespace {where}"
            raise errors.NotFoundError(f"{kind.name} {name} not found{suffix}")
        found.setdefault("apiVersion", api.API_VERSION)
        found.setdefault("kind", kind.name)
        return found
    matches = [
        body for body in client.list_objects(api.API_VERSION, kind.name) if _name(body) == name
    ]
    if not matches:
        raise errors.NotFoundError(
            f"{kind.name} {name} not found in any namespace",
            hint=f"`landlord get {kind.plural}` lists them",
        )
    if len(matches) > 1:
        raise errors.TerminalError(
            f"{kind.name} {name} exists in namespaces "
            + ", ".join(_namespace(body) for body in sort(matches)),
            hint="name one with -n NAMESPACE",
        )
    return matches[0]


def table_of(
    client: kube.Kube,
    kind_name: str,
    namespace: str | None = None,
    *,
    platform_namespace: str = "",
    wide: bool = False,
) -> Table | None:
    """A kind's objects as a table (None when there are none)."""
    kind = _kind(kind_name)
    items = fetch(client, kind, namespace=namespace, platform_namespace=platform_namespace)
    return render(VIEWS[kind.name], items, wide) if items else None


# The tables other commands print (the demo, `landlord up`).
def tenants_table(client: kube.Kube) -> Table | None:
    """The tenants as a table (None when there are none)."""
    return table_of(client, "Tenant")


def namespaced_table(client: kube.Kube, kind: str, namespace: str | None = None) -> Table | None:
    """GitRepositories, Kustomizations, … as a table (None: there are none)."""
    return table_of(client, kind, namespace)


def clusters_table(client: kube.Kube, namespace: str) -> Table | None:
    """The registered clusters (in the platform namespace ``namespace``) as a table."""
    return table_of(client, "Cluster", platform_namespace=namespace)


def helm_releases_table(client: kube.Kube, namespace: str | None = None) -> Table | None:
    """HelmReleases as a table (None when there are none)."""
    return table_of(client, "HelmRelease", namespace)


# -- the commands ----------------------------------------------------------------------------


def _print(view: View, items: list[Body], out: str, *, single: bool) -> None:
    if output.structured(out):
        output.emit(stripped(items[0]) if single else listing(items), out)
    elif items:
        console.out.print(render(view, items, out == "wide"))
    else:
        console.err.print(f"no {view.kind.plural}")


def _effective_namespace(namespace: str | None, all_namespaces: bool) -> str | None:
    return None if all_namespaces else namespace


def show(
    settings: Settings,
    kind: kinds.Kind,
    name: str | None,
    *,
    namespace: str | None,
    out: str,
    watch: bool,
) -> None:
    """``landlord get KIND [NAME]``."""
    client = kube.connect()
    view = VIEWS[kind.name]
    platform = settings.platform_namespace
    if name is not None:
        items = [one(client, kind, name, namespace=namespace, platform_namespace=platform)]
        # Where it was found, for the watch (a Tenant is watched by its name alone).
        namespace = _namespace(items[0]) or None
    else:
        items = fetch(client, kind, namespace=namespace, platform_namespace=platform)
    if not watch:
        _print(view, items, out, single=name is not None)
        return
    Watcher(client, view, name=name, namespace=namespace, platform_namespace=platform, out=out).run(
        items
    )


def show_all(settings: Settings, *, namespace: str | None, out: str) -> None:
    """``landlord get all``: a table per kind that has objects, or one List of them all."""
    client = kube.connect()
    found: list[tuple[View, list[Body]]] = []
    for kind in kinds.ALL:
        if kind.platform_only and namespace not in (None, settings.platform_namespace):
            continue
        try:
            items = fetch(
                client, kind, namespace=namespace, platform_namespace=settings.platform_namespace
            )
        except errors.ApiError as error:
            if error.status not in (403, 404):
                raise
            # Not served (its CRD is missing) or not readable by this identity: the others are.
            console.err.print(f"{kind.plural}: skipped ({error.message})", soft_wrap=True)
            continue
        if items:
            found.append((VIEWS[kind.name], sort(items)))
    if output.structured(out):
        output.emit(listing(body for _, items in found for body in items), out)
        return
    if not found:
        console.err.print(
            "no Landlord objects" + (f" in namespace {namespace}" if namespace else "")
        )
    for index, (view, items) in enumerate(found):
        if index:
            console.out.print()
        console.out.print(Text(view.kind.name, style="bold"))
        console.out.print(render(view, items, out == "wide"))


# -- --watch ---------------------------------------------------------------------------------


def _key(body: Body) -> tuple[str, str]:
    return _namespace(body), _name(body)


def _version(body: Body) -> str:
    return str(body["metadata"].get("resourceVersion") or "")


class Watcher:
    """Prints a kind's objects again as they change, until Ctrl-C.

    On a terminal the table is redrawn in place; elsewhere each change is one
    line: a table row (when a cell other than AGE changed) or, with ``-o json``,
    one JSON object ``{"type": ADDED|MODIFIED|DELETED, "object": {...}}`` per line.
    """

    def __init__(
        self,
        client: kube.Kube,
        view: View,
        *,
        name: str | None,
        namespace: str | None,
        platform_namespace: str,
        out: str,
    ) -> None:
        self.client = client
        self.view = view
        self.name = name
        self.namespace = platform_namespace if view.kind.platform_only else namespace
        self.tenant_namespace = namespace if view.kind.cluster_scoped else None
        self.out = out
        self.wide = out == "wide"
        self.live: Live | None = None
        self.state: dict[tuple[str, str], Body] = {}
        self.printed: dict[tuple[str, str], Sequence[str]] = {}
        self.versions: dict[tuple[str, str], str] = {}
        self.header = False
        self.widths: list[int] = []

    def wanted(self, body: Body) -> bool:
        if self.name is not None and _name(body) != self.name:
            return False
        if self.tenant_namespace is not None:
            return self.tenant_namespace in tenant_namespaces(body)
        return True

    def run(self, initial: list[Body]) -> None:
        """Print ``initial`` (the objects as just listed), then every change, until Ctrl-C."""
        stop = threading.Event()
        try:
            if console.out.is_terminal and not output.structured(self.out):
                for body in initial:
                    if self.wanted(body):
                        self.state[_key(body)] = body
                        self.versions[_key(body)] = _version(body)
                with Live(self._renderable(), console=console.out, auto_refresh=False) as live:
                    self.live = live
                    self._watch(stop)
            else:
                self.on_list(initial)
                self._watch(stop)
        except KeyboardInterrupt:
            stop.set()

    def _watch(self, stop: threading.Event) -> None:
        kube_watch.watch_kind(
            self.client,
            api.API_VERSION,
            self.view.kind.name,
            label_selector="",
            on_list=self.on_list,
            on_event=self.on_event,
            stop=stop,
            namespace=None if self.view.kind.cluster_scoped else self.namespace,
        )

    def on_list(self, items: list[Body]) -> None:
        listed = {_key(body): body for body in items if self.wanted(body)}
        for key, body in list(self.state.items()):
            if key not in listed:
                self._changed("DELETED", body)
        for body in listed.values():
            self._changed("ADDED" if _key(body) not in self.state else "MODIFIED", body)

    def on_event(self, event: str, body: Body) -> None:
        if self.wanted(body):
            self._changed(event, body)

    def _changed(self, event: str, body: Body) -> None:
        key = _key(body)
        version = _version(body)
        if event == "DELETED":
            if self.state.pop(key, None) is None:
                return
            self.versions.pop(key, None)
        else:
            if self.versions.get(key) == version:
                return
            self.state[key] = body
            self.versions[key] = version
        if self.live is not None:
            self.live.update(self._renderable(), refresh=True)
        elif output.structured(self.out):
            self._emit(event, body)
        else:
            self._row(event, body)

    def _renderable(self) -> Table | Group:
        if not self.state:
            return Group(Text(f"no {self.view.kind.plural} (watching…)"))
        return render(self.view, self.state.values(), self.wide)

    def _emit(self, event: str, body: Body) -> None:
        document = {"type": event, "object": stripped(body)}
        if self.out == "json":
            click.echo(json.dumps(document, separators=(",", ":"), default=str))
        else:
            click.echo("---\n" + yaml.safe_dump(document, sort_keys=False).rstrip())

    def _row(self, event: str, body: Body) -> None:
        columns = self.view.columns(self.wide)
        cells = self.view.row(body, self.wide)
        if event == "DELETED":
            cells[-1] = "(deleted)"
        compared = [c for column, c in zip(columns, cells, strict=True) if column.header != "AGE"]
        key = _key(body)
        if self.printed.get(key) == compared:
            return
        self.printed[key] = compared
        # Each line is a table of its own: columns at least as wide as any before, so
        # that they line up under the header unless a cell is longer.
        if not self.widths:
            self.widths = [len(column.header) for column in columns]
        self.widths = [
            max(width, len(cell)) for width, cell in zip(self.widths, cells, strict=True)
        ]
        table = output.table(*(column.header for column in columns))
        for column, width in zip(table.columns, self.widths, strict=True):
            column.min_width = width
        table.show_header = not self.header
        self.header = True
        table.add_row(*(Text(cell) for cell in cells))
        console.out.print(table)


# -- click -----------------------------------------------------------------------------------

HELP = {
    "Tenant": "Tenants: readiness, namespaces, the revision their sync applied.",
    "GitRepository": "GitRepositories (sources): readiness and the revision fetched.",
    "HelmRepository": "HelmRepositories: readiness and the index digest.",
    "Kustomization": "Kustomizations: applied revision, target cluster, last drift repair.",
    "HelmRelease": "HelmReleases: chart, current release and its Helm status.",
    "OCIRepository": "OCIRepositories (sources): readiness and the artifact pulled.",
    "ImageRepository": "ImageRepositories: the image scanned, its tag count, the last scan.",
    "ImagePolicy": "ImagePolicies: the latest image each picked.",
    "ImageUpdateAutomation": "ImageUpdateAutomations: the last commit pushed, and when.",
    "Provider": "Providers (where alerts go): type and readiness.",
    "Alert": "Alerts (which events go where): provider and readiness.",
    "Receiver": "Receivers (push webhooks): type and readiness; -o wide adds the path.",
    "Cluster": "Registered clusters: server version, identity, last contact.",
}


def _namespace_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "-A",
        "--all-namespaces",
        is_flag=True,
        help="Every namespace (the default; overrides -n).",
    )(function)
    return click.option(
        "-n",
        "--namespace",
        default=None,
        help="Only this namespace (Tenants: those owning it; Clusters: always the platform "
        "namespace).",
    )(function)


def _kind_command(kind: kinds.Kind) -> click.Command:
    view = VIEWS[kind.name]
    aliases = ", ".join(spelling for spelling in kind.spellings if spelling != kind.plural)
    columns = view.headers()
    wide = [header for header in view.headers(wide=True) if header not in columns]
    help_text = (
        f"{HELP[kind.name]}\n\n"
        f"Columns: {', '.join(columns)}; -o wide adds {', '.join(wide)}.\n\n"
        f"Also spelled: {aliases}. With NAME, that one object (exit 3 when it does not "
        "exist; without -n it is looked for in every namespace); -o json|yaml print the "
        "object itself, and without NAME a `kind: List` of them.\n\n"
        "--watch prints again on every change until Ctrl-C: on a terminal the table is "
        "redrawn; piped, one line per change (-o json: one JSON object per line, "
        '{"type": ADDED|MODIFIED|DELETED, "object": ...}).'
    )

    @click.command(kind.plural, help=help_text, short_help=HELP[kind.name])
    @click.argument("name", required=False)
    @_namespace_options
    @output.output_option
    @click.option(
        "-w", "--watch", is_flag=True, help="Keep printing changes until Ctrl-C (exit 0)."
    )
    @click.pass_obj
    def command(
        settings: Settings,
        name: str | None,
        namespace: str | None,
        all_namespaces: bool,
        output: str,
        watch: bool,
    ) -> None:
        show(
            settings,
            kind,
            name,
            namespace=_effective_namespace(namespace, all_namespaces),
            out=output,
            watch=watch,
        )

    return command


@click.command("all")
@_namespace_options
@output.output_option
@click.pass_obj
def get_all(settings: Settings, namespace: str | None, all_namespaces: bool, output: str) -> None:
    """Every kind: a titled table per kind that has objects (-o json|yaml: one List).

    With -n, the Tenants owning that namespace and, for the platform namespace,
    the Clusters. Kinds this identity may not list (or that are not installed)
    are skipped with a note on stderr.
    """
    show_all(settings, namespace=_effective_namespace(namespace, all_namespaces), out=output)


class _KindGroup(click.Group):
    """``get KIND``: any alias of a kind (``ks``, ``sources``, ``tnt``…) names its command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # `all`, then the kinds in `get all`'s order

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        try:
            kind = kinds.resolve(cmd_name)
        except KeyError:
            return None
        return super().get_command(ctx, kind.plural)


@click.group("get", cls=_KindGroup, subcommand_metavar="KIND [NAME] ...")
def get_group() -> None:
    """List Landlord objects with their readiness: `landlord get KIND [NAME]`, `get all`.

    Every kind shows NAMESPACE (not Tenants and Clusters), NAME, READY, REVISION,
    SUSPENDED, AGE and STATUS (the Ready condition's message), plus its own
    columns; -o wide adds more (URLs, sources, times, observed/current generation).
    Every namespace unless -n. Piped, tables are never cut or wrapped.
    """


get_group.add_command(get_all)
for _each in kinds.ALL:
    get_group.add_command(_kind_command(_each))
