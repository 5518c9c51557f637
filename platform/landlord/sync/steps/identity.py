"""The identity step: the client every tenant-object request goes through, and the cluster's."""

from __future__ import annotations

import collections
import threading

from landlord.api import labels, reasons
from landlord.kube import Kube
from landlord.sync.failure import SyncError

# Impersonating clients kept for reuse; the least recently used goes first.
CAPACITY = 256


class Identity:
    """Impersonating clients per service account, at most ``capacity`` of them kept."""

    def __init__(
        self,
        kube: Kube,
        *,
        platform_namespace: str,
        cluster: str = "local",
        capacity: int = CAPACITY,
    ) -> None:
        self.kube = kube
        self.cluster = cluster
        self.platform_namespace = platform_namespace
        self.capacity = capacity
        self._clients: collections.OrderedDict[str, Kube] = collections.OrderedDict()
        self._lock = threading.Lock()

    def client(self, namespace: str, service_account: str | None) -> Kube:
        """The client for a Kustomization in ``namespace`` running as ``service_account``.

        Only the platform namespace's sync without a service account runs with
        the operator's own identity; every other one impersonates its account,
        which must exist (ServiceAccountNotFound otherwise).
        """
        if namespace == self.platform_namespace and not service_account:
            return self.kube  # the platform sync: the one privileged path
        account = service_account or labels.RECONCILER_SERVICE_ACCOUNT
        if self.kube.get("v1", "ServiceAccount", account, namespace) is None:
            raise SyncError(
                reasons.SERVICE_ACCOUNT_NOT_FOUND,
                f"service account {namespace}/{account} does not exist; the sync "
                "runs only as that account",
            )
        user = f"{namespace}/{account}"
        with self._lock:
            client = self._clients.get(user)
            if client is not None:
                self._clients.move_to_end(user)
                return client
        client = self.kube.as_service_account(namespace, account)
        with self._lock:
            self._clients[user] = client
            self._clients.move_to_end(user)
            while len(self._clients) > self.capacity:
                self._clients.popitem(last=False)
        return client

    def cluster_id(self) -> str:
        """The target cluster's identity: the uid of its kube-system namespace."""
        if self.cluster == "local":
            system = self.kube.get("v1", "Namespace", "kube-system") or {}
            self.cluster = (system.get("metadata") or {}).get("uid") or "local"
        return self.cluster

    def __len__(self) -> int:
        with self._lock:
            return len(self._clients)
