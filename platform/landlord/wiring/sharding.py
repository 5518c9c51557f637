"""The operator's shard: which Tenants, sources and syncs are its own, and handing them over.

The rules are :mod:`landlord.runtime.shards`'; this adds what they need from
the cluster: namespace labels (the watch's cache, else one GET), each
Kustomization's ``status.shard`` as the watch last delivered it, and the status
patches that claim and release a Kustomization.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from landlord import api, errors, kube
from landlord.runtime import shards
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome

log = logging.getLogger(__name__)

KIND = "Kustomization"
# How often a shard waiting for another to release a Kustomization looks again.
HANDOVER_POLL = 0.5
HANDOVER = "ShardHandover"


class ShardRouter:
    """What this operator's shard owns, and the handover of Kustomizations between shards."""

    def __init__(
        self,
        shard: shards.Shard,
        kube_client: kube.Kube,
        namespaces: NamespaceLabels,
        *,
        lease_duration: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shard = shard
        self.kube = kube_client
        self.namespaces = namespaces
        self.lease_duration = lease_duration
        self.clock = clock
        self._lock = threading.Lock()
        self._holders: dict[str, str] = {}  # Kustomization key → status.shard last seen
        # namespace → (kind, key) of its GitRepositories and Kustomizations
        self._by_namespace: dict[str, set[tuple[str, str]]] = {}
        self._claimed: set[str] = set()  # keys this process applies
        self._waiting_since: dict[str, float] = {}  # keys held by another shard: since when

    # -- ownership ---------------------------------------------------------------

    def owns_tenant(self, tenant_labels: Mapping[str, str] | None) -> bool:
        return self.shard.owns(tenant_labels)

    def owns_namespace(self, namespace: str) -> bool:
        """Whether what lives in ``namespace`` is this shard's (its label, as the watch saw it)."""
        found = self.namespaces.get(namespace)
        if found is None:  # not seen yet (start-up): ask, do not guess
            body = self.kube.get("v1", "Namespace", namespace)
            found = ((body or {}).get("metadata") or {}).get("labels") or {}
        return self.shard.owns(found)

    def owns_key(self, key: str) -> bool:
        return self.owns_namespace(key.partition("/")[0])

    # -- what the watches say ----------------------------------------------------

    def seen(self, body: Mapping[str, Any], *, deleted: bool) -> None:
        """A GitRepository or Kustomization event: index it, note a Kustomization's holder."""
        metadata = body.get("metadata") or {}
        namespace, key, kind = metadata.get("namespace") or "", _key(body), body.get("kind", "")
        with self._lock:
            if deleted:
                self._by_namespace.get(namespace, set()).discard((kind, key))
                if kind == KIND:
                    self._holders.pop(key, None)
                    self._claimed.discard(key)
                    self._waiting_since.pop(key, None)
                return
            self._by_namespace.setdefault(namespace, set()).add((kind, key))
            if kind == KIND:
                self._holders[key] = str((body.get("status") or {}).get("shard") or "")

    def moved(self, namespace: str, before: Mapping[str, str] | None) -> list[tuple[str, str]]:
        """(kind, key) of what lives in ``namespace`` when its shard changed (else nothing)."""
        if before is None:
            return []  # first sighting: each object's own event brought it
        if self.shard.owns(before) == self.shard.owns(self.namespaces.get(namespace)):
            return []
        with self._lock:
            return sorted(self._by_namespace.get(namespace, ()))

    # -- handover ----------------------------------------------------------------

    def admit(self, key: str) -> Outcome | None:
        """None: apply ``key`` now (claimed for this shard); an Outcome: wait for its holder."""
        with self._lock:
            if key in self._claimed:
                return None
            holder = self._holders.get(key)
            since = self._waiting_since.setdefault(key, self.clock())
        if holder is None:  # no event yet: read it
            body = self.kube.get(api.API_VERSION, KIND, *reversed(key.split("/", 1)))
            if body is None:
                return None  # gone: the reconcile says so
            holder = str((body.get("status") or {}).get("shard") or "")
        step = self.shard.handover(holder, self.clock() - since, self.lease_duration)
        if step is shards.Handover.WAIT:
            return Outcome(
                False,
                HANDOVER,
                f"shard {holder} still applies it; shard {self.shard.signature} takes over "
                "once it lets go (at most one lease duration)",
                reconciling=True,
                requeue_after=HANDOVER_POLL,
            )
        if step is not shards.Handover.PROCEED:
            if step is shards.Handover.TAKE:
                log.warning(
                    "shard %s did not release %s within %.0fs; shard %s takes it",
                    holder,
                    key,
                    self.lease_duration,
                    self.shard.signature,
                )
            if not self._write_holder(key, self.shard.signature):
                return None
        with self._lock:
            self._claimed.add(key)
            self._waiting_since.pop(key, None)
        return None

    def held(self, key: str) -> bool:
        """Whether this process applies ``key`` (it may have just moved away)."""
        with self._lock:
            return key in self._claimed

    def release(self, key: str) -> bool:
        """``key`` is another shard's now: let go of it if this shard held it (True: it did)."""
        with self._lock:
            held = key in self._claimed
            self._claimed.discard(key)
            self._waiting_since.pop(key, None)
        if held:
            self._write_holder(key, None)
            log.info("shard %s released %s", self.shard.signature, key)
        return held

    def _write_holder(self, key: str, holder: str | None) -> bool:
        namespace, _, name = key.partition("/")
        try:
            self.kube.merge_patch(
                api.API_VERSION, KIND, name, {"status": {"shard": holder}}, namespace, status=True
            )
        except errors.ApiError as error:
            if error.not_found:
                return False
            raise
        with self._lock:
            self._holders[key] = holder or ""
        return True


def _key(body: Mapping[str, Any]) -> str:
    metadata = body.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"
