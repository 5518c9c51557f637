"""On the operator's own cluster: a list-then-watch per kind a Tenant owns, feeding the index.

Each change to something carrying ``landlord.dev/tenant`` wakes that Tenant (its
reconcile repairs drift) and updates the :class:`LiveIndex` the reconcile reads
instead of listing eight kinds each time. A (re)list wakes only the tenants whose
objects changed meanwhile; a broken watch takes its kind out of the index until
it has listed again (``landlord.kube.watch`` relists with a backoff).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from landlord import kube
from landlord.api import labels
from landlord.kube import watch
from landlord.tenants.liveindex import Kind, LiveIndex

log = logging.getLogger(__name__)


class LocalTenantWatches:
    """One watch thread per kind of ``index``; wakes go to ``on_owned(tenant)``."""

    def __init__(
        self, kube_client: kube.Kube, index: LiveIndex, on_owned: Callable[[str], None]
    ) -> None:
        self.kube = kube_client
        self.index = index
        self.on_owned = on_owned
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for kind in self.index.kinds:
            thread = threading.Thread(
                target=self._watch, args=(kind,), name=f"tenant-{kind[1]}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _wake(self, tenants: Iterable[str]) -> None:
        for tenant in tenants:
            self.on_owned(tenant)

    def _watch(self, kind: Kind) -> None:
        watch.watch_kind(
            self.kube,
            kind[0],
            kind[1],
            label_selector=labels.TENANT,
            on_list=lambda items: self._wake(self.index.listed(kind, items)),
            on_event=lambda event, obj: self._wake(self.index.observe(event, obj)),
            on_broken=lambda: self.index.unsynced(kind),
            stop=self._stop,
        )

    def stop(self) -> None:
        self._stop.set()
