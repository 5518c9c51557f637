"""The identity step: the client every tenant-object request goes through, on its cluster.

On the operator's own cluster a sync impersonates its service account (only the
platform namespace's sync without one runs as the operator). On a registered
cluster it impersonates the service account of the same name there, through
the registry credential's connection — never as that credential, and never on
another cluster instead.
"""

from __future__ import annotations

import collections
import threading

from landlord import errors
from landlord.api import labels, reasons
from landlord.kube import Kube
from landlord.kube.fleet import LOCAL, ClusterError, Fleet, Member
from landlord.runtime.tenantview import TenantView
from landlord.sync.failure import SyncError

# Impersonating clients kept for reuse; the least recently used goes first.
CAPACITY = 256


class Identity:
    """Impersonating clients per cluster and service account, at most ``capacity`` kept."""

    def __init__(
        self,
        kube: Kube,
        *,
        platform_namespace: str,
        fleet: Fleet | None = None,
        capacity: int = CAPACITY,
        tenant_view: TenantView | None = None,
    ) -> None:
        self.kube = kube
        # The accounts the operator made, as its watch saw them: no GET per reconcile.
        self.tenant_view = tenant_view
        self.fleet = fleet or Fleet(kube, platform_namespace=platform_namespace)
        self.platform_namespace = platform_namespace
        self.capacity = capacity
        self._clients: collections.OrderedDict[tuple[str, int, str], Kube] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def target(self, name: str) -> Member:
        """The connection to cluster ``name``; a SyncError (retried) when it cannot be used."""
        try:
            return self.fleet.member(name)
        except ClusterError as error:
            # The details (addresses, Secret names) are the platform's: on the Cluster.
            where = (
                "the operator's log says why"
                if name == LOCAL
                else "the Cluster's status in the platform namespace says why"
            )
            raise SyncError(
                error.reason,
                f"cluster {name} cannot be used now ({error.reason}; {where}); nothing was applied",
            ) from None

    def client(
        self, namespace: str, service_account: str | None, member: Member | None = None
    ) -> Kube:
        """The client for a Kustomization in ``namespace`` running as ``service_account``.

        Only the platform namespace's sync without a service account, on the
        operator's own cluster, runs with the operator's own identity; every
        other one impersonates its account, which must exist on the target
        cluster (ServiceAccountNotFound otherwise).
        """
        local = member is None or member.local
        connection = self.kube if member is None else member.kube
        name = LOCAL if member is None else member.name
        if local and namespace == self.platform_namespace and not service_account:
            return self.kube  # the platform sync: the one privileged path
        account = service_account or labels.RECONCILER_SERVICE_ACCOUNT
        where = "" if local else f" on cluster {name}"
        try:
            view = self.tenant_view if local else None
            if view is not None and view.has_account(namespace, account):
                found: dict[str, object] | None = {"metadata": {"name": account}}
            else:
                found = connection.get("v1", "ServiceAccount", account, namespace)
        except errors.ApiError as error:
            if local:
                raise
            raise SyncError(
                reasons.CLUSTER_UNREACHABLE,
                f"cluster {name} did not answer (HTTP {error.status}); nothing was applied",
            ) from None
        if found is None:
            raise SyncError(
                reasons.SERVICE_ACCOUNT_NOT_FOUND,
                f"service account {namespace}/{account} does not exist{where}; the sync "
                "runs only as that account",
            )
        place = (name, id(connection), f"{namespace}/{account}")
        with self._lock:
            client = self._clients.get(place)
            if client is not None:
                self._clients.move_to_end(place)
                return client
        client = connection.as_service_account(namespace, account)
        with self._lock:
            self._clients[place] = client
            self._clients.move_to_end(place)
            while len(self._clients) > self.capacity:
                self._clients.popitem(last=False)
        return client

    def cluster_id(self) -> str:
        """The operator's own cluster's identity: the uid of its kube-system namespace."""
        return self.fleet.local_identity()

    def __len__(self) -> int:
        with self._lock:
            return len(self._clients)
