"""Reconcile one GitRepository: look up the ref, fetch only when it moved, store the artifact.

An unchanged remote costs one ``ls-remote`` per interval and no fetch. A
failure (bad URL, credentials, missing branch, unreachable host, a cap hit)
sets Ready=False with its own reason and keeps the last good artifact, so
nothing downstream prunes because of it.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import shutil
import time
from collections.abc import Callable
from typing import Any

from landlord import api, policy, telemetry
from landlord.api import conditions, labels, names
from landlord.gitops import artifacts, budgets, durations
from landlord.gitops import sandbox as sandbox_mod
from landlord.kube import Kube, events
from landlord.kube import status as kube_status
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome
from landlord.sources import git as git_mod
from landlord.sources import network, refs, urls
from landlord.sources.credentials import Credentials

log = logging.getLogger(__name__)

KIND = "GitRepository"


@dataclasses.dataclass(frozen=True)
class Target:
    """The commit a source should have, and how to name and fetch it."""

    sha: str
    revision: str
    want: str


def choose(ref: refs.Ref, remote_refs: git_mod.RemoteRefs, shown_url: str) -> Target:
    """The commit ``ref`` selects among the remote's refs; GitError(RefNotFound) if none."""
    if ref.commit:
        if ref.branch and remote_refs.branch(ref.branch) is None:
            raise git_mod.GitError(
                f"branch {ref.branch!r} not found in {shown_url}", reason="RefNotFound"
            )
        return Target(ref.commit, ref.revision(ref.commit), ref.commit)
    if ref.semver:
        from landlord.sources import semver

        tag = semver.Range.parse(ref.semver).best(remote_refs.tags())
        if tag is None:
            raise git_mod.GitError(
                f"no tag in {shown_url} matches semver {ref.semver!r}", reason="RefNotFound"
            )
        sha = remote_refs.tag(tag) or ""
        return Target(sha, ref.revision(sha, tag=tag), f"refs/tags/{tag}")
    if ref.tag:
        sha = remote_refs.tag(ref.tag) or ""
        if not sha:
            raise git_mod.GitError(
                f"tag {ref.tag!r} not found in {shown_url}", reason="RefNotFound"
            )
        return Target(sha, ref.revision(sha), f"refs/tags/{ref.tag}")
    assert ref.branch is not None
    sha = remote_refs.branch(ref.branch) or ""
    if not sha:
        raise git_mod.GitError(
            f"branch {ref.branch!r} not found in {shown_url}", reason="RefNotFound"
        )
    return Target(sha, ref.revision(sha), f"refs/heads/{ref.branch}")


