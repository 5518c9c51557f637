"""The prune step: delete what a Kustomization applied and no longer wants, if still ours.

Only through the client of the cluster the inventory was recorded for: the
caller passes entries of the current cluster's inventory only (see
:meth:`landlord.sync.inventory.Inventory.stale` and ``prunable``).
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
from collections.abc import Iterable
from typing import Any, Literal

from landlord import errors
from landlord.api import labels
from landlord.kube import Kube
from landlord.runtime.fanout import bounded_map
from landlord.sync.inventory import Entry
from landlord.sync.steps.apply import LIST_THRESHOLD, stage_of

log = logging.getLogger(__name__)

Listed = dict[tuple[str, str, str], dict[str, dict[str, Any]]]
Pruned = Literal["pruned", "terminating", "skipped", "kept"]
Verdict = Literal["delete", "terminating", "skipped"]


def owner_labels(name: str, namespace: str) -> dict[str, str]:
    """The labels that mark an object as applied by Kustomization ``namespace/name``."""
    return {labels.KUSTOMIZATION_NAME: name, labels.KUSTOMIZATION_NAMESPACE: namespace}


def ours(live: dict[str, Any], owner: dict[str, str]) -> bool:
    """Whether ``live`` carries every owner label (an object we may delete)."""
    found = live["metadata"].get("labels") or {}
    return all(found.get(k) == v for k, v in owner.items())


def opted_out(live: dict[str, Any]) -> bool:
    """``landlord.dev/prune: disabled`` as an annotation or a label."""
    metadata = live["metadata"]
    values = (
        (metadata.get("annotations") or {}).get(labels.PRUNE),
        (metadata.get("labels") or {}).get(labels.PRUNE),
    )
    return "disabled" in values


def verdict(live: dict[str, Any] | None, owner: dict[str, str]) -> Verdict:
    """What prune does with a stale entry's live object (``landlord diff`` asks it too).

    ``skipped``: gone, not ours (never deleted) or opted out; ``terminating``:
    still there but being deleted (deleting it again changes nothing);
    ``delete``: deleted.
    """
    if live is None or not ours(live, owner) or opted_out(live):
        return "skipped"
    if live["metadata"].get("deletionTimestamp"):
        return "terminating"
    return "delete"


def prune(
    executor: concurrent.futures.Executor,
    tenant: Kube,
    stale: Iterable[Entry],
    owner: dict[str, str],
    *,
    in_flight: int,
) -> tuple[list[Entry], list[Entry]]:
    """Delete stale entries that are still ours, last stage first; (pruned, kept).

    Pruned are those deleted now or already being deleted (a deletionTimestamp:
    not deleted again, as a finalizer polling until they are gone would).

    Within a stage deletions run in parallel, at most ``in_flight`` of them in
    the shared executor at a time; many entries of one kind and
    namespace are read with one LIST. An entry that cannot be read or deleted
    is kept (and reported), never forgotten.
    """
    stages: dict[int, list[Entry]] = {}
    for entry in stale:
        stages.setdefault(stage_of({"kind": entry.kind}), []).append(entry)
    pruned: list[Entry] = []
    kept: list[Entry] = []
    for stage in sorted(stages, reverse=True):
        entries = sorted(stages[stage])
        one = functools.partial(_prune_one, tenant, listed=_listed(tenant, entries), owner=owner)
        results = bounded_map(executor, one, entries, in_flight)
        for entry, result in zip(entries, results, strict=True):
            if result in ("pruned", "terminating"):
                pruned.append(entry)
            elif result == "kept":
                kept.append(entry)
    return pruned, kept


def remaining(tenant: Kube, entries: Iterable[Entry], owner: dict[str, str]) -> list[Entry]:
    """The entries that still exist and are ours (terminating ones included), as the tenant.

    Read as the prune reads: one LIST per (kind, namespace) with many entries,
    so a WaitForTermination poll of a 5,000-object inventory is a few LISTs,
    not 5,000 GETs every two seconds.
    """
    entries = list(entries)
    listed = _listed(tenant, entries)
    left = []
    for entry in entries:
        group = listed.get((entry.api_version, entry.kind, entry.namespace))
        try:
            live = (
                group.get(entry.name)
                if group is not None
                else tenant.get(entry.api_version, entry.kind, entry.name, entry.namespace or None)
            )
        except errors.ApiError:
            left.append(entry)  # cannot tell: not gone
            continue
        if live is not None and ours(live, owner) and not opted_out(live):
            left.append(entry)
    return left


def _listed(tenant: Kube, entries: list[Entry]) -> Listed:
    """For each (apiVersion, kind, namespace) with many entries: its objects by name."""
    groups: dict[tuple[str, str, str], int] = {}
    for entry in entries:
        place = (entry.api_version, entry.kind, entry.namespace)
        groups[place] = groups.get(place, 0) + 1
    listed = {}
    for (api_version, kind, namespace), count in groups.items():
        if count < LIST_THRESHOLD:
            continue
        try:
            items = tenant.list_objects(api_version, kind, namespace=namespace or None)
        except errors.ApiError:
            continue  # read one by one instead
        listed[(api_version, kind, namespace)] = {i["metadata"]["name"]: i for i in items}
    return listed


def _prune_one(tenant: Kube, entry: Entry, listed: Listed, owner: dict[str, str]) -> Pruned:
    """What became of one entry: pruned, terminating, skipped or kept.

    ``terminating``: deleted before, not deleted again; ``skipped``: gone, not
    ours or opted out; ``kept``: reading or deleting it failed.
    """
    namespace = entry.namespace or None
    try:
        group = listed.get((entry.api_version, entry.kind, entry.namespace))
        if group is not None:
            live = group.get(entry.name)
        else:
            live = tenant.get(entry.api_version, entry.kind, entry.name, namespace)
        decided = verdict(live, owner)
        if decided != "delete":
            return decided
        tenant.delete(entry.api_version, entry.kind, entry.name, namespace)
    except errors.ApiError as error:
        log.warning("prune of %s failed: %s", entry, error.message)
        return "kept"
    return "pruned"
