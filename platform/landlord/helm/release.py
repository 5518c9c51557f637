"""Reconcile one HelmRelease: chart, values, render, check, then install or upgrade as the tenant.

The pipeline, in order; each step's failure is a Ready reason of its own and
installs nothing:

1. admit — spec, durations, the chart source's namespace (a cross-namespace
   ``sourceRef`` needs the policy's ``source`` line), the service account;
2. chart — the repository's stored index, the highest version in range, the
   archive fetched (every URL decided by :mod:`.access`) and verified
   (:mod:`.charts`), kept by digest;
3. values — ``valuesFrom`` read as the tenant, merged (:mod:`.values`);
4. unchanged? — the same chart digest and values as the deployed release, at
   this generation: nothing runs (no Helm, no write);
5. render — ``helm upgrade --install --dry-run=server`` as the tenant;
6. check — every object, hooks and tests too, through the same validation as a
   Kustomization's (names, namespaces within the tenant's, nothing
   cluster-scoped) and the policy's ``apply`` kinds;
7. release — ``helm upgrade --install`` replaying exactly the checked manifests
   (:mod:`.runner`), then ``helm test`` when asked;
8. remediate — on failure, Flux's rules: retries, rollback or uninstall,
   ``remediateLastFailure``; Stalled with ``RetriesExceeded`` when they run out.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import pydantic
import yaml

from landlord import api, errors, policy
from landlord.api import conditions, invalid, labels, ocirepository, reasons
from landlord.api import helmrelease as model
from landlord.api import helmrepository as repository_model
from landlord.git import network, urls
from landlord.gitops import artifacts, durations, validate, yamlsafe
from landlord.helm import access as access_mod
from landlord.helm import charts, download, package, runner
from landlord.helm import index as index_mod
from landlord.helm import values as values_mod
from landlord.helm.store import ChartStore
from landlord.kube import Kube, events, finalizers
from landlord.kube import status as kube_status
from landlord.policy import requests
from landlord.runtime.outcome import Outcome
from landlord.runtime.tenantview import TenantView

log = logging.getLogger(__name__)

KIND = model.KIND
DEFAULT_INTERVAL = durations.parse(model.DEFAULT_INTERVAL)
DEFAULT_TIMEOUT = durations.parse(model.DEFAULT_TIMEOUT)
FINALIZER = labels.FINALIZER
RELEASE_NAME = labels.HELMRELEASE_NAME
RELEASE_NAMESPACE = labels.HELMRELEASE_NAMESPACE
# A TokenRequest lives this long; one is reused while it has more than half left.
TOKEN_SECONDS = 600
RETRY = 10.0  # seconds before a failed, not stalled, release is tried again (then backoff)
CACHE = 2048  # charts remembered per cache (oldest forgotten first; their archives collected)
CHART_GRACE = 600.0  # seconds an archive no cache names stays on disk (a helm run may use it)


class Refused(errors.LandlordError):
    """A step that installs nothing: its Ready reason and whether retrying can help."""

    def __init__(self, reason: str, message: str, *, stalled: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.stalled = stalled


@dataclasses.dataclass(frozen=True)
class Desired:
    """What one reconcile would release."""

    name: str  # the HelmRelease's own name (in the labels of what it installs)
    release: str
    namespace: str  # Helm's --namespace: objects' default and the release storage
    account: str
    chart: index_mod.ChartVersion
    chart_digest: str
    chart_path: Any
    values: dict[str, Any]
    config_digest: str
    generation: int


# (kind, namespace, name) → the object's body as the watch last saw it, or None.
Cached = Callable[[str, str, str], "dict[str, Any] | None"]


class Drifts(Protocol):
    """What the release reconciler needs of a drift tracker (``landlord.sync.drift``'s)."""

    def record(self, key: str, manifests: Iterable[dict[str, Any]]) -> None: ...
    def forget(self, key: str) -> None: ...
    def take(self, key: str) -> list[Any]: ...
    def drifted(self, key: str) -> bool: ...


class Tokens:
    """Short-lived tokens of tenants' service accounts, reused while fresh."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, namespace: str, account: str, *, lasting: float = 0.0) -> str:
        """A token valid for at least ``lasting`` more seconds (a whole run of helm)."""
        now = time.monotonic()
        needed = max(TOKEN_SECONDS / 2, lasting)
        with self._lock:
            found = self._tokens.get((namespace, account))
            if found is not None and found[1] - now > needed:
                return found[0]
        seconds = int(max(TOKEN_SECONDS, 2 * needed))
        token = self.kube.service_account_token(namespace, account, seconds=seconds)
        with self._lock:
            self._tokens[(namespace, account)] = (token, now + seconds)
        return token

    def forget(self, namespace: str) -> None:
        with self._lock:
            for key in [k for k in self._tokens if k[0] == namespace]:
                del self._tokens[key]


class HelmReleaseReconciler:
    """Installs, upgrades, tests, remediates and uninstalls HelmReleases as their tenants."""

    def __init__(
        self,
        kube: Kube,
        *,
        helm: runner.Helm | None,
        store: ChartStore,
        access: access_mod.Access,
        chart_limits: charts.Limits,
        platform_namespace: str,
        bounds: durations.Bounds | None = None,
        tenant_view: TenantView | None = None,
        drift: Drifts | None = None,
        artifacts_store: artifacts.ArtifactStore | None = None,
        cached: Cached | None = None,
    ) -> None:
        # Bodies as the watches last saw them (kind, namespace, name): an interval tick
        # reads nothing from the apiserver when nothing changed.
        self.cached = cached
        self.artifacts = artifacts_store  # GitRepositories' artifacts (charts from Git)
        self.kube = kube
        self.helm = helm
        # What each release installed (its non-hook objects), for drift repair.
        self.drift = drift
        self._manifests: dict[str, list[dict[str, Any]]] = {}
        self.store = store
        self.access = access
        self.gate = access.gate
        self.chart_limits = chart_limits
        self.platform_namespace = platform_namespace
        self.bounds = bounds or durations.Bounds()
        self.tenant_view = tenant_view
        self.tokens = Tokens(kube)
        # (repository, chart URL, index digest, chart, version) → the verified archive's digest
        self._charts: dict[tuple[str, str, str, str, str], str] = {}
        # (GitRepository, artifact digest, chart path) → (the chart, its archive's digest)
        self._git_charts: dict[tuple[str, str, str], tuple[index_mod.ChartVersion, str]] = {}
        self._next: dict[str, float] = {}
        self._seen: dict[str, tuple[str, int, int]] = {}  # key → (config, generation, policy)
        # Read by watch and reloader threads while workers write them: under _lock.
        self._lock = threading.Lock()
        self._users: dict[str, set[str]] = {}  # "<Kind>/<ns>/<name>" → releases using it
        self._waiting: dict[str, set[str]] = {}  # release key → releases that depend on it
        self._moved: set[str] = set()  # releases whose chart source has something new
        # The status each release was last given here, by its uid: what a cached body lags.
        self._status: dict[str, tuple[str | None, dict[str, Any]]] = {}

    # -- bookkeeping ---------------------------------------------------------------

    def source_moved(self, kind: str, namespace: str, name: str) -> list[str]:
        """A chart source stored something new: the releases using it, due at once."""
        with self._lock:
            users = sorted(self._users.get(f"{kind}/{namespace}/{name}", ()))
            self._moved.update(users)
        return users

    def forget(self, key: str) -> None:
        with self._lock:
            self._moved.discard(key)
            self._status.pop(key, None)
            for table in (self._waiting, self._users):
                for other in [k for k, v in table.items() if key in v]:
                    table[other].discard(key)
                    if not table[other]:
                        del table[other]
        self._manifests.pop(key, None)
        if self.drift is not None:
            self.drift.forget(key)
        self._next.pop(key, None)
        self._seen.pop(key, None)

    def _with_own_status(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with the status this reconciler last wrote (a cached body may lag it)."""
        with self._lock:
            mine = self._status.get(key)
        if mine is None or mine[0] != body["metadata"].get("uid"):
            return body
        return {**body, "status": mine[1]}

    def _read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A Landlord object: from the watch cache when it has it, else from the apiserver."""
        found = self.cached(kind, namespace, name) if self.cached is not None else None
        if found is not None and not found["metadata"].get("deletionTimestamp"):
            return found
        return self.kube.get(api.API_VERSION, kind, name, namespace)

    # -- entry point ---------------------------------------------------------------

    def reconcile(self, key: str) -> Outcome | None:
        namespace, _, name = key.partition("/")
        body = self._read(KIND, namespace, name)
        if body is not None:
            body = self._with_own_status(key, body)
        if body is None:
            self.forget(key)
            return None
        if body["metadata"].get("deletionTimestamp"):
            return self._finalize(key, body)
        if FINALIZER not in (body["metadata"].get("finalizers") or []):
            finalizers.add(self.kube, body, FINALIZER)
        requested = (body["metadata"].get("annotations") or {}).get(labels.REQUESTED_AT)
        try:
            spec = model.HelmReleaseSpec.of(body)
        except pydantic.ValidationError as error:
            return self._write(
                body, _stalled(reasons.INVALID_SPEC, invalid.describe(error)), requested
            )
        if spec.suspend:
            return Outcome(skipped=True)
        try:
            every = durations.interval(spec.durations(), "interval", DEFAULT_INTERVAL, self.bounds)
            timeout = durations.timeout(spec.durations(), "timeout", DEFAULT_TIMEOUT, self.bounds)
        except durations.OutOfBoundsError as error:
            return self._write(body, _stalled(reasons.INVALID_DURATION, str(error)), requested)
        status = body.get("status") or {}
        now = time.monotonic()
        handled = conditions.handled(body)
        if (
            handled
            and now < self._next.get(key, 0.0)
            and self._seen.get(key, ("", 0, -1))[2] == self.gate.version
            and not (self.drift is not None and self.drift.drifted(key))
            and not self._is_moved(key)
        ):
            return Outcome(skipped=True, requeue_after=self._next[key] - now)
        with self._lock:
            self._moved.discard(key)
        try:
            self._dependencies(key, spec)
            desired = self._desired(key, body, spec, timeout)
        except Refused as refused:
            outcome = Outcome(False, refused.reason, refused.message, stalled=refused.stalled)
            return self._finish(key, body, outcome, requested, every)
        self._seen[key] = (desired.config_digest, desired.generation, self.gate.version)
        if self._unchanged(status, desired):
            ready = conditions.get(status.get("conditions") or [], conditions.READY) or {}
            message = (
                str(ready["message"])
                if ready.get("status") == "True" and ready.get("message")
                else _deployed_message(status["history"][0])
            )
            outcome = Outcome(True, _released_reason(status), message)
            drifted = self._drift(key, body, spec, desired, timeout)
            if drifted is not None:
                outcome = drifted
            return self._finish(key, body, outcome, requested, every)
        if _exhausted(status, desired):
            # The same config failed and its retries are spent: wait for a change.
            ready = conditions.get(status.get("conditions") or [], conditions.READY) or {}
            outcome = Outcome(
                False, reasons.RETRIES_EXCEEDED, str(ready.get("message") or ""), stalled=True
            )
            return self._finish(key, body, outcome, requested, every)
        outcome, extra = self._release(body, spec, desired, timeout)
        return self._finish(key, body, outcome, requested, every, extra)

    # -- admit, chart, values ----------------------------------------------------------

    def _desired(
        self, key: str, body: dict[str, Any], spec: model.HelmReleaseSpec, timeout: float
    ) -> Desired:
        namespace = key.partition("/")[0]
        if self.helm is None:
            raise Refused(
                reasons.SANDBOX_UNAVAILABLE,
                "helm is not built on this operator (run `landlord cluster build`); nothing "
                "was installed",
            )
        if namespace == self.platform_namespace:
            raise Refused(
                reasons.INVALID_SPEC,
                "HelmReleases in the platform namespace are not supported yet: Landlord "
                "installs releases only as a tenant's service account (docs/helm.md)",
                stalled=True,
            )
        allowed = self._allowed_namespaces(namespace)
        target = spec.target_namespace or namespace
        storage = spec.storage_namespace or target
        for field, value in (("targetNamespace", target), ("storageNamespace", storage)):
            if value not in allowed:
                raise Refused(
                    reasons.VALIDATION_FAILED,
                    f"spec.{field} {value!r} is not one of the tenant's namespaces "
                    f"({', '.join(sorted(allowed))}); nothing was installed",
                    stalled=True,
                )
        if storage != target:
            raise Refused(
                reasons.INVALID_SPEC,
                "a storageNamespace other than the targetNamespace is not supported yet "
                "(helm stores the release where it installs it); nothing was installed",
                stalled=True,
            )
        account = spec.service_account_name or labels.RECONCILER_SERVICE_ACCOUNT
        if spec.chart_ref is not None:  # Flux's chartRef: an OCIRepository holding one chart
            chart_ref = spec.chart_ref
            source_namespace = chart_ref.namespace or namespace
            if source_namespace != namespace:
                self._check_edge(
                    namespace, "source", f"{source_namespace}/{chart_ref.name}", "the chart source"
                )
            with self._lock:
                self._users.setdefault(
                    f"{chart_ref.kind}/{source_namespace}/{chart_ref.name}", set()
                ).add(key)
            version, digest = self._chart_from_oci(source_namespace, chart_ref.name)
            return self._desired_with(key, body, spec, account, target, version, digest)
        assert spec.chart is not None  # the model holds exactly one of chart and chartRef
        ref = spec.chart.spec.source_ref
        source_namespace = ref.namespace or namespace
        if source_namespace != namespace:
            self._check_edge(
                namespace, "source", f"{source_namespace}/{ref.name}", "the chart source"
            )
        repo_key = f"{source_namespace}/{ref.name}"
        with self._lock:
            self._users.setdefault(f"{ref.kind}/{repo_key}", set()).add(key)
        if ref.kind == "GitRepository":
            version, digest = self._chart_from_git(source_namespace, ref.name, spec)
            return self._desired_with(key, body, spec, account, target, version, digest)
        repository = self._read(repository_model.KIND, source_namespace, ref.name)
        artifact = ((repository or {}).get("status") or {}).get("artifact") or {}
        if repository is None or not artifact.get("digest"):
            raise Refused(
                reasons.SOURCE_NOT_READY,
                f"HelmRepository {repo_key} has no index yet"
                + ("" if repository is not None else " (it does not exist)"),
            )
        index = self.store.load_index(source_namespace, ref.name, artifact["digest"])
        if index is None:
            raise Refused(
                reasons.SOURCE_NOT_READY,
                f"the index of HelmRepository {repo_key} is not stored on this operator yet",
            )
        chart_spec = spec.chart.spec
        try:
            version = index.select(chart_spec.chart, chart_spec.version)
        except (index_mod.ChartNotFoundError, errors.TerminalError) as error:
            raise Refused(
                reasons.CHART_NOT_FOUND, f"{repo_key}: {error.message}", stalled=True
            ) from None
        digest = self._chart(namespace, repository or {}, artifact["digest"], version, timeout)
        return self._desired_with(key, body, spec, account, target, version, digest)

    def _desired_with(
        self,
        key: str,
        body: dict[str, Any],
        spec: model.HelmReleaseSpec,
        account: str,
        target: str,
        version: index_mod.ChartVersion,
        digest: str,
    ) -> Desired:
        namespace, _, name = key.partition("/")
        tenant = self.kube.as_service_account(namespace, account)
        try:
            values = values_mod.compose(tenant, namespace, spec)
        except values_mod.ValuesError as error:
            raise Refused(error.reason, error.message) from None
        config = values_mod.digest(values)
        return Desired(
            name=name,
            release=spec.name_of_release(name),
            namespace=target,
            account=account,
            chart=version,
            chart_digest=digest,
            chart_path=self.store.chart_path(digest),
            values=values,
            config_digest=config,
            generation=int(body["metadata"].get("generation") or 1),
        )

    def _is_moved(self, key: str) -> bool:
        with self._lock:
            return key in self._moved

    def waiting_on(self, key: str) -> list[str]:
        """The releases that wait for ``key`` to be Ready."""
        with self._lock:
            return sorted(self._waiting.get(key, ()))

    def _dependencies(self, key: str, spec: model.HelmReleaseSpec) -> None:
        """Every ``dependsOn`` release Ready at its generation (cross-tenant ones allowed first)."""
        namespace = key.partition("/")[0]
        with self._lock:
            for waited in self._waiting.values():
                waited.discard(key)
        for ref in spec.depends_on:
            other = f"{ref.namespace or namespace}/{ref.name}"
            if other == key:
                raise Refused(
                    reasons.DEPENDENCY_CYCLE, "the release depends on itself", stalled=True
                )
            if (ref.namespace or namespace) != namespace:
                self._check_edge(namespace, "depend", other, "the dependency")
            with self._lock:
                self._waiting.setdefault(other, set()).add(key)
            found = self._read(KIND, ref.namespace or namespace, ref.name)
            if found is None:
                raise Refused(
                    reasons.DEPENDENCY_NOT_READY, f"dependency HelmRelease {other} does not exist"
                )
            if not conditions.ready_at_generation(found):
                raise Refused(
                    reasons.DEPENDENCY_NOT_READY, f"dependency HelmRelease {other} is not Ready"
                )

    def _allowed_namespaces(self, namespace: str) -> frozenset[str]:
        tenant = self.access.labels_of(namespace).get(labels.TENANT)
        if not tenant:
            return frozenset({namespace})
        watched = self.tenant_view.namespaces_of(tenant) if self.tenant_view is not None else None
        if watched is not None and namespace in watched:
            return frozenset(watched)
        body = self.kube.get(api.API_VERSION, "Tenant", tenant) or {}
        return frozenset((body.get("status") or {}).get("namespaces") or [namespace])

    def _check_edge(self, namespace: str, point: str, obj: str, what: str) -> None:
        """A reference into another namespace: free within a tenant, else the policy decides."""
        own = self.access.labels_of(namespace)
        other = self.access.labels_of(obj.partition("/")[0])
        if policy.same_tenant(own, other):
            return
        subject = policy.subject_for(namespace, own)
        decision = self.gate.check(point, [subject], obj)
        if not decision.allowed:
            raise Refused(
                reasons.POLICY_DENIED,
                f"{what} {obj} is denied for {subject}: {decision.explain()}; nothing was read "
                f"or installed. {decision.how_to_allow(subject)}",
                stalled=True,
            )

    def _chart_from_oci(self, namespace: str, name: str) -> tuple[index_mod.ChartVersion, str]:
        """The chart an OCIRepository's stored artifact holds, verified once.

        The artifact is the chart archive itself (``layerSelector.operation: copy``,
        one file) or the extracted chart: its folder, or the one folder in it.
        """
        shown = f"OCIRepository {namespace}/{name}"
        if self.artifacts is None:
            raise Refused(reasons.SOURCE_NOT_READY, f"{shown}: no artifact store here")
        source = self._read(ocirepository.KIND, namespace, name)
        found = ((source or {}).get("status") or {}).get("artifact") or {}
        if source is None or not found.get("revision"):
            raise Refused(
                reasons.SOURCE_NOT_READY,
                f"{shown} has no artifact yet" + ("" if source else " (it does not exist)"),
            )
        revision = str(found["revision"])
        stored = self.artifacts.lookup(
            namespace,
            ocirepository.store_name(name),
            ocirepository.artifact_key(revision, source.get("spec") or {}),
        )
        if stored is None:
            raise Refused(
                reasons.SOURCE_NOT_READY, f"the artifact of {shown} is not stored here yet"
            )
        cache = (f"{ocirepository.KIND}:{namespace}/{name}", stored.digest, "")
        cached = self._git_charts.get(cache)
        if cached is not None and self.store.has_chart(cached[1]):
            return cached
        where = f"{shown} at {revision}"
        try:
            data = package.from_artifact(stored.path, self.chart_limits, where)
            chart = charts.verify(data, limits=self.chart_limits, shown=where)
        except charts.ChartError as error:
            raise Refused(reasons.CHART_INVALID, error.message, stalled=True) from None
        self.store.save_chart(chart.digest, data)
        result = (index_mod.ChartVersion(chart.name, chart.version, ()), chart.digest)
        _remember(self._git_charts, cache, result)
        self._collect()
        return result

    def _chart_from_git(
        self, namespace: str, name: str, spec: model.HelmReleaseSpec
    ) -> tuple[index_mod.ChartVersion, str]:
        """A chart folder of a GitRepository's stored artifact, packaged and verified once."""
        shown = f"GitRepository {namespace}/{name}"
        if self.artifacts is None:
            raise Refused(reasons.SOURCE_NOT_READY, f"{shown}: no artifact store here")
        source = self._read("GitRepository", namespace, name)
        found = ((source or {}).get("status") or {}).get("artifact") or {}
        if source is None or not found.get("revision"):
            raise Refused(
                reasons.SOURCE_NOT_READY,
                f"{shown} has no artifact yet" + ("" if source else " (it does not exist)"),
            )
        revision = str(found["revision"])
        stored = self.artifacts.lookup(
            namespace,
            name,
            artifacts.artifact_key(
                revision.rpartition("sha1:")[2], (source.get("spec") or {}).get("ignore")
            ),
        )
        if stored is None:
            raise Refused(
                reasons.SOURCE_NOT_READY, f"the artifact of {shown} is not stored here yet"
            )
        assert spec.chart is not None
        path = spec.chart.spec.chart
        cache = (f"{namespace}/{name}", stored.digest, path)
        cached = self._git_charts.get(cache)
        if cached is not None and self.store.has_chart(cached[1]):
            return cached
        where = f"{shown} at {revision}: {path}"
        try:
            folder = package.folder_of(stored.path, path, where)
            chart_name, chart_version = package.name_of(folder, where)
            data = package.package(folder, chart_name, self.chart_limits, where)
            chart = charts.verify(data, limits=self.chart_limits, shown=where)
        except charts.ChartError as error:
            raise Refused(reasons.CHART_INVALID, error.message, stalled=True) from None
        self.store.save_chart(chart.digest, data)
        result = (index_mod.ChartVersion(chart_name, chart_version, ()), chart.digest)
        _remember(self._git_charts, cache, result)
        self._collect()
        return result

    def _chart(
        self,
        namespace: str,
        repository: dict[str, Any],
        index_digest: str,
        version: index_mod.ChartVersion,
        timeout: float,
    ) -> str:
        """The verified archive's digest, downloading and verifying it once."""
        repo_namespace = repository["metadata"]["namespace"]
        spec = repository_model.HelmRepositorySpec.of(repository)
        shown = f"chart {version.name} {version.version}"
        try:
            base = self.access.normalise(spec.url)
            self.access.decide(namespace, base.url)  # the policy may have changed since the index
            url = index_mod.chart_url(base.url, version.urls[0])
            # Whose archive this is: the repository and the URL too, never the index's
            # bytes alone (two tenants may serve the same index, with other archives).
            cache = (
                f"{repo_namespace}/{repository['metadata']['name']}",
                url,
                index_digest,
                version.name,
                version.version,
            )
            cached = self._charts.get(cache)
            if cached is not None and self.store.has_chart(cached):
                return cached
            auth = self.access.auth(
                repo_namespace,
                spec.secret_ref.name if spec.secret_ref else None,
                spec.cert_secret_ref.name if spec.cert_secret_ref else None,
            )
            response = download.get(
                url,
                check=self.access.checker(namespace, base.url),
                max_bytes=self.chart_limits.archive_bytes,
                timeout=timeout,
                auth=auth,
                credentials_host=None if spec.pass_credentials else base.host,
            )
            chart = charts.verify(response.body, limits=self.chart_limits, shown=shown)
            charts.check_identity(chart, name=version.name, version=version.version, shown=shown)
        except access_mod.DeniedError as error:
            raise Refused(reasons.POLICY_DENIED, error.message, stalled=True) from None
        except (urls.InvalidSourceError, charts.ChartError) as error:
            raise Refused(error.reason, error.message, stalled=True) from None
        except access_mod.SecretMissingError as error:
            raise Refused(error.reason, error.message) from None
        except network.BlockedAddressError as error:
            log.warning("helm release chart %s: %s", shown, error.detail)
            raise Refused(reasons.CHART_PULL_FAILED, error.message) from None
        except download.DownloadError as error:
            reason = (
                reasons.CHART_INVALID
                if error.reason == "ArtifactTooLarge"
                else reasons.CHART_PULL_FAILED
            )
            raise Refused(
                reason, f"{shown}: {error.message}", stalled=reason == reasons.CHART_INVALID
            ) from None
        if version.digest and version.digest.lower() != chart.digest.partition(":")[2]:
            raise Refused(
                reasons.CHART_INVALID,
                f"{shown}: the archive's sha256 {chart.digest} is not the digest the index "
                f"states ({version.digest})",
                stalled=True,
            )
        self.store.save_chart(chart.digest, response.body)
        _remember(self._charts, cache, chart.digest)
        self._collect()
        return chart.digest

    def _collect(self) -> None:
        """Archives no cache names any more leave the disk (the caches are bounded)."""
        kept = set(self._charts.values()) | {digest for _, digest in self._git_charts.values()}
        self.store.prune_charts(kept, older_than=CHART_GRACE)

    # -- deciding -------------------------------------------------------------------

    @staticmethod
    def _unchanged(status: dict[str, Any], desired: Desired) -> bool:
        history = status.get("history") or []
        if not history:
            return False
        last = history[0]
        return bool(
            last.get("status") == "deployed"
            and last.get("digest") == desired.chart_digest
            and last.get("configDigest") == desired.config_digest
            and status.get("lastAttemptedGeneration") == desired.generation
            and status.get("lastAttemptedConfigDigest") == desired.config_digest
            and not status.get("failures")
        )

    # -- render, check, release --------------------------------------------------------

    def _release(
        self, body: dict[str, Any], spec: model.HelmReleaseSpec, desired: Desired, timeout: float
    ) -> tuple[Outcome, dict[str, Any]]:
        assert self.helm is not None
        namespace = body["metadata"]["namespace"]
        status = body.get("status") or {}
        same = (
            status.get("lastAttemptedConfigDigest") == desired.config_digest
            and status.get("lastAttemptedRevision") == desired.chart.version
        )
        extra: dict[str, Any] = {
            "lastAttemptedRevision": desired.chart.version,
            "lastAttemptedConfigDigest": desired.config_digest,
            "lastAttemptedGeneration": desired.generation,
            "storageNamespace": desired.namespace,
            "helmChart": f"{desired.chart.name}@{desired.chart.version}",
            "failures": int(status.get("failures") or 0) if same else 0,
            "installFailures": int(status.get("installFailures") or 0) if same else 0,
            "upgradeFailures": int(status.get("upgradeFailures") or 0) if same else 0,
        }
        try:
            identity = self._identity(namespace, desired.account, timeout)
        except errors.ApiError as error:
            if error.not_found:
                return Outcome(
                    False,
                    reasons.SERVICE_ACCOUNT_NOT_FOUND,
                    f"service account {namespace}/{desired.account} does not exist; releases "
                    "run only as that account",
                ), extra
            raise
        installing = spec.install or model.Install()
        upgrading = spec.upgrade or model.Upgrade()
        try:
            offline = self.helm.template(
                release=desired.release,
                namespace=desired.namespace,
                chart=desired.chart_path,
                values=desired.values,
                timeout=timeout,
            )
        except runner.HelmError as error:
            return Outcome(False, reasons.RENDER_FAILED, error.message, stalled=True), extra
        try:
            self._check(namespace, desired, runner.Rendered(offline, (), (), 0), spec)
        except Refused as refused:
            return Outcome(False, refused.reason, refused.message, stalled=True), extra
        try:
            rendered = self.helm.render(
                identity,
                release=desired.release,
                namespace=desired.namespace,
                chart=desired.chart_path,
                values=desired.values,
                timeout=timeout,
            )
        except runner.HelmError as error:
            if _unauthorized(error):
                return self._token_refused(namespace, desired, error), extra
            if "another operation" in error.message:
                return self._unlock(body, desired, identity, timeout), extra
            return Outcome(False, reasons.RENDER_FAILED, error.message), extra
        try:
            objects = self._check(namespace, desired, rendered, spec)
        except Refused as refused:
            return Outcome(False, refused.reason, refused.message, stalled=True), extra
        manifests = yaml.safe_dump_all(objects, sort_keys=False)
        # The new desired state, before Helm writes it: its own writes are then no drift.
        self._track(body, spec, objects)
        self._uninstall_renamed(body, spec, desired, identity, timeout)
        install = rendered.version == 1
        flags: list[str] = []
        if install:
            if installing.disable_hooks:
                flags.append("--no-hooks")
        else:
            if upgrading.disable_hooks:
                flags.append("--no-hooks")
            if upgrading.cleanup_on_fail:
                flags.append("--cleanup-on-fail")
            if upgrading.force:
                flags.append("--force")
        action = "install" if install else "upgrade"
        extra["lastAttemptedReleaseAction"] = action
        tested: dict[str, Any] | None = None
        try:
            released = self.helm.upgrade(
                identity,
                release=desired.release,
                namespace=desired.namespace,
                chart=desired.chart_path,
                values=desired.values,
                manifests=manifests,
                timeout=timeout,
                flags=flags,
            )
            if spec.test is not None and spec.test.enable:
                try:
                    self.helm.test(
                        identity,
                        release=desired.release,
                        namespace=desired.namespace,
                        timeout=timeout,
                    )
                    tested = {"ok": True, "message": "Helm tests succeeded"}
                except runner.HelmError as error:
                    tested = {"ok": False, "message": error.message}
                    raise
        except runner.HelmError as error:
            self._untrack(_key_of(body))
            if _unauthorized(error):
                self.tokens.forget(namespace)  # a new one next time; this attempt counts
            return self._failed(
                body, spec, desired, identity, timeout, action, error, extra, tested
            )
        entry = _entry(released, desired)
        extra["history"] = [entry, *_older(status, entry)][: model.HISTORY]
        extra["failures"] = extra["installFailures"] = extra["upgradeFailures"] = 0
        reason = reasons.INSTALL_SUCCEEDED if install else reasons.UPGRADE_SUCCEEDED
        message = (
            f"Helm {action} succeeded for release {desired.namespace}/{desired.release}.v"
            f"{entry['version']} with chart {desired.chart.name}@{desired.chart.version}"
        )
        events.record(self.kube, body, reason=reason, message=message)
        extra["_conditions"] = [
            (reasons.RELEASED, True, reason, message),
            *(
                [(reasons.TEST_SUCCESS, True, reasons.TEST_SUCCEEDED, tested["message"])]
                if tested
                else []
            ),
        ]
        return Outcome(True, reason, message), extra

    def _check(
        self,
        namespace: str,
        desired: Desired,
        rendered: runner.Rendered,
        spec: model.HelmReleaseSpec,
    ) -> list[dict[str, Any]]:
        """Validate everything the release would create; the objects Helm is to install.

        Hooks (and tests) are checked with the rest, though Helm creates them itself;
        the other objects go through the post-renderers first, as Helm would send them.
        """
        scope = validate.Scope(
            default_namespace=desired.namespace,
            allowed_namespaces=self._allowed_namespaces(namespace),
        )
        shown = f"chart {desired.chart.name}@{desired.chart.version}"
        budget = yamlsafe.NodeBudget()  # the manifest and every hook together
        try:
            documents = yamlsafe.load_all(rendered.manifest, shown, budget)
            manifest_docs = [d for d in documents if not _is_hook(d.body)]
            hook_docs = [d for d in documents if _is_hook(d.body)] + [
                doc
                for position, text in enumerate(rendered.hooks + rendered.tests)
                for doc in yamlsafe.load_all(text, f"{shown} hook {position}", budget)
            ]
            forged = [d for d in documents + hook_docs if _helm_record(d.body)]
            if forged:
                raise yamlsafe.YamlError(
                    f"{forged[0].source}: document {forged[0].index} is a Secret in Helm's "
                    "own release format (sh.helm.release.v1.*): a chart may not write Helm's "
                    "records"
                )
            if spec.post_renderers and manifest_docs:
                manifest_docs = self._post_render(manifest_docs, spec, shown)
            checked = validate.prepare(manifest_docs + hook_docs, scope, self._namespaced)
        except yamlsafe.YamlError as error:
            raise Refused(
                reasons.VALIDATION_FAILED, f"{error.message}; nothing was installed"
            ) from None
        subject = policy.subject_for(namespace, self.access.labels_of(namespace))
        requests.decided("apply")  # the kinds of this render, not of every earlier one
        kinds = sorted({_kind_object(m) for m in checked})
        denied = [
            (kind, decision)
            for kind in kinds
            if not (decision := self.gate.check("apply", [subject], kind)).allowed
        ]
        if denied:
            listed = "; ".join(f"{kind}: {d.explain()}" for kind, d in denied[:5])
            raise Refused(
                reasons.POLICY_DENIED,
                f"{shown} renders kinds {subject} may not apply ({listed}); nothing was installed",
            )
        objects = checked[: len(manifest_docs)]
        for manifest in objects:
            manifest["metadata"].setdefault("labels", {}).update(
                {RELEASE_NAME: desired.name, RELEASE_NAMESPACE: namespace}
            )
        return objects

    def _post_render(
        self, documents: list[yamlsafe.Document], spec: model.HelmReleaseSpec, shown: str
    ) -> list[yamlsafe.Document]:
        """Each kustomize post-renderer in turn, confined (PostRenderFailed otherwise)."""
        assert self.helm is not None
        text = yaml.safe_dump_all([d.body for d in documents], sort_keys=False)
        for position, renderer in enumerate(spec.post_renderers):
            kustomization = renderer.kustomize.model_dump(by_alias=True, exclude_none=True)
            kustomization = {k: v for k, v in kustomization.items() if v}
            if not kustomization:
                continue
            try:
                text = self.helm.kustomize(
                    text, kustomization, what=f"postRenderers[{position}] of {shown}"
                )
            except runner.HelmError as error:
                raise Refused(
                    reasons.POST_RENDER_FAILED, f"{error.message}; nothing was installed"
                ) from None
        return yamlsafe.load_all(text, f"{shown} (post-rendered)")

    def _namespaced(self, api_version: str, kind: str) -> bool:
        try:
            return bool(self.kube.resource(api_version, kind).namespaced)
        except errors.ApiError:
            raise yamlsafe.YamlError(f"the cluster does not serve {kind} ({api_version})") from None

    def _identity(self, namespace: str, account: str, timeout: float = 0.0) -> runner.Identity:
        """The tenant's token, valid through everything one reconcile may run with it.

        That is a render, an upgrade, a test and a remediation, each bounded by its wall clock.
        """
        server, ca, verify = self.kube.endpoint()
        lasting = 4 * (runner.wall_seconds(timeout) if timeout else 0.0)
        return runner.Identity(
            server, self.tokens.get(namespace, account, lasting=lasting), ca, verify
        )

    def _history(
        self, identity: runner.Identity, desired: Desired, timeout: float
    ) -> list[dict[str, Any]]:
        assert self.helm is not None
        return self.helm.history(
            identity, release=desired.release, namespace=desired.namespace, timeout=timeout
        )

    def _uninstall_renamed(
        self,
        body: dict[str, Any],
        spec: model.HelmReleaseSpec,
        desired: Desired,
        identity: runner.Identity,
        timeout: float,
    ) -> None:
        """The spec names another release now: the one status recorded is uninstalled.

        As Flux does on a new ``releaseName`` or ``targetNamespace``: nothing is left unowned.
        """
        last = ((body.get("status") or {}).get("history") or [{}])[0]
        old = (last.get("name"), last.get("namespace"))
        if not old[0] or old == (desired.release, desired.namespace):
            return
        assert self.helm is not None
        try:
            self.helm.uninstall(
                identity,
                release=str(old[0]),
                namespace=str(old[1]),
                timeout=timeout,
                flags=_uninstall_flags(spec, keep_history=False),
            )
        except runner.HelmError as error:
            log.warning(
                "helm release %s: the old release %s/%s stays: %s",
                _key_of(body),
                old[1],
                old[0],
                error.message,
            )
            return
        events.record(
            self.kube,
            body,
            reason=reasons.UNINSTALL_SUCCEEDED,
            message=f"the release is now {desired.namespace}/{desired.release}: "
            f"uninstalled the old one, {old[1]}/{old[0]}",
        )

    def _unlock(
        self, body: dict[str, Any], desired: Desired, identity: runner.Identity, timeout: float
    ) -> Outcome:
        """A release left pending by a helm that was stopped: back to its last good state.

        Helm refuses every operation on a release whose last record is ``pending-*``
        ("another operation is in progress"). Landlord runs one operation per release
        at a time, so such a record is a leftover: it is rolled back to the last
        deployed release, or uninstalled when there is none, and the reconcile retried.
        """
        assert self.helm is not None
        history = self._history_quietly(identity, desired, timeout)
        latest = history[-1] if history else {}
        where = f"{desired.namespace}/{desired.release}"
        if not str(latest.get("status") or "").startswith("pending"):
            return Outcome(False, reasons.RENDER_FAILED, f"{where}: another operation is running")
        try:
            if any(item.get("status") in ("deployed", "superseded") for item in history[:-1]):
                self.helm.rollback(
                    identity, release=desired.release, namespace=desired.namespace, timeout=timeout
                )
                left = f"{latest.get('status')} at v{latest.get('revision')}"
                done = f"rolled back the release left {left}"
            else:
                self.helm.uninstall(
                    identity, release=desired.release, namespace=desired.namespace, timeout=timeout
                )
                done = f"uninstalled the release left {latest.get('status')}"
        except runner.HelmError as error:
            return Outcome(False, reasons.REMEDIATED, f"{where}: unlocking failed: {error.message}")
        events.record(self.kube, body, reason=reasons.REMEDIATED, message=f"{where}: {done}")
        return Outcome(
            False, reasons.PROGRESSING, f"{where}: {done}; trying again", requeue_after=1.0
        )

    def _token_refused(self, namespace: str, desired: Desired, error: runner.HelmError) -> Outcome:
        """The apiserver refused the token (its account was made again?): a new one next time.

        Not a failed release: nothing was installed, and no retry is spent on it.
        """
        self.tokens.forget(namespace)
        return Outcome(
            False,
            reasons.SERVICE_ACCOUNT_NOT_FOUND,
            f"the apiserver refused the token of {namespace}/{desired.account} "
            f"({error.message[:200]}); a new one is requested on the next try",
        )

    # -- drift ----------------------------------------------------------------------

    @staticmethod
    def _mode(spec: model.HelmReleaseSpec) -> str:
        return spec.drift_detection.mode if spec.drift_detection else "enabled"

    def _track(
        self, body: dict[str, Any], spec: model.HelmReleaseSpec, objects: list[dict[str, Any]]
    ) -> None:
        """Keep ``objects`` as what the release should hold (nothing, with drift off)."""
        key = _key_of(body)
        if self.drift is None or self._mode(spec) == "disabled":
            self._manifests.pop(key, None)
            if self.drift is not None:
                self.drift.forget(key)
            return
        self._manifests[key] = objects
        self.drift.record(key, objects)

    def _untrack(self, key: str) -> None:
        """A failed release: its objects are whatever Helm left; nothing to compare with."""
        self._manifests.pop(key, None)
        if self.drift is not None:
            self.drift.forget(key)

    def _drift(
        self,
        key: str,
        body: dict[str, Any],
        spec: model.HelmReleaseSpec,
        desired: Desired,
        timeout: float,
    ) -> Outcome | None:
        """Repair (or, in ``warn`` mode, report) what changed since the release; None: nothing.

        After a restart the desired objects are rendered again as the tenant (no write),
        checked, and tracked from then on.
        """
        if self.drift is None or self._mode(spec) == "disabled":
            self._track(body, spec, [])
            return None
        if key not in self._manifests:
            assert self.helm is not None
            namespace = body["metadata"]["namespace"]
            try:
                identity = self._identity(namespace, desired.account, timeout)
                rendered = self.helm.render(
                    identity,
                    release=desired.release,
                    namespace=desired.namespace,
                    chart=desired.chart_path,
                    values=desired.values,
                    timeout=timeout,
                )
                self._track(body, spec, self._check(namespace, desired, rendered, spec))
            except (runner.HelmError, Refused, errors.ApiError) as error:
                log.warning("helm release %s: cannot track drift: %s", key, error)
            return None
        found = self.drift.take(key)
        if not found:
            return None
        listed = ", ".join(str(d) for d in found[:10]) + (
            f" (and {len(found) - 10} more)" if len(found) > 10 else ""
        )
        if self._mode(spec) == "warn":
            events.record(
                self.kube,
                body,
                reason=reasons.DRIFT_DETECTED,
                message=f"drift from the release (mode warn: not repaired): {listed}",
                warning=True,
            )
            return None
        wanted = {_entry_id(m): m for m in self._manifests.get(key, [])}
        tenant = self.kube.as_service_account(body["metadata"]["namespace"], desired.account)
        repaired = []
        for drift in found:
            manifest = wanted.get(drift.entry.id)
            if manifest is None:
                continue
            try:
                tenant.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)
            except errors.ApiError as error:
                message = f"drift repair of {drift.entry} failed: {error.message}"
                return Outcome(False, reasons.DRIFT_REPAIR_FAILED, message)
            repaired.append(str(drift))
        if repaired:
            events.record(
                self.kube,
                body,
                reason=reasons.DRIFT_REPAIRED,
                message="repaired as the tenant: " + ", ".join(repaired[:10]),
            )
        return None

    # -- failure and remediation -----------------------------------------------------

    def _failed(
        self,
        body: dict[str, Any],
        spec: model.HelmReleaseSpec,
        desired: Desired,
        identity: runner.Identity,
        timeout: float,
        action: str,
        error: runner.HelmError,
        extra: dict[str, Any],
        tested: dict[str, Any] | None,
    ) -> tuple[Outcome, dict[str, Any]]:
        assert self.helm is not None
        install = action == "install"
        counter = "installFailures" if install else "upgradeFailures"
        extra["failures"] = int(extra["failures"]) + 1
        extra[counter] = int(extra[counter]) + 1
        failed_reason = reasons.INSTALL_FAILED if install else reasons.UPGRADE_FAILED
        what = "test" if tested is not None and not tested["ok"] else action
        message = (
            f"Helm {what} failed for release {desired.namespace}/{desired.release}: {error.message}"
        )
        events.record(self.kube, body, reason=failed_reason, message=message, warning=True)
        history = self._history_quietly(identity, desired, timeout)
        found: list[tuple[str, bool, str, str]] = [
            (reasons.RELEASED, False, failed_reason, message)
        ]
        if tested is not None and not tested["ok"]:
            found.append((reasons.TEST_SUCCESS, False, reasons.TEST_FAILED, tested["message"]))
        remediation = (
            (spec.install.remediation if spec.install else None)
            if install
            else (spec.upgrade.remediation if spec.upgrade else None)
        )
        retries = remediation.retries if remediation else 0
        left = retries < 0 or int(extra[counter]) <= retries
        last = remediation.remediate_last_failure if remediation else None
        remediate_last = bool(last) if last is not None else (not install and retries > 0)
        strategy = (
            (remediation.strategy if remediation and remediation.strategy else "rollback")
            if not install
            else "uninstall"
        )
        if left or remediate_last:
            found.append(self._remediate(body, spec, desired, identity, timeout, strategy, history))
            history = self._history_quietly(identity, desired, timeout)  # what remediation left
        # Helm's own record, newest first (a release uninstalled without history has none).
        extra["history"] = [_entry_of_history(item, desired) for item in reversed(history)][
            : model.HISTORY
        ]
        extra["_conditions"] = found
        if left:
            return Outcome(False, failed_reason, message, requeue_after=RETRY), extra
        exhausted = (
            f"{message}; {extra[counter]} {action} failure(s), remediation retries "
            f"({retries}) exhausted: waiting for a new chart version, values or spec"
        )
        return Outcome(False, reasons.RETRIES_EXCEEDED, exhausted, stalled=True), extra

    def _remediate(
        self,
        body: dict[str, Any],
        spec: model.HelmReleaseSpec,
        desired: Desired,
        identity: runner.Identity,
        timeout: float,
        strategy: str,
        history: list[dict[str, Any]],
    ) -> tuple[str, bool, str, str]:
        assert self.helm is not None
        where = f"{desired.namespace}/{desired.release}"
        can_roll_back = any(item.get("status") in ("superseded", "deployed") for item in history)
        try:
            if strategy == "rollback" and can_roll_back:
                self.helm.rollback(
                    identity,
                    release=desired.release,
                    namespace=desired.namespace,
                    timeout=timeout,
                    flags=_rollback_flags(spec),
                )
                reason, message = (
                    reasons.ROLLBACK_SUCCEEDED,
                    f"Helm rollback of {where} to the previous release succeeded",
                )
            else:
                self.helm.uninstall(
                    identity,
                    release=desired.release,
                    namespace=desired.namespace,
                    timeout=timeout,
                    flags=_uninstall_flags(spec),
                )
                reason, message = (
                    reasons.UNINSTALL_SUCCEEDED,
                    f"Helm uninstall of {where} succeeded",
                )
        except runner.HelmError as error:
            failed = (
                reasons.ROLLBACK_FAILED
                if strategy == "rollback" and can_roll_back
                else reasons.UNINSTALL_FAILED
            )
            message = f"remediation of {where} failed: {error.message}"
            events.record(self.kube, body, reason=failed, message=message, warning=True)
            return (reasons.REMEDIATED, False, failed, message)
        events.record(self.kube, body, reason=reason, message=message)
        return (reasons.REMEDIATED, True, reason, message)

    def _history_quietly(
        self, identity: runner.Identity, desired: Desired, timeout: float
    ) -> list[dict[str, Any]]:
        try:
            return self._history(identity, desired, timeout)
        except runner.HelmError as error:
            log.warning(
                "helm history of %s/%s: %s", desired.namespace, desired.release, error.message
            )
            return []

    # -- deletion -------------------------------------------------------------------

    def _finalize(self, key: str, body: dict[str, Any]) -> Outcome | None:
        """Uninstall as the tenant, then let the HelmRelease go."""
        if FINALIZER not in (body["metadata"].get("finalizers") or []):
            return None
        namespace, _, name = key.partition("/")
        status = body.get("status") or {}
        annotations = body["metadata"].get("annotations") or {}
        orphan = annotations.get(labels.DELETION_POLICY) == "Orphan"
        if orphan:
            log.info("helm release %s: deleted with deletion-policy Orphan; left installed", key)
        attempted = status.get("history") or status.get("lastAttemptedReleaseAction")
        if attempted and self.helm is not None and not orphan:
            try:
                spec = model.HelmReleaseSpec.of(body)
            except pydantic.ValidationError:
                spec = None
            if spec is not None:
                account = spec.service_account_name or labels.RECONCILER_SERVICE_ACCOUNT
                # The release Helm made, as status recorded it (the spec may name another).
                last = (status.get("history") or [{}])[0]
                release = str(last.get("name") or spec.name_of_release(name))
                target = str(
                    last.get("namespace")
                    or status.get("storageNamespace")
                    or spec.target_namespace
                    or namespace
                )
                try:
                    identity = self._identity(namespace, account)
                    self.helm.uninstall(
                        identity,
                        release=release,
                        namespace=target,
                        timeout=DEFAULT_TIMEOUT,
                        flags=_uninstall_flags(spec),
                    )
                    log.info(
                        "helm release %s: uninstalled %s/%s as the tenant", key, target, release
                    )
                    events.record(
                        self.kube,
                        body,
                        reason=reasons.UNINSTALL_SUCCEEDED,
                        message=f"Helm uninstall of {target}/{release} succeeded",
                    )
                except (runner.HelmError, errors.ApiError) as error:
                    if not self._namespace_going(namespace):
                        message = getattr(error, "message", str(error))
                        kube_status.warn_on_change(
                            self.kube, body, reasons.UNINSTALL_FAILED, message
                        )
                        return Outcome(
                            False, reasons.UNINSTALL_FAILED, message, requeue_after=RETRY
                        )
                    log.info(
                        "helm release %s: its namespace is being deleted; not uninstalled", key
                    )
        finalizers.remove(self.kube, body, FINALIZER)
        self.forget(key)
        self.tokens.forget(namespace)
        return None

    def _namespace_going(self, namespace: str) -> bool:
        found = self.kube.get("v1", "Namespace", namespace)
        return found is None or bool(found["metadata"].get("deletionTimestamp"))

    # -- status ---------------------------------------------------------------------

    def _finish(
        self,
        key: str,
        body: dict[str, Any],
        outcome: Outcome,
        requested: str | None,
        every: float,
        extra: dict[str, Any] | None = None,
    ) -> Outcome:
        interval = durations.jittered(every)
        if outcome.ready or outcome.stalled:
            self._next[key] = time.monotonic() + interval
        else:
            self._next.pop(key, None)
        requeue = (
            outcome.requeue_after
            if outcome.requeue_after is not None
            else (None if outcome.stalled else (interval if outcome.ready else RETRY))
        )
        outcome = dataclasses.replace(outcome, requeue_after=requeue)
        return self._write(body, outcome, requested, extra)

    def _write(
        self,
        body: dict[str, Any],
        outcome: Outcome,
        requested: str | None,
        extra: dict[str, Any] | None = None,
    ) -> Outcome:
        existing = body.get("status") or {}
        generation = int(body["metadata"].get("generation") or 1)
        extra = dict(extra or {})
        wanted = extra.pop("_conditions", None)
        summary = conditions.of(
            outcome, generation=generation, existing=existing.get("conditions") or []
        )
        kept_types = {reasons.RELEASED, reasons.TEST_SUCCESS, reasons.REMEDIATED}
        if wanted is None:
            others = [c for c in existing.get("conditions") or [] if c.get("type") in kept_types]
        else:
            others = conditions.merge(
                existing.get("conditions") or [],
                [
                    conditions.condition(t, s, r, m[:32000], observed_generation=generation)
                    for t, s, r, m in wanted
                ],
            )
        new: dict[str, Any] = {
            "observedGeneration": generation,
            "conditions": summary + others,
            **extra,
        }
        if requested:
            new["lastHandledReconcileAt"] = requested
        if not outcome.ready:
            kube_status.warn_on_change(self.kube, body, outcome.reason, outcome.message)
        kube_status.patch_if_changed(self.kube, body, new)
        with self._lock:
            self._status[_key_of(body)] = (
                body["metadata"].get("uid"),
                {**existing, **new},
            )
        return outcome