class GitRepositoryReconciler:
    """Fetches GitRepositories into the artifact store."""

    def __init__(
        self,
        kube: Kube,
        *,
        store: artifacts.ArtifactStore,
        workdir: pathlib.Path,
        allowed_schemes: list[str],
        limits: artifacts.Limits,
        gate: policy.Gate,
        platform_namespace: str,
        sandbox: sandbox_mod.Sandbox,
        metrics: telemetry.Metrics | None = None,
        on_revision: Callable[[str, str, str], None] | None = None,
        namespaces: NamespaceLabels | None = None,
        cached: Callable[[str, str], dict[str, Any] | None] | None = None,
        network_policy: network.NetworkPolicy | None = None,
        trace_signer: telemetry.TraceSigner | None = None,
        bounds: durations.Bounds | None = None,
        budget: budgets.Budgets | None = None,
    ) -> None:
        self.kube = kube
        # What one tenant may have (LANDLORD_BUDGETS__*): sources, artifact bytes.
        self.budget = budget or budgets.Budgets()
        # The platform's bounds on ``interval`` and ``timeout`` (LANDLORD_LIMITS__*).
        self.bounds = bounds or durations.Bounds()
        self.gate = gate
        self.namespaces = namespaces or NamespaceLabels()
        # The GitRepository as the watch last delivered it: an interval tick reads
        # its spec from there (status writes go out only when they change).
        self.cached = cached
        self.platform_namespace = platform_namespace
        self.sandbox = sandbox
        self.store = store
        self.workdir = workdir
        self.allowed_schemes = allowed_schemes
        # Where tenants' sources may connect (None: anywhere; the platform's own
        # source is never checked).
        self.network_policy = network_policy
        self.limits = limits
        self.metrics = metrics
        self.on_revision = on_revision
        self._next_check: dict[str, float] = {}
        self._policy_version: dict[str, int] = {}
        self.origins = telemetry.Origins(trace_signer)

    def reconcile(self, key: str) -> Outcome | None:
        """Bring ``namespace/name`` up to date; None when the GitRepository is gone."""
        namespace, _, name = key.partition("/")
        body = (self.cached(namespace, name) if self.cached else None) or self.kube.get(
            api.API_VERSION, KIND, name, namespace
        )
        if body is None or body["metadata"].get("deletionTimestamp"):
            self.store.remove(namespace, name)
            shutil.rmtree(self.workdir / namespace / name, ignore_errors=True)
            self._next_check.pop(key, None)
            self._policy_version.pop(key, None)
            self.origins.forget(key)
            return None
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        requested = (body["metadata"].get("annotations") or {}).get(labels.REQUESTED_AT)
        fresh = (
            status.get("observedGeneration") == body["metadata"].get("generation")
            and requested == status.get("lastHandledReconcileAt")
            and self._policy_version.get(key) == self.gate.version
        )
        now = time.monotonic()
        if fresh and now < self._next_check.get(key, 0.0):
            return Outcome(skipped=True, requeue_after=self._next_check[key] - now)
        if spec.get("suspend"):
            return Outcome(skipped=True)
        try:
            every = durations.interval(spec, "interval", 60.0, self.bounds)
            durations.timeout(spec, "timeout", 60.0, self.bounds)
        except durations.OutOfBoundsError as error:
            # Refused, not clamped: Stalled until the spec changes; nothing is fetched.
            self._next_check.pop(key, None)
            refused = Outcome(False, durations.INVALID_DURATION, str(error), stalled=True)
            self._write_status(body, refused, status.get("artifact"), requested)
            return refused
        self._policy_version[key] = self.gate.version
        traceparent = self.origins.trusted("GitRepository", body)  # only one Landlord signed
        parent, link = self.origins.parent_and_link(key, traceparent)
        with telemetry.span("source.reconcile", {"landlord.source": key}, parent=parent, link=link):
            outcome, artifact = self._fetch_within_budget(body)
        if outcome.ready:
            self.origins.finished(key, traceparent)
        interval = durations.jittered(every)
        self._next_check[key] = time.monotonic() + interval
        outcome = dataclasses.replace(outcome, requeue_after=None if outcome.stalled else interval)
        self._write_status(body, outcome, artifact, requested)
        return outcome

    # -- the pipeline --------------------------------------------------------

    def _fetch_within_budget(self, body: dict[str, Any]) -> tuple[Outcome, dict[str, Any] | None]:
        """Check the names and the tenant's budgets, then fetch; keep the last artifact if refused.

        A source over its tenant's count budget (the oldest keep working) or
        behind older sources that use up the byte budget fetches nothing. A new
        artifact that does not fit in the bytes the older sources leave is not
        put in status, so no Kustomization ever applies it.
        """
        namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
        spec, status = body.get("spec") or {}, body.get("status") or {}
        previous = status.get("artifact")
        problems = names.git_repository(spec)
        if problems:
            return Outcome(False, names.REASON, names.summary(problems), stalled=True), previous
        if namespace == self.platform_namespace:
            return self._fetch(namespace, name, spec, status)
        tenant, sources = self._tenant_sources(namespace)
        stored = {
            f"{ns}/{n}": self.store.stored_bytes(ns, n)
            for ns, n in ((s["metadata"]["namespace"], s["metadata"]["name"]) for s in sources)
        }
        key = f"{namespace}/{name}"
        why = budgets.over_count(
            KIND,
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
            return Outcome(False, budgets.REASON, why), previous
        outcome, artifact = self._fetch(namespace, name, spec, status)
        if not outcome.ready or artifact is None:
            return outcome, artifact
        sha = str(artifact.get("revision") or "").rpartition("sha1:")[2]
        found = self.store.lookup(namespace, name, artifacts.artifact_key(sha, spec.get("ignore")))
        why = budgets.over_bytes(
            key,
            sources,
            stored,
            own=found.size if found else 0,
            limit=self.budget.artifact_bytes,
            tenant=tenant,
        )
        if why:
            return Outcome(False, budgets.REASON, why), previous
        return outcome, artifact

    def _tenant_sources(self, namespace: str) -> tuple[str, list[dict[str, Any]]]:
        """Whose budget ``namespace`` counts against, and every GitRepository that tenant has."""
        found = self.namespaces.get(namespace)
        if found is None:
            ns = self.kube.get("v1", "Namespace", namespace) or {}
            found = (ns.get("metadata") or {}).get("labels") or {}
        tenant = found.get(labels.TENANT)
        spaces = {namespace}
        if tenant:
            listed = self.kube.list_objects(
                "v1", "Namespace", label_selector=f"{labels.TENANT}={tenant}"
            )
            spaces.update(item["metadata"]["name"] for item in listed)
        sources = [
            item
            for ns in sorted(spaces)
            for item in self.kube.list_objects(api.API_VERSION, KIND, namespace=ns)
        ]
        return budgets.tenant_of(namespace, found), sources

    def _fetch(
        self, namespace: str, name: str, spec: dict[str, Any], status: dict[str, Any]
    ) -> tuple[Outcome, dict[str, Any] | None]:
        url = spec.get("url") or ""
        shown = urls.redact(urls.strip_credentials(url))
        previous = status.get("artifact")
        secrets: list[str] = [urls.url_credentials(url)[1] or ""]
        try:
            urls.validate_url(url, self.allowed_schemes)
            # One spelling for the policy, the fetch and the status (GitRemote
            # normalises the same way).
            source = urls.normalise(url)
            shown = source.url
            denied = self._denied(namespace, source.url, shown)
            if denied:
                return Outcome(False, "PolicyDenied", denied, stalled=True), previous
            ref = refs.Ref.from_spec(spec.get("ref"))
            creds = self._credentials(namespace, spec.get("secretRef"))
            if creds is not None:
                secrets += creds.secret_values()
            resolution = self._resolve(namespace, source)
            remote = git_mod.GitRemote(
                url,
                creds,
                workdir=self.workdir / namespace / name,
                timeout=durations.timeout(spec, "timeout", 60.0, self.bounds),
                resolution=resolution,
            )
            began = time.monotonic()
            remote_refs = remote.ls_remote()
            self._count(namespace, name, "ls-remote", time.monotonic() - began)
            target = choose(ref, remote_refs, shown)
            key = artifacts.artifact_key(target.sha, spec.get("ignore"))
            stored = self.store.lookup(namespace, name, key)
            if stored is None:
                stored = self._fetch_new(remote, target, namespace, name, key, spec.get("ignore"))
        except urls.InvalidSourceError as error:
            return Outcome(
                False, "InvalidSource", urls.redact(str(error), secrets), stalled=True
            ), previous
        except network.BlockedAddressError as error:
            # The tenant sees what an unreachable host shows; the operator's log why.
            log.warning("source %s/%s: %s", namespace, name, urls.redact(error.detail, secrets))
            self._failed(namespace, name, error.reason)
            return Outcome(False, error.reason, error.message), previous
        except (git_mod.GitError, artifacts.ArtifactError) as error:
            if error.reason == network.UNREACHABLE and isinstance(error, git_mod.GitError):
                log.warning("source %s/%s: %s", namespace, name, urls.redact(error.detail, secrets))
            self._failed(namespace, name, error.reason)
            return Outcome(False, error.reason, urls.redact(error.message, secrets)), previous
        except ValueError as error:
            return Outcome(False, "InvalidSource", str(error), stalled=True), previous
        artifact = {
            "revision": target.revision,
            "digest": stored.digest,
            "lastUpdateTime": conditions.now(),
        }
        if (
            previous
            and previous.get("revision") == target.revision
            and (previous.get("digest") == stored.digest)
        ):
            artifact["lastUpdateTime"] = previous.get("lastUpdateTime", artifact["lastUpdateTime"])
        return Outcome(
            True, "Succeeded", f"stored artifact for revision '{target.revision}'"
        ), artifact

    def _resolve(self, namespace: str, source: urls.SourceURL) -> network.Resolution | None:
        """The addresses a tenant's source may be fetched from (:class:`BlockedAddressError`).

        The platform namespace's source (the platform repository) is exempt: the
        platform team chose its URL, and it may well live next to the cluster.
        """
        if self.network_policy is None or namespace == self.platform_namespace:
            return None
        return self.network_policy.check(source.url, source.host, source.port)

    def _denied(self, namespace: str, url: str, shown: str) -> str | None:
        """Why the policy refuses this namespace's normalised source URL (before any Git call)."""
        if namespace == self.platform_namespace:
            return None  # the platform repository itself
        found = self.namespaces.get(namespace)
        if found is None:
            ns = self.kube.get("v1", "Namespace", namespace) or {}
            found = (ns.get("metadata") or {}).get("labels") or {}
        subject = policy.subject_for(namespace, found)
        decision = self.gate.check("source", [subject], url)
        if decision.allowed:
            return None
        return (
            f"{subject} may not use the source {shown}: {decision.explain()}; nothing was "
            "fetched. A platform admin can allow it with a policy line such as "
            f"`p, {subject}, source, {url}, allow`"
        )

    def _fetch_new(
        self,
        remote: git_mod.GitRemote,
        target: Target,
        namespace: str,
        name: str,
        key: str,
        ignore: str | None,
    ) -> artifacts.Artifact:
        began = time.monotonic()
        remote.fetch(
            target.want,
            None if target.want == target.sha else target.sha,
            max_pack_bytes=self.limits.max_total_bytes + (1 << 20),
        )
        size = remote.pack_size()
        if size > self.limits.max_total_bytes:
            remote.prune()
            raise artifacts.ArtifactError(
                f"the repository's objects take {size} bytes; the limit is "
                f"{self.limits.max_total_bytes}",
                reason="ArtifactTooLarge",
            )
        with remote.open_archive(
            target.sha, self.sandbox, max_bytes=artifacts.archive_cap(self.limits)
        ) as archive:
            stored = self.store.store(
                namespace, name, key, archive, ignore=ignore, limits=self.limits
            )
        remote.prune()
        self._count(namespace, name, "fetch", time.monotonic() - began, size)
        return stored

    def _credentials(self, namespace: str, secret_ref: dict[str, str] | None) -> Credentials | None:
        if not secret_ref:
            return None
        secret = self.kube.get("v1", "Secret", secret_ref["name"], namespace)
        if secret is None:
            raise git_mod.GitError(
                f"Secret {namespace}/{secret_ref['name']} (spec.secretRef) not found",
                reason="SecretNotFound",
            )
        return Credentials.from_secret(secret.get("data"), secret_ref["name"])

    # -- status, events, metrics ---------------------------------------------

    def _write_status(
        self,
        body: dict[str, Any],
        outcome: Outcome,
        artifact: dict[str, Any] | None,
        requested: str | None,
    ) -> None:
        existing = body.get("status") or {}
        new: dict[str, Any] = {
            "observedGeneration": body["metadata"].get("generation"),
            "conditions": conditions.summary(
                ready=outcome.ready,
                reason=outcome.reason,
                message=outcome.message,
                stalled=outcome.stalled,
                reconciling=False,
                generation=int(body["metadata"].get("generation") or 1),
                existing=existing.get("conditions") or [],
            ),
        }
        if artifact is not None:
            new["artifact"] = artifact
        if requested:
            new["lastHandledReconcileAt"] = requested
        announce = False
        old_revision = (existing.get("artifact") or {}).get("revision")
        if outcome.ready and artifact and artifact["revision"] != old_revision:
            events.record(
                self.kube,
                body,
                reason="NewArtifact",
                message=f"stored artifact for revision '{artifact['revision']}'",
            )
            announce = True
        if not outcome.ready:
            kube_status.warn_on_change(self.kube, body, outcome.reason, outcome.message)
        kube_status.patch_if_changed(self.kube, body, new)
        # Only once the new artifact is in status can a Kustomization see it.
        if announce and self.on_revision is not None and artifact is not None:
            self.on_revision(
                body["metadata"]["namespace"], body["metadata"]["name"], artifact["revision"]
            )

    def _count(
        self, namespace: str, name: str, operation: str, seconds: float, size: int = 0
    ) -> None:
        if self.metrics is None:
            return
        self.metrics.source_git_seconds.labels(
            namespace=namespace, name=name, operation=operation
        ).observe(seconds)
        if size:
            self.metrics.source_fetched_bytes_total.labels(namespace=namespace, name=name).inc(size)

    def _failed(self, namespace: str, name: str, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.source_failures_total.labels(
                namespace=namespace, name=name, reason=reason
            ).inc()
