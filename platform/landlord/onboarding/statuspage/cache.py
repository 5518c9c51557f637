"""Landlord's objects as their watches last delivered them, with a change counter.

One watch per kind (Tenants, GitRepositories, HelmRepositories, Kustomizations,
HelmReleases, and tenants' Namespaces for their labels) feeds a dictionary of
bodies, stripped of ``managedFields``. Every change bumps :attr:`version`, and
:meth:`wait_for_change` lets the live-update streams sleep until one happens.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from landlord import api, kube
from landlord.api import labels
from landlord.kube import watch

log = logging.getLogger(__name__)

Body = dict[str, Any]
WATCH_SECONDS = 60  # the server-side timeout of each watch request
STOP_SECONDS = 1.0  # how long stop() waits for the watch threads
# (apiVersion, kind, label selector) of every watch the page needs.
WATCHED: tuple[tuple[str, str, str], ...] = (
    (api.API_VERSION, "Tenant", ""),
    (api.API_VERSION, "GitRepository", ""),
    (api.API_VERSION, "HelmRepository", ""),
    (api.API_VERSION, "Kustomization", ""),
    (api.API_VERSION, "HelmRelease", ""),
    ("v1", "Namespace", labels.TENANT),
)


def key_of(body: Body) -> str:
    """``namespace/name`` (cluster-scoped: ``name``)."""
    metadata = body.get("metadata") or {}
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata.get('name')}" if namespace else str(metadata.get("name"))


def _slim(body: Body) -> Body:
    metadata = body.get("metadata") or {}
    if "managedFields" not in metadata:
        return body
    return {**body, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Every cached body by kind and key, at one :attr:`version`."""

    version: int
    objects: dict[str, dict[str, Body]]
    synced: bool

    def of(self, kind: str) -> list[Body]:
        """The bodies of ``kind``, sorted by key."""
        found = self.objects.get(kind) or {}
        return [found[key] for key in sorted(found)]

    def get(self, kind: str, key: str) -> Body | None:
        return (self.objects.get(kind) or {}).get(key)

    def in_namespace(self, kind: str, namespace: str) -> list[Body]:
        """The bodies of ``kind`` in ``namespace``, sorted by key (indexed once a snapshot)."""
        return self._by_namespace.get((kind, namespace), [])

    @functools.cached_property
    def tenant_of_namespace(self) -> dict[str, str]:
        """Each namespace's tenant, by the ``landlord.dev/tenant`` label (computed once)."""
        found: dict[str, str] = {}
        for body in self.of("Namespace"):
            label = ((body.get("metadata") or {}).get("labels") or {}).get(labels.TENANT)
            if label:
                found[body["metadata"]["name"]] = label
        return found

    @functools.cached_property
    def namespaces_of_tenant(self) -> dict[str, tuple[str, ...]]:
        """Each tenant's labelled namespaces, sorted (computed once)."""
        found: dict[str, list[str]] = {}
        for namespace, tenant in sorted(self.tenant_of_namespace.items()):
            found.setdefault(tenant, []).append(namespace)
        return {tenant: tuple(names) for tenant, names in found.items()}

    @functools.cached_property
    def _by_namespace(self) -> dict[tuple[str, str], list[Body]]:
        index: dict[tuple[str, str], list[Body]] = {}
        for kind, found in self.objects.items():
            for key in sorted(found):
                namespace = (found[key].get("metadata") or {}).get("namespace")
                if namespace:
                    index.setdefault((kind, namespace), []).append(found[key])
        return index


class StatusCache:
    """Watch Landlord's kinds; hand out snapshots; wake waiters on every change."""

    def __init__(self, connect: Callable[[], kube.Kube]) -> None:
        self._connect = connect
        self._objects: dict[str, dict[str, Body]] = {kind: {} for _, kind, _ in WATCHED}
        self._listed: set[str] = set()
        self._version = 0
        self._snapshot: Snapshot | None = None
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        """Start one watch thread per kind (returns at once)."""
        if self._threads:
            return
        self._stop.clear()
        for api_version, kind, selector in WATCHED:
            thread = threading.Thread(
                target=watch.watch_kind,
                args=(self._connect, api_version, kind),
                kwargs={
                    "label_selector": selector,
                    "on_list": lambda items, kind=kind: self.replace(kind, items),
                    "on_event": lambda event, body, kind=kind: self._event(kind, event, body),
                    "stop": self._stop,
                    # A watch blocked in a read sees stop only when the read returns:
                    # a short server-side timeout bounds how long one outlives stop().
                    "timeout": WATCH_SECONDS,
                },
                name=f"statuspage-{kind.lower()}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the watches and wake every waiter; returns within ``STOP_SECONDS``.

        The threads are daemons: one still blocked in a watch read ends by itself
        within ``WATCH_SECONDS``, and a process that exits does not wait for it.
        """
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        deadline = time.monotonic() + STOP_SECONDS
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0))
        self._threads = []

    # -- feeding -----------------------------------------------------------------

    def replace(self, kind: str, items: list[Body]) -> None:
        """Every object of ``kind`` (a watch's list, or a bench's made-up set)."""
        fresh = {key_of(item): _slim(item) for item in items}
        with self._changed:
            self._objects[kind] = fresh
            self._listed.add(kind)
            self._bump()

    def _event(self, kind: str, event: str, body: Body) -> None:
        key = key_of(body)
        with self._changed:
            if event == "DELETED":
                self._objects[kind].pop(key, None)
            else:
                self._objects[kind][key] = _slim(body)
            self._bump()

    def _bump(self) -> None:
        self._version += 1
        self._changed.notify_all()

    # -- reading -----------------------------------------------------------------

    @property
    def version(self) -> int:
        with self._changed:
            return self._version

    def snapshot(self) -> Snapshot:
        """A consistent copy of every kind (the dictionaries, not the bodies, are copied).

        One copy a version: every page and stream reading the same version shares it
        (and its namespace index).
        """
        with self._changed:
            if self._snapshot is None or self._snapshot.version != self._version:
                self._snapshot = Snapshot(
                    version=self._version,
                    objects={kind: dict(found) for kind, found in self._objects.items()},
                    synced=len(self._listed) == len(WATCHED),
                )
            return self._snapshot

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """Block until the version moves past ``seen`` (or ``timeout``, or stop); the version."""
        with self._changed:
            if self._version == seen and not self._stop.is_set():
                self._changed.wait(timeout)
            return self._version