def _uninstall_flags(spec: model.HelmReleaseSpec, *, keep_history: bool = True) -> list[str]:
    """``helm uninstall`` flags from ``spec.uninstall``."""
    options = spec.uninstall or model.Uninstall()
    return [
        *(["--keep-history"] if options.keep_history and keep_history else []),
        *(["--no-hooks"] if options.disable_hooks else []),
    ]


def _rollback_flags(spec: model.HelmReleaseSpec) -> list[str]:
    """``helm rollback`` flags from ``spec.rollback``."""
    options = spec.rollback or model.Rollback()
    return [
        *(["--no-hooks"] if options.disable_hooks else []),
        *(["--cleanup-on-fail"] if options.cleanup_on_fail else []),
        *(["--force"] if options.force else []),
    ]


def _helm_record(body: dict[str, Any]) -> bool:
    """Whether an object would be (or pass for) one of Helm's stored release records."""
    if body.get("kind") != "Secret":
        return False
    name = str((body.get("metadata") or {}).get("name") or "")
    return name.startswith("sh.helm.release.") or body.get("type") == "helm.sh/release.v1"


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > CACHE:
        cache.pop(next(iter(cache)))


def _unauthorized(error: runner.HelmError) -> bool:
    return "Unauthorized" in error.message or "must be logged in" in error.message


