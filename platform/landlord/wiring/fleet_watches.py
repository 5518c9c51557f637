"""On every registered cluster in use: a watch per kind a Tenant owns there.

A change to something carrying ``landlord.dev/tenant`` on a registered cluster
wakes that Tenant, whose reconcile repairs it there (as the local watches do
for the operator's own cluster). A cluster is watched once the fleet holds a
connection to it (a Tenant or a sync used it); one that cannot be reached is
retried with a backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from landlord.api import labels
from landlord.kube import watch
from landlord.kube.fleet import Fleet
from landlord.tenants import desired

log = logging.getLogger(__name__)

# What a Tenant has on a registered cluster (its sources and syncs stay home).
KINDS: tuple[tuple[str, str], ...] = tuple(
    kind for kind in desired.MANAGED_KINDS if kind[1] not in desired.SYNC_KINDS
)


class TenantWatches:
    """Watch threads per (cluster, kind); each wakes the Tenant whose object changed."""

    def __init__(
        self,
        fleet: Fleet,
        on_owned: Callable[[str], None],
        *,
        belongs: Callable[[str, str], bool] = lambda tenant, namespace: True,
    ) -> None:
        self.fleet = fleet
        self.on_owned = on_owned
        # Whether a namespace is the tenant's (its namespaces have the same names on
        # every cluster): an object labelled for a tenant elsewhere wakes no one.
        self.belongs = belongs
        self._stop = threading.Event()
        self._started: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def ensure(self, clusters: set[str]) -> None:
        """Start the watches of every cluster in ``clusters`` not watched yet."""
        with self._lock:
            for cluster in sorted(clusters):
                if (cluster, *KINDS[0]) in self._started or self._stop.is_set():
                    continue
                for api_version, kind in KINDS:
                    place = (cluster, api_version, kind)
                    self._started.add(place)
                    threading.Thread(
                        target=self._watch,
                        args=place,
                        name=f"tenant-{kind}@{cluster}",
                        daemon=True,
                    ).start()
                log.info("watching tenants' objects on cluster %s", cluster)

    def _watch(self, cluster: str, api_version: str, kind: str) -> None:
        def owned(obj: dict[str, Any]) -> None:
            metadata = obj.get("metadata") or {}
            tenant = (metadata.get("labels") or {}).get(labels.TENANT)
            where = metadata.get("namespace") or metadata.get("name") or ""
            if tenant and self.belongs(tenant, where):
                self.on_owned(tenant)

        watch.watch_kind(
            self.fleet.connection(cluster),  # again at every relist: a new credential counts
            api_version,
            kind,
            label_selector=labels.TENANT,
            on_list=lambda items: None,  # a (re)list: the Tenants' own reconciles converge
            on_event=lambda _event, obj: owned(obj),
            stop=self._stop,
        )

    def stop(self) -> None:
        self._stop.set()
