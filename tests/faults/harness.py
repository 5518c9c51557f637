"""The drills' tools: signal things by PID, and check that what converged is whole.

Everything is addressed by the PID the fixture started (never by a process
name): ``os.kill`` for the operator, the control plane's recorded component
records for etcd and the apiserver.

The checker compares three views of one Kustomization — its status (revision
and inventory), the objects on the cluster that carry its owner labels, and the
revision in Git — and two cluster-wide invariants: no object under two
inventories, no namespace claimed by a tenant that does not exist.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import pathlib
import random
import signal
from collections.abc import Iterator
from typing import Any

import yaml

from landlord import api, kube
from landlord.api import conditions, labels

CONFIGMAP = "v1", "ConfigMap"


@dataclasses.dataclass(frozen=True)
class Revision:
    """One revision of a drill's repository: ConfigMaps ``cm-<n>`` with ``data.rev``."""

    value: str
    names: frozenset[str]

    @classmethod
    def of(cls, value: str, indexes: range) -> Revision:
        return cls(value, frozenset(f"cm-{n:04d}" for n in indexes))

    def files(self) -> dict[str, str]:
        documents = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": n},
                "data": {"rev": self.value},
            }
            for n in sorted(self.names)
        ]
        return {"deploy/objects.yaml": yaml.safe_dump_all(documents, sort_keys=False)}


def seeded(name: str) -> tuple[random.Random, int]:
    """A random source for a drill, and its seed (``LANDLORD_DRILL_SEED`` repeats a run)."""
    seed = int(os.environ.get("LANDLORD_DRILL_SEED") or random.SystemRandom().randrange(1 << 30))
    print(f"{name}: LANDLORD_DRILL_SEED={seed}")
    return random.Random(seed), seed  # noqa: S311 - a drill schedule, repeatable by its seed


def kill(pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    """Send ``sig`` to one process (it may have exited already)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def kill_tree(pid: int) -> None:
    """SIGKILL a process and everything it started, as a container's death would.

    The process is stopped first, so it starts nothing new while its children are
    found (``git`` runs in sessions of its own: a process group would miss them).
    """
    kill(pid, signal.SIGSTOP)
    family = [pid, *_descendants(pid)]
    for each in family:
        kill(each)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    """SIGSTOP the process for the block (a slow disk, a stuck peer), SIGCONT after."""
    kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        kill(pid, signal.SIGCONT)


def ready_at(admin: kube.Kube, namespace: str, name: str, sha: str) -> dict[str, Any] | None:
    """The Kustomization's status when it is Ready at ``sha``; None otherwise."""
    body = admin.get(api.API_VERSION, "Kustomization", name, namespace) or {}
    status = body.get("status") or {}
    if status.get("lastAppliedRevision") != f"main@sha1:{sha}":
        return None
    return status if conditions.is_true(status.get("conditions") or [], "Ready") else None


def owned(admin: kube.Kube, namespace: str, name: str) -> dict[str, dict[str, Any]]:
    """The ConfigMaps on the cluster that carry Kustomization ``namespace/name``'s labels."""
    selector = f"{labels.KUSTOMIZATION_NAME}={name},{labels.KUSTOMIZATION_NAMESPACE}={namespace}"
    return {
        item["metadata"]["name"]: item
        for item in admin.list_objects(*CONFIGMAP, namespace=namespace, label_selector=selector)
    }


def problems(admin: kube.Kube, namespace: str, name: str, revision: Revision) -> list[str]:
    """Everything that differs between the revision, the inventory and the cluster."""
    found: list[str] = []
    body = admin.get(api.API_VERSION, "Kustomization", name, namespace) or {}
    entries = ((body.get("status") or {}).get("inventory") or {}).get("entries") or []
    inventory = {e["id"].split("_")[1] for e in entries if e["id"].endswith("__ConfigMap")}
    live = owned(admin, namespace, name)
    if inventory != revision.names:
        found.append(
            f"inventory ≠ revision: {len(inventory - revision.names)} extra, "
            f"{len(revision.names - inventory)} missing"
        )
    extra = set(live) - revision.names
    if extra:
        found.append(f"{len(extra)} objects the revision removed survive: {sorted(extra)[:3]}")
    missing = revision.names - set(live)
    if missing:
        found.append(f"{len(missing)} objects the revision keeps are gone: {sorted(missing)[:3]}")
    stale = [
        n
        for n in revision.names & set(live)
        if (live[n].get("data") or {}).get("rev") != revision.value
    ]
    if stale:
        found.append(f"{len(stale)} objects not at the revision: {sorted(stale)[:3]}")
    return found


def doubly_owned(admin: kube.Kube) -> list[str]:
    """Inventory ids that two Kustomizations both claim."""
    claims: collections.Counter[str] = collections.Counter()
    for ks in admin.list_objects(api.API_VERSION, "Kustomization"):
        inventory = (ks.get("status") or {}).get("inventory") or {}
        for entry in inventory.get("entries") or []:
            claims[f"{inventory.get('cluster', '')}/{entry['id']}"] += 1
    return sorted(key for key, count in claims.items() if count > 1)


def orphan_claims(admin: kube.Kube) -> list[str]:
    """Namespaces (not being deleted) labelled for a tenant that does not exist."""
    tenants = {t["metadata"]["name"] for t in admin.list_objects(api.API_VERSION, "Tenant")}
    return sorted(
        ns["metadata"]["name"]
        for ns in admin.list_objects("v1", "Namespace", label_selector=labels.TENANT)
        if (ns["metadata"].get("labels") or {}).get(labels.TENANT) not in tenants
        and not ns["metadata"].get("deletionTimestamp")
    )
