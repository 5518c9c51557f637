"""``landlord tree kustomization|tenant NAME``: what an object owns, and each object's health.

A Kustomization's tree is its inventory (``status.inventory``): every object it
applied, on its target cluster and on those where objects still wait to be
pruned, each read with a GET as the caller and judged by the sync's own
health rules. Kustomizations and HelmReleases in it expand in turn (a
HelmRelease into the objects of its current Helm release). A Tenant's tree is
what the tenant operator provisioned — its namespaces with the reconciler
account, RBAC, quota and isolation in each, the clusters it is placed on — then
its sources and syncs with their inventories.

Objects on a registered cluster are read through that cluster's registration
(the Cluster and its kubeconfig Secret, as the caller reads them); when it
cannot be used they are shown as not checked, never guessed.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import zlib
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Literal

import click
import yaml
from rich.text import Text
from rich.tree import Tree

from landlord import api, errors, kube
from landlord.api import cluster as cluster_api
from landlord.api import conditions, labels
from landlord.cli import console, get, kinds, output
from landlord.kube import fleet as fleet_mod
from landlord.settings import Settings
from landlord.sync import health
from landlord.sync.inventory import Entry, Inventory
from landlord.tenants import desired

Body = dict[str, Any]
Health = Literal["healthy", "unhealthy", "unknown", "missing", "not-checked"]
LOCAL = cluster_api.LOCAL
# How deep nested Kustomizations and HelmReleases expand (a loop stops at the first repeat).
MAX_DEPTH = 8
# A Helm release record larger than this, unpacked, is not read (it is a Secret a tenant can write).
MAX_RELEASE_BYTES = 32 * 1024 * 1024
HELM_RELEASE_PREFIX = "sh.helm.release.v1."
MARKS: dict[str, tuple[str, str]] = {
    "healthy": ("✔", "green"),
    "unhealthy": ("✗", "red"),
    "unknown": ("…", "yellow"),
    "missing": ("✗", "red"),
    "not-checked": ("?", "dim"),
}


@dataclasses.dataclass
class Node:
    """One object in a tree: where it is, its health, and what it owns."""

    kind: str
    name: str
    namespace: str = ""
    api_version: str = ""
    cluster: str = LOCAL
    health: Health = "healthy"
    message: str = ""
    revision: str = ""
    pending_prune: bool = False
    children: list[Node] = dataclasses.field(default_factory=list)

    @property
    def title(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    def label(self) -> Text:
        """One line: mark, kind and name, cluster, revision, why it is not healthy."""
        mark, style = MARKS[self.health]
        text = Text(f"{mark} ", style=style)
        text.append(self.title, style="bold" if self.children else "")
        if self.cluster != LOCAL:
            text.append(f" [cluster {self.cluster}]", style="cyan")
        if self.revision:
            text.append(f" {self.revision}", style="dim")
        if self.pending_prune:
            text.append(" (waits to be pruned)", style="yellow")
        if self.health == "missing":
            text.append(" — missing", style=style)
        elif self.health == "not-checked":
            text.append(f" (cluster {self.cluster}: not checked", style=style)
            text.append(f": {self.message})" if self.message else ")", style=style)
        elif self.message:
            text.append(f" — {self.message}", style=style)
        return text

    def to_json(self) -> dict[str, Any]:
        """The same tree as nested data (``-o json|yaml``)."""
        return {
            "kind": self.kind,
            "apiVersion": self.api_version,
            "namespace": self.namespace,
            "name": self.name,
            "cluster": self.cluster,
            "health": self.health,
            "message": self.message,
            "revision": self.revision,
            "pendingPrune": self.pending_prune,
            "children": [child.to_json() for child in self.children],
        }

    def walk(self) -> Iterable[Node]:
        """The node itself and every node under it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


def render(node: Node, tree: Tree | None = None) -> Tree:
    """A rich Tree of ``node``."""
    branch = Tree(node.label()) if tree is None else tree.add(node.label())
    for child in node.children:
        render(child, branch)
    return branch


# -- judging one object (pure) ---------------------------------------------------------------