def _is_hook(body: dict[str, Any]) -> bool:
    return "helm.sh/hook" in ((body.get("metadata") or {}).get("annotations") or {})


def _key_of(body: dict[str, Any]) -> str:
    return f"{body['metadata']['namespace']}/{body['metadata']['name']}"


def _entry_id(manifest: dict[str, Any]) -> str:
    """The inventory id of a manifest (``<namespace>_<name>_<group>_<kind>``, Flux's form)."""
    metadata = manifest.get("metadata") or {}
    group = str(manifest.get("apiVersion") or "").rpartition("/")[0]
    return (
        f"{metadata.get('namespace') or ''}_{metadata.get('name')}_{group}_{manifest.get('kind')}"
    )


def _stalled(reason: str, message: str) -> Outcome:
    return Outcome(False, reason, message, stalled=True)


def _kind_object(manifest: dict[str, Any]) -> str:
    group = manifest["apiVersion"].rpartition("/")[0] or "core"
    return f"{group}/{manifest['kind']}"


def _exhausted(status: dict[str, Any], desired: Desired) -> bool:
    return bool(
        status.get("lastAttemptedConfigDigest") == desired.config_digest
        and status.get("lastAttemptedRevision") == desired.chart.version
        and status.get("lastAttemptedGeneration") == desired.generation
        and conditions.is_true(status.get("conditions") or [], conditions.STALLED)
        and (conditions.get(status.get("conditions") or [], conditions.READY) or {}).get("reason")
        == reasons.RETRIES_EXCEEDED
    )


