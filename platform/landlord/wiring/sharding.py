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
        leases: tuple[str, str] | None = None,
    ) -> None:
        """``leases``: (namespace, base name) of the shards' leader-election Leases, when on."""
        self.leases = leases
        # Lease name → (what it said, this process's clock when that was first seen)
        self._leases_seen: dict[str, tuple[tuple[str, str, str], float]] = {}
        self.shard = shard
        self.kube = kube_client
        self.namespaces = namespaces
        self.lease_duration = lease_duration
        self.clock = clock
        self._lock = threading.Lock()
        # Kustomization key → (status.shard, resourceVersion) as last seen
        self._holders: dict[str, tuple[str, str]] = {}
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

    def may_own_key(self, key: str) -> bool:
        """For the event loop (no request): False only when the cache says another shard's."""
        found = self.namespaces.get(key.partition("/")[0])
        return found is None or self.shard.owns(found)

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
                self._remember(key, body)

    def _remember(self, key: str, body: Mapping[str, Any]) -> None:
        holder = str((body.get("status") or {}).get("shard") or "")
        version = str((body.get("metadata") or {}).get("resourceVersion") or "")
        self._holders[key] = (holder, version)

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
        """None: apply ``key`` now (claimed for this shard); an Outcome: wait for its holder.

        Claims are fenced by the Kustomization's resourceVersion: of two shards that
        claim at once, one write fails (409) and that shard looks again.
        """
        with self._lock:
            known = self._holders.get(key)
            claimed = key in self._claimed
            first_wait = key not in self._waiting_since
            since = self._waiting_since.setdefault(key, self.clock())
        if claimed and known is not None and known[0] in ("", self.shard.signature):
            with self._lock:
                self._waiting_since.pop(key, None)
            return None
        if claimed:  # another shard took it (this one was slow to let go): stand back
            with self._lock:
                self._claimed.discard(key)
        if known is None:  # no event yet: read it
            found = self._read(key)
            if found is None:
                return None  # gone: the reconcile says so
            known = found
        holder, version = known
        step = self.shard.handover(holder, self.clock() - since, self.lease_duration)
        if step is shards.Handover.WAIT:
            if first_wait:
                self._leading(holder)  # starts watching its Lease: renewed by the time to take?
            return self._waiting(key, f"shard {holder} still applies it")
        if step is shards.Handover.TAKE and self._leading(holder):
            # Alive (it renews its Lease) but not let go yet, a long reconcile in
            # flight: taking it now would make two shards apply at once.
            return self._waiting(key, f"shard {holder} is alive and still applies it")
        if step is not shards.Handover.PROCEED:
            if step is shards.Handover.TAKE:
                log.warning(
                    "shard %s did not release %s within %.0fs; shard %s takes it",
                    holder,
                    key,
                    self.lease_duration,
                    self.shard.signature,
                )
            if not self._write_holder(key, self.shard.signature, version):
                return self._waiting(key, "another shard changed it at the same moment")
        with self._lock:
            self._claimed.add(key)
            self._waiting_since.pop(key, None)
        return None

    def _leading(self, holder: str) -> bool:
        """Whether some replica of shard ``holder`` holds its Lease now (False: unknown).

        Alive while its Lease keeps changing: renewed within one lease duration of
        this process's monotonic clock, as client-go's leader election observes
        others. The renewTime another replica wrote is never compared with this
        machine's clock — a clock stepped or skewed by a minute would make a live
        shard look dead (two shards applying) or a dead one look alive.
        """
        if self.leases is None:
            return False
        namespace, base = self.leases
        name = shards.Shard("" if holder == shards.DEFAULT else holder).lease(base)
        lease = self.kube.get("coordination.k8s.io/v1", "Lease", name, namespace) or {}
        spec = lease.get("spec") or {}
        if not spec.get("holderIdentity"):
            return False
        said = (
            str(spec.get("holderIdentity")),
            str(spec.get("renewTime") or ""),
            str((lease.get("metadata") or {}).get("resourceVersion") or ""),
        )
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        now = self.clock()
        with self._lock:
            seen = self._leases_seen.get(name)
            if seen is None or seen[0] != said:
                self._leases_seen[name] = (said, now)
                return True  # renewed since the last look (or first seen): alive
            return now - seen[1] < duration

    def _waiting(self, key: str, why: str) -> Outcome:
        return Outcome(
            False,
            HANDOVER,
            f"{why}; shard {self.shard.signature} takes over once it lets go "
            "(at most one lease duration)",
            reconciling=True,
            requeue_after=HANDOVER_POLL,
        )

    def held(self, key: str) -> bool:
        """Whether this process applies ``key`` (it may have just moved away)."""
        with self._lock:
            return key in self._claimed

    def release(self, key: str) -> bool:
        """``key`` is another shard's now: let go of it if this shard held it (True: it did).

        ``status.shard`` is cleared only while it still names this shard (fenced by
        resourceVersion): a shard that took it over meanwhile keeps it.
        """
        with self._lock:
            held = key in self._claimed
            self._claimed.discard(key)
            self._waiting_since.pop(key, None)
        if not held:
            return False
        for _ in range(3):  # a 409: someone wrote meanwhile; look again
            found = self._read(key)
            if found is None or found[0] != self.shard.signature:
                break
            if self._write_holder(key, None, found[1]):
                break
        log.info("shard %s released %s", self.shard.signature, key)
        return True

    def _read(self, key: str) -> tuple[str, str] | None:
        namespace, _, name = key.partition("/")
        body = self.kube.get(api.API_VERSION, KIND, name, namespace)
        if body is None:
            return None
        with self._lock:
            self._remember(key, body)
            return self._holders[key]

    def _write_holder(self, key: str, holder: str | None, version: str) -> bool:
        """Set ``status.shard`` if the object is still at ``version`` (False: it was not)."""
        namespace, _, name = key.partition("/")
        patch: dict[str, Any] = {"status": {"shard": holder}}
        if version:
            patch["metadata"] = {"resourceVersion": version}
        try:
            body = self.kube.merge_patch(api.API_VERSION, KIND, name, patch, namespace, status=True)
        except errors.ApiError as error:
            if error.conflict:
                self._read(key)  # the newer state, for the next look
                return False
            if error.not_found:
                return False
            raise
        with self._lock:
            self._remember(key, body)
        return True


def _key(body: Mapping[str, Any]) -> str:
    metadata = body.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"
