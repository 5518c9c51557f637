"""Entries on clusters a Kustomization no longer targets: pruned there, through that cluster.

An inventory records the identity (kube-system uid) and registered name of the
cluster each entry was applied on. When the target moves from A to B, A's
entries are pruned through A's own connection, impersonating the tenant's
service account there, after B's apply. They stay recorded (``pending``) while
A cannot be reached, or while A's name answers with another identity (a
re-pointed registration: the same ids there name other objects); they are let
go only when A is no longer registered (the platform removed it, with
``deletionPolicy: Orphan`` when anything was still recorded there) or when the
tenant's namespace there is gone with everything in it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
from typing import Any

from landlord import errors
from landlord.api import reasons
from landlord.api.kustomization import KustomizationSpec
from landlord.kube import Kube, events
from landlord.kube.fleet import LOCAL, ClusterError, Member
from landlord.sync.failure import SyncError
from landlord.sync.inventory import Inventory
from landlord.sync.result import Result
from landlord.sync.steps import prune
from landlord.sync.steps.identity import Identity

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Unusable:
    """Why a recorded cluster cannot be pruned through now; ``orphan``: let its entries go."""

    message: str
    orphan: bool = False


class Leftovers:
    """Prunes what an inventory recorded on other clusters, each through its own."""

    def __init__(
        self,
        kube: Kube,
        *,
        identity: Identity,
        executor: concurrent.futures.Executor,
        in_flight: int,
    ) -> None:
        self.kube = kube
        self.identity = identity
        self.executor = executor
        self.in_flight = in_flight

    def reach(self, group: Inventory) -> Member | Unusable:
        """The cluster ``group`` was recorded on, if it can be pruned through now."""
        fleet = self.identity.fleet
        name = group.name
        if not name:  # recorded before clusters had names: only the local one can be meant
            if group.cluster in (fleet.local_identity(), LOCAL):
                name = LOCAL
            else:
                return Unusable(f"cluster {group.cluster} is not known by name", orphan=True)
        try:
            member = fleet.member(name)
        except ClusterError as error:
            if error.reason == reasons.CLUSTER_NOT_FOUND:
                return Unusable(f"cluster {name} is no longer registered", orphan=True)
            # The details (addresses, Secret names) are on the Cluster, not for tenants.
            log.info("cluster %s cannot be pruned through: %s", name, error.message)
            return Unusable(f"cluster {name} cannot be used now ({error.reason})")
        if group.cluster not in (member.identity, LOCAL, ""):
            return Unusable(
                f"cluster {name} now answers with identity {member.identity}, but the objects "
                f"were recorded on {group.cluster}: never pruned through another cluster (to "
                f"let them go, delete Cluster {name} with deletionPolicy Orphan)"
            )
        return member

    def client(self, namespace: str, account: str | None, member: Member) -> Kube | Unusable | None:
        """The tenant's client there; None when its namespace there is gone (nothing left)."""
        try:
            return self.identity.client(namespace, account, member)
        except SyncError as error:
            missing = error.reason == reasons.SERVICE_ACCOUNT_NOT_FOUND and not member.local
            if missing and _going(member, namespace):
                return None
            return Unusable(f"cluster {member.name}: {error.message}")

    def surviving(self, member: Member, group: Inventory) -> Inventory | None:
        """What of ``group`` may still be there: its entries whose namespace still exists.

        Those whose namespace is gone (or terminating) go with it; a cluster-scoped
        entry, or one in a namespace that cannot be read, is kept (never forgotten unpruned).
        """
        namespaces = {entry.namespace for entry in group.entries if entry.namespace}
        present = {namespace: not _going(member, namespace) for namespace in namespaces}
        left = tuple(e for e in group.entries if not e.namespace or present[e.namespace])
        return dataclasses.replace(group, entries=left) if left else None

    def prune(
        self,
        body: dict[str, Any],
        spec: KustomizationSpec,
        groups: list[Inventory],
        result: Result,
        target: Inventory | None = None,
    ) -> tuple[list[Inventory], list[str]]:
        """Prune each group through its cluster: (groups still pending, why each waits).

        A group that turns out to be on ``target``'s cluster after all (recorded
        under another identity string, or under the same name) loses only what
        ``target`` no longer has: nothing just applied is ever pruned.
        """
        metadata = body["metadata"]
        namespace = metadata["namespace"]
        owner = prune.owner_labels(metadata["name"], namespace)
        pending: list[Inventory] = []
        blocked: list[str] = []
        for group in groups:
            where = group.name or group.cluster
            reached = self.reach(group)
            client: Kube | Unusable | None = reached if isinstance(reached, Unusable) else None
            if isinstance(reached, Member) and target is not None and _same(reached, target):
                keep = {entry.id for entry in target.entries}
                group = dataclasses.replace(
                    group, entries=tuple(e for e in group.entries if e.id not in keep)
                )
                if not group.entries:
                    continue
            if isinstance(reached, Member):
                client = self.client(namespace, spec.service_account_name, reached)
                if client is None:  # the account's namespace is gone there, with what it held
                    left = self.surviving(reached, group)
                    if left is not None:
                        pending.append(left)
                        blocked.append(
                            f"{len(left.entries)} object(s) on cluster {where} wait to be pruned: "
                            f"the service account's namespace {namespace} is gone there"
                        )
                    continue
            if isinstance(client, Unusable):
                if client.orphan:
                    self.orphaned(body, group, client.message)
                    continue
                pending.append(group)
                blocked.append(
                    f"{len(group.entries)} object(s) on cluster {where} wait to be pruned: "
                    f"{client.message}"
                )
                continue
            assert client is not None
            pruned, kept = prune.prune(
                self.executor, client, group.entries, owner, in_flight=self.in_flight
            )
            result.pruned = [*result.pruned, *pruned]
            if kept:
                pending.append(dataclasses.replace(group, entries=tuple(kept)))
                blocked.append(
                    f"could not delete {len(kept)} object(s) on cluster {where}: "
                    + ", ".join(map(str, kept[:5]))
                )
        return pending, blocked

    def orphaned(self, body: dict[str, Any], group: Inventory, why: str) -> None:
        """Let a group's entries go, saying so once (they leave the inventory)."""
        listed = ", ".join(str(entry) for entry in group.entries[:5])
        more = f" (and {len(group.entries) - 5} more)" if len(group.entries) > 5 else ""
        events.record(
            self.kube,
            body,
            reason=reasons.ORPHANED,
            message=f"{why}: {len(group.entries)} object(s) recorded there are left as they "
            f"are and no longer recorded: {listed}{more}",
            warning=True,
        )


def _going(member: Member, namespace: str) -> bool:
    """Whether ``namespace`` is gone or terminating there (everything in it goes with it)."""
    try:
        found = member.kube.get("v1", "Namespace", namespace)
    except errors.ApiError:
        return False  # cannot tell: not gone
    return found is None or bool((found.get("metadata") or {}).get("deletionTimestamp"))


def _same(member: Member, target: Inventory) -> bool:
    """Whether ``member`` is the cluster ``target`` was just applied on."""
    return member.identity == target.cluster or (bool(target.name) and member.name == target.name)
