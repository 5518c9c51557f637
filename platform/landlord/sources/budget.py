"""The budget step: a tenant's sources fetch only within its count and byte budgets.

A source over its tenant's count budget (the oldest keep working) or behind
older sources that use up the byte budget fetches nothing. A new artifact that
does not fit in the bytes the older sources leave is not put in status, so no
Kustomization ever applies it. The platform namespace's source has no budget.
"""

from __future__ import annotations

from landlord.api import gitrepository, reasons
from landlord.api.gitrepository import GitRepositorySpec
from landlord.gitops import artifacts, budgets
from landlord.runtime.outcome import Outcome
from landlord.sources import fetch
from landlord.sources.tenancy import Tenancy


class BudgetedFetch:
    """Runs the fetch step for a source only while its tenant's budgets allow it."""

    def __init__(
        self,
        fetcher: fetch.Fetcher,
        *,
        tenancy: Tenancy,
        store: artifacts.ArtifactStore,
        budget: budgets.Budgets,
        platform_namespace: str,
    ) -> None:
        self.fetcher = fetcher
        self.tenancy = tenancy
        self.store = store
        # What one tenant may have (LANDLORD_BUDGETS__*): sources, artifact bytes.
        self.budget = budget
        self.platform_namespace = platform_namespace

    def fetch(
        self,
        namespace: str,
        name: str,
        spec: GitRepositorySpec,
        previous: fetch.Artifact | None,
    ) -> tuple[Outcome, fetch.Artifact | None]:
        """The fetch step's result, or a refusal (BudgetExceeded) keeping ``previous``."""
        if namespace == self.platform_namespace:
            return self.fetcher.fetch(namespace, name, spec, previous)
        tenant, sources = self.tenancy.sources_of(namespace)
        stored = {
            f"{ns}/{n}": self.store.stored_bytes(ns, n)
            for ns, n in ((s["metadata"]["namespace"], s["metadata"]["name"]) for s in sources)
        }
        key = f"{namespace}/{name}"
        why = budgets.over_count(
            gitrepository.KIND,
            key,
            sources,
            limit=self.budget.git_repositories,
            budget="git_repositories",
            tenant=tenant,
            consequence="nothing was fetched",
        ) or budgets.over_bytes(
            key, sources, stored, own=None, limit=self.budget.artifact_bytes, tenant=tenant
        )
        if why:
            return Outcome(False, reasons.BUDGET_EXCEEDED, why), previous
        outcome, artifact = self.fetcher.fetch(namespace, name, spec, previous)
        if not outcome.ready or artifact is None:
            return outcome, artifact
        sha = str(artifact.get("revision") or "").rpartition("sha1:")[2]
        found = self.store.lookup(namespace, name, artifacts.artifact_key(sha, spec.ignore))
        why = budgets.over_bytes(
            key,
            sources,
            stored,
            own=found.size if found else 0,
            limit=self.budget.artifact_bytes,
            tenant=tenant,
        )
        if why:
            return Outcome(False, reasons.BUDGET_EXCEEDED, why), previous
        return outcome, artifact