def judge(body: Body | None) -> tuple[Health, str]:
    """An object's health from its body (None: it does not exist)."""
    if body is None:
        return "missing", ""
    group = str(body.get("apiVersion") or "").rpartition("/")[0]
    if group == api.GROUP:
        # Landlord's own kinds: their Ready condition, Unknown before the first reconcile.
        found = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready")
        if found is None:
            return "unknown", "not reconciled yet"
        if found.get("status") == "True":
            if not conditions.at_generation(body):
                return "unknown", "the latest spec is not reconciled yet"
            return "healthy", ""
        return (
            "unhealthy" if found.get("status") == "False" else "unknown",
            str(found.get("message") or found.get("reason") or ""),
        )
    healthy, why = health.check(body)
    return ("healthy", "") if healthy else ("unhealthy", why)


def revision_of(body: Body) -> str:
    """What a source fetched or a sync applied (empty for other kinds)."""
    status = body.get("status") or {}
    return str(
        (status.get("artifact") or {}).get("revision")
        or status.get("lastAppliedRevision")
        or status.get("helmChart")
        or ""
    )


@dataclasses.dataclass(frozen=True)
class Placement:
    """A group of inventory entries: on which cluster, and whether they wait to be pruned."""

    cluster: str  # the registered name ("local": the operator's own cluster)
    identity: str  # the cluster's kube-system uid, as the inventory recorded it
    entries: tuple[Entry, ...]
    pending_prune: bool = False


def placements(body: Body) -> list[Placement]:
    """A Kustomization's inventory, per cluster: its target's entries, then pending prunes."""
    inventory = Inventory.from_status((body.get("status") or {}).get("inventory"))
    if inventory is None:
        return []
    return [
        Placement(
            group.name or (LOCAL if index == 0 else group.cluster),
            group.cluster,
            group.entries,
            pending_prune=index > 0,
        )
        for index, group in enumerate(inventory.groups())
    ]


def release_manifests(secret: Body, *, limit: int = MAX_RELEASE_BYTES) -> list[Body]:
    """The objects of a Helm release record (a ``sh.helm.release.v1.*`` Secret).

    Helm stores the release as base64 of gzipped JSON, inside the Secret's own
    base64; its ``manifest`` is the rendered chart (hooks are kept apart). A
    record that cannot be read gives no objects.
    """
    data = (secret.get("data") or {}).get("release") or ""
    try:
        packed = base64.b64decode(base64.b64decode(data))
        if packed[:2] == b"\x1f\x8b":
            unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
            packed = unpacker.decompress(packed, limit)
            if unpacker.unconsumed_tail:
                return []
        release = json.loads(packed)
        documents = yaml.safe_load_all(str(release.get("manifest") or ""))
        return [
            document
            for document in documents
            if isinstance(document, dict) and document.get("kind") and document.get("metadata")
        ]
    except (binascii.Error, ValueError, TypeError, AttributeError, zlib.error, yaml.YAMLError):
        return []


# -- reading the objects (I/O, as the caller) ------------------------------------------------


