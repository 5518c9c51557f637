"""The apply step: read what is live, dry-run everything that changes, then apply in stages.

Every request runs as the tenant on the reconciler's one shared executor (its
tasks never submit tasks of their own, so a full executor cannot deadlock), at
most ``in_flight`` of one reconcile's at a time (:func:`bounded_map`), so a
large revision does not hold every other tenant's sync behind it; paced by a
token bucket per reconcile, which only ever blocks that reconcile's own slots.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

from landlord import errors, telemetry
from landlord.api import labels, reasons
from landlord.gitops.objects import contains
from landlord.kube import Kube
from landlord.runtime.fanout import bounded_map
from landlord.runtime.ratelimit import TokenBucket
from landlord.sync.failure import SyncError
from landlord.sync.inventory import Entry

# From this many objects of one kind in one namespace on, read them with a LIST.
LIST_THRESHOLD = 8
# Apply stages: CRDs and Namespaces, then identities and RBAC, then everything else.
STAGES: tuple[frozenset[str], ...] = (
    frozenset({"CustomResourceDefinition", "Namespace"}),
    frozenset({"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}),
)


def stage_of(manifest: dict[str, Any]) -> int:
    """The apply stage of a manifest (0 first)."""
    for index, kinds in enumerate(STAGES):
        if manifest["kind"] in kinds:
            return index
    return len(STAGES)


def disabled(obj: dict[str, Any]) -> bool:
    """``landlord.dev/reconcile: disabled``: an existing object Landlord leaves as it is."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations.get(labels.RECONCILE) == "disabled"


def changed(
    manifests: list[dict[str, Any]], lives: list[dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """The manifests whose live object is absent or does not hold them (and not opted out)."""
    return [
        m
        for m, live in zip(manifests, lives, strict=True)
        if live is None or not (contains(live, m) or disabled(live) or disabled(m))
    ]


def _immutable(error: errors.ApiError) -> bool:
    return error.invalid and "immutable" in error.message


def _listed_more(failures: list[str]) -> str:
    return "; ".join(failures[:5]) + (
        f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
    )


class Applier:
    """Applies one revision's manifests as the tenant."""

    def __init__(
        self,
        executor: concurrent.futures.Executor,
        *,
        write_rate: float,
        write_burst: int,
        in_flight: int,
    ) -> None:
        self.executor = executor
        self.write_rate = write_rate
        self.write_burst = write_burst
        self.in_flight = in_flight  # this reconcile's tasks in the shared executor at most

    def apply(self, tenant: Kube, manifests: list[dict[str, Any]], force: bool) -> list[Entry]:
        """The entries that changed; ApplyFailed when a dry-run or an apply is refused."""
        bucket = TokenBucket(self.write_rate, self.write_burst)
        trace = telemetry.traceparent()  # worker threads do not inherit the current span
        todo = changed(manifests, self.lives(tenant, manifests))
        # Everything that would change is dry-run first: one refusal applies nothing.
        dry_runs = bounded_map(
            self.executor, lambda m: self._dry_run(tenant, m, bucket), todo, self.in_flight
        )
        failures = [f for f in dry_runs if f]
        if failures:
            raise SyncError(reasons.APPLY_FAILED, _listed_more(failures))
        for stage in sorted({stage_of(m) for m in todo}):
            batch = [m for m in todo if stage_of(m) == stage]
            writes = bounded_map(
                self.executor,
                lambda m: self._write(tenant, m, force, bucket, trace),
                batch,
                self.in_flight,
            )
            problems = [p for p in writes if p]
            if problems:
                raise SyncError(reasons.APPLY_FAILED, "; ".join(problems[:5]))
        return [Entry.of(m) for m in todo]

    def lives(self, tenant: Kube, manifests: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """The live object of each manifest (None: absent), as the tenant.

        Many objects of one kind in one namespace are read with one LIST rather
        than a GET each; where the tenant may not list, each is read with a GET.
        """
        groups: dict[tuple[str, str, str | None], list[int]] = {}
        for index, manifest in enumerate(manifests):
            place = (
                manifest["apiVersion"],
                manifest["kind"],
                manifest["metadata"].get("namespace"),
            )
            groups.setdefault(place, []).append(index)
        lives: list[dict[str, Any] | None] = [None] * len(manifests)
        single: list[int] = []
        for (api_version, kind, namespace), indexes in groups.items():
            if len(indexes) < LIST_THRESHOLD:
                single.extend(indexes)
                continue
            try:
                listed = tenant.list_objects(api_version, kind, namespace=namespace)
            except errors.ApiError:
                single.extend(indexes)
                continue
            by_name = {item["metadata"]["name"]: item for item in listed}
            for index in indexes:
                lives[index] = by_name.get(manifests[index]["metadata"]["name"])
        reads = bounded_map(
            self.executor, lambda i: _live(tenant, manifests[i]), single, self.in_flight
        )
        for index, live in zip(single, reads, strict=True):
            lives[index] = live
        return lives

    def _dry_run(self, tenant: Kube, manifest: dict[str, Any], bucket: TokenBucket) -> str | None:
        bucket.take()
        try:
            tenant.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True, dry_run=True)
        except errors.ApiError as error:
            if _immutable(error):
                return None  # handled at apply time (recreate with force)
            return f"{Entry.of(manifest)}: {error.message}"
        return None

    def _write(
        self,
        tenant: Kube,
        manifest: dict[str, Any],
        force: bool,
        bucket: TokenBucket,
        trace: str | None,
    ) -> str | None:
        bucket.take()
        entry = Entry.of(manifest)
        with telemetry.span("sync.apply", {"landlord.object": entry.id}, parent=trace):
            return _write_one(tenant, manifest, entry, force)


def _live(tenant: Kube, manifest: dict[str, Any]) -> dict[str, Any] | None:
    metadata = manifest["metadata"]
    try:
        return tenant.get(
            manifest["apiVersion"], manifest["kind"], metadata["name"], metadata.get("namespace")
        )
    except errors.ApiError:
        return None  # the dry-run will say why


def _write_one(tenant: Kube, manifest: dict[str, Any], entry: Entry, force: bool) -> str | None:
    try:
        tenant.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)
    except errors.ApiError as error:
        if not _immutable(error):
            return f"{entry}: {error.message}"
        opted = (manifest["metadata"].get("annotations") or {}).get(labels.FORCE)
        if not (force or opted == "enabled"):
            return (
                f"{entry}: {error.message} (set spec.force or the annotation "
                f"{labels.FORCE}: enabled to recreate it)"
            )
        tenant.delete(
            entry.api_version,
            entry.kind,
            entry.name,
            entry.namespace or None,
            propagation="Foreground",
        )
        tenant.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)
    return None
