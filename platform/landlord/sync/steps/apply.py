"""The apply step: read what is live, dry-run everything that changes, then apply in stages.

Only objects the previous revision applied (its inventory) are read before the
dry-run: an object new to this Kustomization is dry-run straight away, and the
dry-run's answer — the object as it would be, fields of other managers included
— tells whether the live one opted out (``landlord.dev/reconcile: disabled``).
An onboarding's first sync or a cold apply saves a GET per object that way.

Every request runs as the tenant on the reconciler's one shared executor (its
tasks never submit tasks of their own, so a full executor cannot deadlock), at
most ``in_flight`` of one reconcile's at a time (:func:`bounded_map`), so a
large revision does not hold every other tenant's sync behind it; paced by a
token bucket per reconcile, which only ever blocks that reconcile's own slots.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Collection
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


def immutable(error: errors.ApiError) -> bool:
    """Whether an apply was refused for changing an immutable field (recreated with force)."""
    return error.invalid and "immutable" in error.message


def dry_run(tenant: Kube, manifest: dict[str, Any]) -> dict[str, Any]:
    """The object as applying ``manifest`` as ``tenant`` would leave it; nothing is stored.

    The same request as the apply itself (field manager, forced conflicts), with
    ``dryRun=All``: the sync's dry-run before its writes, and ``landlord diff``.
    """
    return tenant.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True, dry_run=True)


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

    def apply(
        self,
        tenant: Kube,
        manifests: list[dict[str, Any]],
        force: bool,
        known: Collection[str] | None = None,
        before_writes: Callable[[], None] | None = None,
    ) -> list[Entry]:
        """The entries that changed; ApplyFailed when a dry-run or an apply is refused.

        ``known``: the inventory ids of the previous revision (None: every object
        is read first). The others are not read: their dry-run says enough.
        ``before_writes``: called once every dry-run passed, before the first
        write (the reconciler records its inventory ahead there).
        """
        bucket = TokenBucket(self.write_rate, self.write_burst)
        trace = telemetry.traceparent()  # worker threads do not inherit the current span
        unread = [m for m in manifests if not _must_read(m, known)]
        read = [m for m in manifests if _must_read(m, known)]
        todo = changed(read, self.lives(tenant, read)) + unread
        # Everything that would change is dry-run first: one refusal applies nothing.
        # Dry-runs store nothing (no etcd write, no watch event, no controller
        # woken): only the reconcile's in-flight bound paces them, not its bucket.
        fresh = {id(m) for m in unread}
        dry_runs = bounded_map(
            self.executor,
            lambda m: self._dry_run(tenant, m, unread=id(m) in fresh),
            todo,
            self.in_flight,
        )
        failures = [outcome for outcome in dry_runs if isinstance(outcome, str)]
        if failures:
            raise SyncError(reasons.APPLY_FAILED, _listed_more(failures))
        # An unread object whose live self opted out is left as it is.
        todo = [m for m, outcome in zip(todo, dry_runs, strict=True) if outcome is not _OPTED_OUT]
        if todo and before_writes is not None:
            before_writes()
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

    def _dry_run(self, tenant: Kube, manifest: dict[str, Any], *, unread: bool) -> object:
        """None when it would apply; a failure's text; :data:`_OPTED_OUT` (unread ones only)."""
        try:
            would = dry_run(tenant, manifest)
        except errors.ApiError as error:
            if unread:  # a refusal does not count for an object that opted out
                live = _live(tenant, manifest)
                if live is not None and disabled(live):
                    return _OPTED_OUT
            if immutable(error):
                return None  # handled at apply time (recreate with force)
            return f"{Entry.of(manifest)}: {error.message}"
        # The manifest does not set the annotation (or it was read): what the answer
        # holds of it is the live object's own.
        return _OPTED_OUT if unread and disabled(would) else None

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


_OPTED_OUT = object()  # a dry-run's answer: the live object says reconcile: disabled


def _must_read(manifest: dict[str, Any], known: Collection[str] | None) -> bool:
    """Whether the live object is read before the dry-run (see the module's docstring).

    A manifest that sets the opt-out annotation itself is always read: its
    dry-run's answer would show the manifest's value, not the live one's.
    """
    if known is None or Entry.of(manifest).id in known:
        return True
    return labels.RECONCILE in ((manifest["metadata"].get("annotations")) or {})


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
        if not immutable(error):
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