class Explorer:
    """Builds trees with a GET per object, as the caller, on each object's cluster."""

    def __init__(self, client: kube.Kube, *, platform_namespace: str) -> None:
        self.client = client
        self.platform_namespace = platform_namespace
        self.fleet = fleet_mod.Fleet(client, platform_namespace=platform_namespace)
        self._clusters: dict[tuple[str, str], kube.Kube | str] = {}

    # -- clusters

    def connection(self, cluster: str, identity: str = "") -> kube.Kube | str:
        """The client for a cluster, or why it cannot be used now."""
        if cluster == LOCAL:
            return self.client
        key = (cluster, identity)
        if key not in self._clusters:
            self._clusters[key] = self._connect(cluster, identity)
        return self._clusters[key]

    def _connect(self, cluster: str, identity: str) -> kube.Kube | str:
        try:
            member = self.fleet.member(cluster)
        except fleet_mod.ClusterError as error:
            return error.message
        except errors.ApiError as error:
            return f"its registration cannot be read: {error.message}"
        if identity and member.identity != identity:
            return f"it answers with identity {member.identity}, the inventory recorded {identity}"
        return member.kube

    # -- objects

    def read(
        self, client: kube.Kube, api_version: str, kind: str, name: str, namespace: str | None
    ) -> tuple[Body | None, str]:
        """(the object or None, why it could not be read)."""
        try:
            found = client.get(api_version, kind, name, namespace or None)
        except errors.ApiError as error:
            if error.not_found:  # the kind itself is not served any more
                return None, ""
            return None, error.message
        if found is not None:
            found.setdefault("apiVersion", api_version)
            found.setdefault("kind", kind)
        return found, ""

    def node(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        *,
        cluster: str = LOCAL,
        identity: str = "",
        pending_prune: bool = False,
        seen: frozenset[tuple[str, str, str, str]] = frozenset(),
    ) -> Node:
        """An object's node, read on its cluster; Kustomizations and HelmReleases expand."""
        made = Node(
            kind, name, namespace, api_version, cluster=cluster, pending_prune=pending_prune
        )
        client = self.connection(cluster, identity)
        if isinstance(client, str):
            made.health, made.message = "not-checked", client
            return made
        body, problem = self.read(client, api_version, kind, name, namespace)
        if problem:
            made.health, made.message = "unknown", f"cannot be read: {problem}"
            return made
        made.health, made.message = judge(body)
        if body is None:
            return made
        made.revision = revision_of(body) if api_version.startswith(api.GROUP + "/") else ""
        key = (cluster, kind, namespace, name)
        if key in seen or len(seen) >= MAX_DEPTH or cluster != LOCAL:
            return made
        if api_version == api.API_VERSION and kind == "Kustomization":
            made.children = self.inventory(body, seen | {key})
        elif api_version == api.API_VERSION and kind == "HelmRelease":
            made.children = self.release(body, seen | {key})
        return made

    def of_body(self, body: Body) -> Node:
        """The tree of an object already read (the root)."""
        metadata = body["metadata"]
        return self.node(
            str(body.get("apiVersion") or api.API_VERSION),
            str(body["kind"]),
            str(metadata["name"]),
            str(metadata.get("namespace") or ""),
        )

    def inventory(self, body: Body, seen: frozenset[tuple[str, str, str, str]]) -> list[Node]:
        """A node per inventory entry, on every cluster the inventory names."""
        return [
            self.node(
                entry.api_version,
                entry.kind,
                entry.name,
                entry.namespace,
                cluster=placement.cluster,
                identity=placement.identity if placement.cluster != LOCAL else "",
                pending_prune=placement.pending_prune,
                seen=seen,
            )
            for placement in placements(body)
            for entry in placement.entries
        ]

    def release(self, body: Body, seen: frozenset[tuple[str, str, str, str]]) -> list[Node]:
        """A node per object of the HelmRelease's current release (read from Helm's record)."""
        history = (body.get("status") or {}).get("history") or []
        if not history:
            return []
        last = history[0]
        storage = str(
            last.get("namespace")
            or (body.get("status") or {}).get("storageNamespace")
            or body["metadata"].get("namespace")
        )
        record, _ = self.read(
            self.client,
            "v1",
            "Secret",
            f"{HELM_RELEASE_PREFIX}{last.get('name')}.v{last.get('version')}",
            storage,
        )
        if record is None:
            return []
        nodes = []
        for manifest in release_manifests(record):
            metadata = manifest["metadata"]
            # A namespaced object without a namespace is in the release's; a cluster-scoped
            # kind ignores the namespace it is read with, and its body says it has none.
            found = self.node(
                str(manifest.get("apiVersion") or "v1"),
                str(manifest["kind"]),
                str(metadata.get("name") or ""),
                str(metadata.get("namespace") or storage),
                seen=seen,
            )
            nodes.append(found)
        return sorted(nodes, key=lambda n: (n.kind, n.namespace, n.name))

    # -- a Tenant

    def tenant(self, body: Body) -> Node:
        """A Tenant: its namespaces and what is provisioned in them, its clusters, its syncs."""
        name = str(body["metadata"]["name"])
        root = Node("Tenant", name, api_version=api.API_VERSION, revision=revision_of(body))
        root.health, root.message = judge(body)
        status = body.get("status") or {}
        namespaces = list(
            status.get("namespaces") or (body.get("spec") or {}).get("namespaces") or [name]
        )
        selector = f"{labels.TENANT}={name}"
        syncs: list[Body] = []
        for namespace in namespaces:
            place = self.node("v1", "Namespace", namespace)
            provisioned: list[Body] = []
            for api_version, kind in desired.MANAGED_KINDS:
                if kind == "Namespace":
                    continue
                try:
                    items = self.client.list_objects(
                        api_version, kind, namespace=namespace, label_selector=selector
                    )
                except errors.ApiError as error:
                    if error.not_found:
                        continue  # a kind not served here: nothing of it to show
                    raise
                for item in items:
                    item.setdefault("apiVersion", api_version)
                    item.setdefault("kind", kind)
                    (syncs if kind in desired.SYNC_KINDS else provisioned).append(item)
            place.children = [self._listed(item) for item in provisioned]
            root.children.append(place)
        for placed in status.get("clusters") or []:
            if placed.get("name") in (None, LOCAL):
                continue
            root.children.append(
                Node(
                    cluster_api.KIND,
                    str(placed["name"]),
                    self.platform_namespace,
                    api.API_VERSION,
                    health="healthy" if placed.get("ready") else "unhealthy",
                    message=str(placed.get("message") or ""),
                )
            )
        order = {kind: index for index, kind in enumerate(desired.SYNC_KINDS)}
        for sync in sorted(syncs, key=lambda item: (order[item["kind"]], item["metadata"]["name"])):
            root.children.append(self.of_body(sync))
        return root

    def _listed(self, body: Body) -> Node:
        metadata = body["metadata"]
        made = Node(
            str(body["kind"]),
            str(metadata["name"]),
            str(metadata.get("namespace") or ""),
            str(body["apiVersion"]),
        )
        made.health, made.message = judge(body)
        return made