def _released_reason(status: dict[str, Any]) -> str:
    released = conditions.get(status.get("conditions") or [], reasons.RELEASED) or {}
    return str(released.get("reason") or reasons.INSTALL_SUCCEEDED)


def _deployed_message(entry: dict[str, Any]) -> str:
    return (
        f"release {entry.get('namespace')}/{entry.get('name')}.v{entry.get('version')} with chart "
        f"{entry.get('chartName')}@{entry.get('chartVersion')} is deployed"
    )


def _entry(released: dict[str, Any], desired: Desired) -> dict[str, Any]:
    info = released.get("info") or {}
    return {
        "name": desired.release,
        "namespace": desired.namespace,
        "version": int(released.get("version") or 0),
        "status": str(info.get("status") or "unknown"),
        "chartName": desired.chart.name,
        "chartVersion": desired.chart.version,
        "digest": desired.chart_digest,
        "configDigest": desired.config_digest,
        "firstDeployed": str(info.get("first_deployed") or ""),
        "lastDeployed": str(info.get("last_deployed") or ""),
    }


def _entry_of_history(item: dict[str, Any], desired: Desired) -> dict[str, Any]:
    chart = str(item.get("chart") or "")
    name, _, version = chart.rpartition("-")
    return {
        "name": desired.release,
        "namespace": desired.namespace,
        "version": int(item.get("revision") or 0),
        "status": str(item.get("status") or "unknown"),
        "chartName": name or chart,
        "chartVersion": version,
        "lastDeployed": str(item.get("updated") or ""),
    }


def _older(status: dict[str, Any], entry: dict[str, Any]) -> list[dict[str, Any]]:
    older = []
    for item in status.get("history") or []:
        if item.get("version") == entry["version"]:
            continue
        if item.get("status") == "deployed":
            item = {**item, "status": "superseded"}
        older.append(item)
    return older
