"""The fetch step: check the URL and the policy, look up the ref, fetch only when it moved.

An unchanged remote costs one ``ls-remote`` and no fetch. Every failure is an
:class:`~landlord.runtime.outcome.Outcome` with its own reason and the last
good artifact kept, so nothing downstream prunes because of it. Secrets never
reach a message: credentials are redacted from everything shown.
"""

from __future__ import annotations

import logging
import pathlib
import time
from typing import Any

from landlord import git as git_mod
from landlord import policy, telemetry
from landlord.api import conditions, reasons
from landlord.api.gitrepository import GitRepositorySpec
from landlord.git import network, urls
from landlord.git.credentials import Credentials
from landlord.gitops import artifacts, durations
from landlord.gitops import sandbox as sandbox_mod
from landlord.kube import Kube
from landlord.runtime.outcome import Outcome
from landlord.sources import refs, selection
from landlord.sources.selection import Target
from landlord.sources.tenancy import Tenancy

log = logging.getLogger(__name__)

Artifact = dict[str, Any]  # ``status.artifact``: revision, digest, lastUpdateTime


class Fetcher:
    """Fetches one GitRepository's selected commit into the artifact store."""

    def __init__(
        self,
        kube: Kube,
        *,
        tenancy: Tenancy,
        store: artifacts.ArtifactStore,
        workdir: pathlib.Path,
        allowed_schemes: list[str],
        limits: artifacts.Limits,
        gate: policy.Gate,
        platform_namespace: str,
        sandbox: sandbox_mod.Sandbox,
        bounds: durations.Bounds,
        default_timeout: float,
        network_policy: network.NetworkPolicy | None = None,
        metrics: telemetry.Metrics | None = None,
    ) -> None:
        self.kube = kube
        self.tenancy = tenancy
        self.store = store
        self.workdir = workdir
        self.allowed_schemes = allowed_schemes
        self.limits = limits
        self.gate = gate
        self.platform_namespace = platform_namespace
        self.sandbox = sandbox
        self.bounds = bounds
        self.default_timeout = default_timeout
        # Where tenants' sources may connect (None: anywhere; the platform's own
        # source is never checked).
        self.network_policy = network_policy
        self.metrics = metrics

    def fetch(
        self, namespace: str, name: str, spec: GitRepositorySpec, previous: Artifact | None
    ) -> tuple[Outcome, Artifact | None]:
        """The outcome, and the artifact status should show (``previous`` on failure)."""
        url = spec.url
        shown = urls.redact(urls.strip_credentials(url))
        secrets: list[str] = [urls.url_credentials(url)[1] or ""]
        try:
            urls.validate_url(url, self.allowed_schemes)
            # One spelling for the policy, the fetch and the status (GitRemote
            # normalises the same way).
            source = urls.normalise(url)
            shown = source.url
            denied = self._denied(namespace, source.url, shown)
            if denied:
                return Outcome(False, reasons.POLICY_DENIED, denied, stalled=True), previous
            ref = refs.Ref.from_spec(spec.ref.given() if spec.ref else None)
            creds = self._credentials(namespace, spec)
            if creds is not None:
                secrets += creds.secret_values()
            remote = git_mod.GitRemote(
                url,
                creds,
                workdir=self.workdir / namespace / name,
                timeout=durations.timeout(
                    spec.durations(), "timeout", self.default_timeout, self.bounds
                ),
                resolution=self._resolve(namespace, source),
            )
            began = time.monotonic()
            remote_refs = remote.ls_remote()
            self._count(namespace, name, "ls-remote", time.monotonic() - began)
            target = selection.choose(ref, remote_refs, shown)
            key = artifacts.artifact_key(target.sha, spec.ignore)
            stored = self.store.lookup(namespace, name, key)
            if stored is None:
                stored = self._fetch_new(remote, target, namespace, name, key, spec.ignore)
        except urls.InvalidSourceError as error:
            message = urls.redact(str(error), secrets)
            return Outcome(False, reasons.INVALID_SOURCE, message, stalled=True), previous
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
            return Outcome(False, reasons.INVALID_SOURCE, str(error), stalled=True), previous
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
        message = f"stored artifact for revision '{target.revision}'"
        return Outcome(True, reasons.SOURCE_SUCCEEDED, message), artifact

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
        subject = policy.subject_for(namespace, self.tenancy.labels_of(namespace))
        decision = self.gate.check("source", [subject], url)
        if decision.allowed:
            return None
        return (
            f"{subject} may not use the source {shown}: {decision.explain()}; nothing was "
            f"fetched. {decision.how_to_allow(subject)}"
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
                reason=reasons.ARTIFACT_TOO_LARGE,
            )
        with remote.open_archive(
            target.sha, self.sandbox, max_bytes=artifacts.archive_cap(self.limits)
        ) as archive:
            stored = self.store.store(
                namespace, name, key, archive, ignore=ignore, limits=self.limits
            )
        if not remote.fresh:  # a first fetch into a new clone leaves nothing to collect
            remote.prune()
        self._count(namespace, name, "fetch", time.monotonic() - began, size)
        return stored

    def _credentials(self, namespace: str, spec: GitRepositorySpec) -> Credentials | None:
        if spec.secret_ref is None:
            return None
        name = spec.secret_ref.name
        secret = self.kube.get("v1", "Secret", name, namespace)
        if secret is None:
            raise git_mod.GitError(
                f"Secret {namespace}/{name} (spec.secretRef) not found",
                reason=reasons.SECRET_NOT_FOUND,
            )
        return Credentials.from_secret(secret.get("data"), name)

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
