"""Per-tenant object budgets: which of a tenant's objects are over, decided from listed bodies.

A tenant (the ``landlord.dev/tenant`` label of a namespace; an unlabelled
namespace is its own tenant, as for the policy) may have so many
GitRepositories and Kustomizations, so many objects in one revision, and so
many artifact bytes on disk. Which objects are over is deterministic: the
oldest (by creation time, then name, then namespace) keep working, so adding
one more object never takes a working one down. The platform namespace is not
budgeted; the reconcilers skip it before asking.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from landlord.api import labels

# The setting behind each budget, named in every refusal so the platform knows what to raise.
SETTINGS = {
    "git_repositories": "LANDLORD_BUDGETS__GIT_REPOSITORIES",
    "kustomizations": "LANDLORD_BUDGETS__KUSTOMIZATIONS",
    "objects_per_revision": "LANDLORD_BUDGETS__OBJECTS_PER_REVISION",
    "artifact_bytes": "LANDLORD_BUDGETS__ARTIFACT_BYTES",
}


@dataclasses.dataclass(frozen=True)
class Budgets:
    """What one tenant may have (the defaults are the settings' defaults)."""

    git_repositories: int = 50
    kustomizations: int = 50
    objects_per_revision: int = 5000
    artifact_bytes: int = 1 << 30


def tenant_of(namespace: str, namespace_labels: Mapping[str, str] | None) -> str:
    """Whose budget objects in ``namespace`` count against (the policy subject's form)."""
    tenant = (namespace_labels or {}).get(labels.TENANT)
    return f"tenant:{tenant}" if tenant else f"namespace:{namespace}"


def _key(item: Mapping[str, Any]) -> str:
    metadata = item.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"


def oldest_first(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The objects that count, oldest first; one being deleted no longer counts."""
    live = [i for i in items if not (i.get("metadata") or {}).get("deletionTimestamp")]

    def order(item: Mapping[str, Any]) -> tuple[str, str, str]:
        metadata = item.get("metadata") or {}
        # RFC 3339 in UTC with a Z: the strings sort as the times do.
        return (
            str(metadata.get("creationTimestamp") or ""),
            str(metadata.get("name") or ""),
            str(metadata.get("namespace") or ""),
        )

    return sorted(live, key=order)


def over_count(
    kind: str,
    key: str,
    items: Iterable[Mapping[str, Any]],
    *,
    limit: int,
    budget: str,
    tenant: str,
    consequence: str,
) -> str | None:
    """Why ``key`` (``namespace/name``) is over ``tenant``'s budget of ``kind``; None if within.

    ``items`` are all of the tenant's objects of that kind, ``budget`` the field
    of :class:`Budgets`.
    """
    ordered = [_key(item) for item in oldest_first(items)]
    if key not in ordered:
        return None  # being deleted, or not listed yet: nothing to hold back
    rank = ordered.index(key) + 1
    if rank <= limit:
        return None
    return (
        f"{kind} {key} is number {rank} (oldest first) of the {len(ordered)} {kind}s of "
        f"{tenant}; the budget is {limit} per tenant ({SETTINGS[budget]}), so only the "
        f"oldest {limit} work: {consequence}. Delete one, or ask the platform team to raise "
        "the budget"
    )


def over_objects(count: int, *, limit: int, tenant: str) -> str | None:
    """Why a revision of ``count`` objects is over the per-revision budget; None if within."""
    if count <= limit:
        return None
    return (
        f"the revision has {count} objects; the budget of {tenant} is {limit} objects per "
        f"revision ({SETTINGS['objects_per_revision']}): nothing was applied. Split it "
        "across Kustomizations, or ask the platform team to raise the budget"
    )


def over_bytes(
    key: str,
    sources: Iterable[Mapping[str, Any]],
    stored: Mapping[str, int],
    *,
    own: int | None,
    limit: int,
    tenant: str,
) -> str | None:
    """Why source ``key`` may not store (``own`` None) or keep (``own``: its new size) an artifact.

    ``stored`` is every source's bytes on disk by key. The sources older than
    ``key`` keep what they have; ``key`` gets what they leave. Before a fetch
    (``own`` None) it is refused when they leave nothing; after one, when its
    new artifact does not fit in what they leave.
    """
    older = 0
    for item in oldest_first(sources):
        if _key(item) == key:
            break
        older += stored.get(_key(item), 0)
    else:
        return None  # being deleted, or not listed yet
    if own is None and older <= limit:
        return None
    if own is not None and older + own <= limit:
        return None
    taken = (
        f"the older sources of {tenant} keep {older} bytes of artifacts"
        if own is None
        else f"this artifact takes {own} bytes and the older sources of {tenant} keep {older}"
    )
    return (
        f"{taken}; the budget is {limit} bytes per tenant ({SETTINGS['artifact_bytes']}): "
        "no new artifact of this source is used. Make the repository smaller (spec.ignore), "
        "delete a source, or ask the platform team to raise the budget"
    )