# -- the commands ----------------------------------------------------------------------------


def _show(root: Node, out: str) -> None:
    if output.structured(out):
        output.emit(root.to_json(), out)
    else:
        console.out.print(render(root))


def _tree_output(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(("tree", "json", "yaml")),
        default="tree",
        show_default=True,
        help="tree, or json/yaml: the same tree as nested data "
        "(kind, apiVersion, namespace, name, cluster, health, message, revision, "
        "pendingPrune, children).",
    )(function)


class _AliasGroup(click.Group):
    """``tree ks NAME`` and ``tree tnt NAME`` too."""

    ALIASES: ClassVar[dict[str, str]] = {
        "ks": "kustomization",
        "kustomizations": "kustomization",
        "tnt": "tenant",
        "tenants": "tenant",
    }

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = cmd_name.lower()
        return super().get_command(ctx, self.ALIASES.get(name, name))


@click.group("tree", cls=_AliasGroup)
def tree_group() -> None:
    """What an object owns, with each object's health: `landlord tree kustomization|tenant NAME`.

    Marks: ✔ healthy (Ready, or for workloads their replicas available; other kinds:
    it exists), ✗ not healthy or missing, … not reconciled yet or unreadable, ?
    not checked (its cluster cannot be reached through its registration). Exit 0
    whatever the health; 3 when NAME does not exist.
    """


@tree_group.command("kustomization")
@click.argument("name")
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="The Kustomization's namespace [default: look in every namespace].",
)
@_tree_output
@click.pass_obj
def tree_kustomization(settings: Settings, name: str, namespace: str | None, output: str) -> None:
    """A Kustomization's inventory: each object it applied, on every cluster, with its health.

    Objects that wait to be pruned from a cluster the Kustomization no longer
    targets are listed too. Nested Kustomizations and HelmReleases expand (a
    HelmRelease into the objects of its current release). Also spelled `ks`.
    """
    client = kube.connect()
    body = get.one(
        client,
        kinds.BY_NAME["Kustomization"],
        name,
        namespace=namespace,
        platform_namespace=settings.platform_namespace,
    )
    explorer = Explorer(client, platform_namespace=settings.platform_namespace)
    _show(explorer.of_body(body), output)


@tree_group.command("tenant")
@click.argument("name")
@_tree_output
@click.pass_obj
def tree_tenant(settings: Settings, name: str, output: str) -> None:
    """A Tenant: what the operator provisioned for it, then its syncs' inventories.

    Its namespaces with what is provisioned in each (the reconciler account,
    RoleBindings, quota, limits, isolation), the registered clusters it is placed
    on, and its sources and syncs, Kustomizations expanded into their
    inventories. Also spelled `tnt`.
    """
    client = kube.connect()
    body = get.one(client, kinds.BY_NAME["Tenant"], name, namespace=None, platform_namespace="")
    explorer = Explorer(client, platform_namespace=settings.platform_namespace)
    _show(explorer.tenant(body), output)
