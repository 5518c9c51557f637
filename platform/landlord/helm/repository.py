"""Reconcile one HelmRepository: fetch its index when due, store it, write status.

The URL is decided before any request (:mod:`.access`); the index is fetched
with a size cap and a timeout, parsed with caps (:mod:`.index`), stored by its
digest, and announced to the HelmReleases using it. A failure keeps the last
good index, so no release is touched because of it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import pydantic

from landlord import api, errors
from landlord.api import conditions, invalid, labels, reasons
from landlord.api import helmrepository as model
from landlord.git import network, urls
from landlord.gitops import durations
from landlord.helm import access as access_mod
from landlord.helm import download
from landlord.helm import index as index_mod
from landlord.helm.store import ChartStore
from landlord.kube import Kube, events
from landlord.kube import status as kube_status
from landlord.runtime.outcome import Outcome

log = logging.getLogger(__name__)

KIND = model.KIND
DEFAULT_INTERVAL = durations.parse(model.DEFAULT_INTERVAL)
DEFAULT_TIMEOUT = durations.parse(model.DEFAULT_TIMEOUT)

# Called with (namespace, name, digest) once a new index is in status.
OnIndex = Callable[[str, str, str], None]


class HelmRepositoryReconciler:
    """Fetches HelmRepository indexes into the chart store."""

    def __init__(
        self,
        kube: Kube,
        *,
        store: ChartStore,
        access: access_mod.Access,
        max_index_bytes: int,
        bounds: durations.Bounds | None = None,
        on_index: OnIndex | None = None,
    ) -> None:
        self.kube = kube
        self.store = store
        self.access = access
        self.max_index_bytes = max_index_bytes
        self.bounds = bounds or durations.Bounds()
        self.on_index = on_index
        self._next_check: dict[str, float] = {}
        self._policy_version: dict[str, int] = {}

    def reconcile(self, key: str) -> Outcome | None:
        """Bring ``namespace/name`` up to date; None when the HelmRepository is gone."""
        namespace, _, name = key.partition("/")
        body = self.kube.get(api.API_VERSION, KIND, name, namespace)
        if body is None or body["metadata"].get("deletionTimestamp"):
            self._next_check.pop(key, None)
            self._policy_version.pop(key, None)
            self.store.forget_index(namespace, name)
            return None
        requested = (body["metadata"].get("annotations") or {}).get(labels.REQUESTED_AT)
        gate_version = self.access.gate.version
        fresh = conditions.handled(body) and self._policy_version.get(key) == gate_version
        now = time.monotonic()
        if fresh and now < self._next_check.get(key, 0.0):
            return Outcome(skipped=True, requeue_after=self._next_check[key] - now)
        previous = (body.get("status") or {}).get("artifact")
        try:
            spec = model.HelmRepositorySpec.of(body)
        except pydantic.ValidationError as error:
            return self._write(
                body, _stalled(reasons.INVALID_SPEC, invalid.describe(error)), previous, requested
            )
        if spec.suspend:
            return Outcome(skipped=True)
        try:
            every = durations.interval(spec.durations(), "interval", DEFAULT_INTERVAL, self.bounds)
            timeout = durations.timeout(spec.durations(), "timeout", DEFAULT_TIMEOUT, self.bounds)
        except durations.OutOfBoundsError as error:
            return self._write(
                body, _stalled(reasons.INVALID_DURATION, str(error)), previous, requested
            )
        self._policy_version[key] = gate_version
        outcome, artifact = self._fetch(namespace, name, spec, timeout, previous)
        interval = durations.jittered(every)
        self._next_check[key] = time.monotonic() + interval
        outcome = dataclasses.replace(outcome, requeue_after=None if outcome.stalled else interval)
        return self._write(body, outcome, artifact, requested, url=_shown(spec.url))

    def _fetch(
        self,
        namespace: str,
        name: str,
        spec: model.HelmRepositorySpec,
        timeout: float,
        previous: dict[str, Any] | None,
    ) -> tuple[Outcome, dict[str, Any] | None]:
        if spec.type == "oci":
            return (
                _stalled(
                    reasons.INVALID_SPEC,
                    "HelmRepository type 'oci' is not supported yet; use an HTTP(S) chart "
                    "repository (docs/helm.md)",
                ),
                previous,
            )
        secrets: list[str] = []
        try:
            source = self.access.normalise(spec.url)
            self.access.decide(namespace, source.url)  # before the Secret or any request
            auth = self.access.auth(
                namespace,
                spec.secret_ref.name if spec.secret_ref else None,
                spec.cert_secret_ref.name if spec.cert_secret_ref else None,
            )
            if auth is not None and auth.password:
                secrets.append(auth.password)
            response = download.get(
                index_mod.index_url(source.url),
                check=self.access.checker(namespace, source.url),
                max_bytes=self.max_index_bytes,
                timeout=timeout,
                auth=auth,
                credentials_host=source.host,
            )
            digest = download.digest_of(response.body)
            known = (previous or {}).get("digest") == digest and self.store.load_index(
                namespace, name, digest
            )
            # The same bytes as the stored index: not parsed again (50 MiB cost seconds).
            index = known or index_mod.parse(response.body, source=f"{source.url}/index.yaml")
        except (
            urls.InvalidSourceError,
            access_mod.DeniedError,
            index_mod.InvalidIndexError,
        ) as error:
            return _stalled(error.reason, urls.redact(error.message, secrets)), previous
        except network.BlockedAddressError as error:
            log.warning("helm repository %s/%s: %s", namespace, name, error.detail)
            return Outcome(False, error.reason, error.message), previous
        except download.DownloadError as error:
            return Outcome(False, error.reason, urls.redact(error.message, secrets)), previous
        except errors.LandlordError as error:
            return Outcome(False, error.reason, urls.redact(error.message, secrets)), previous
        if not known:
            self.store.save_index(namespace, name, digest, index)
        artifact = {
            "revision": digest,
            "digest": digest,
            "size": len(response.body),
            "charts": len(index.charts),
            "lastUpdateTime": conditions.now(),
        }
        if previous and previous.get("digest") == digest:
            artifact["lastUpdateTime"] = previous.get("lastUpdateTime", artifact["lastUpdateTime"])
        message = (
            f"stored index {digest[:19]}… with {len(index.charts)} charts "
            f"({index.versions} versions)"
        )
        return Outcome(True, reasons.SOURCE_SUCCEEDED, message), artifact

    def _write(
        self,
        body: dict[str, Any],
        outcome: Outcome,
        artifact: dict[str, Any] | None,
        requested: str | None,
        *,
        url: str | None = None,
    ) -> Outcome:
        existing = body.get("status") or {}
        generation = body["metadata"].get("generation")
        new: dict[str, Any] = {
            "observedGeneration": generation,
            "conditions": conditions.of(
                outcome, generation=int(generation or 1), existing=existing.get("conditions") or []
            ),
        }
        if artifact is not None:
            new["artifact"] = artifact
        if url is not None:
            new["url"] = url
        if requested:
            new["lastHandledReconcileAt"] = requested
        old = (existing.get("artifact") or {}).get("digest")
        fresh = outcome.ready and artifact is not None and artifact["digest"] != old
        if fresh and artifact is not None:
            events.record(self.kube, body, reason=reasons.NEW_ARTIFACT, message=outcome.message)
        if not outcome.ready:
            kube_status.warn_on_change(self.kube, body, outcome.reason, outcome.message)
        kube_status.patch_if_changed(self.kube, body, new)
        if fresh and self.on_index is not None and artifact is not None:
            self.on_index(
                body["metadata"]["namespace"], body["metadata"]["name"], str(artifact["digest"])
            )
        return outcome


def _stalled(reason: str, message: str) -> Outcome:
    return Outcome(False, reason, message, stalled=True)


def _shown(url: str) -> str:
    try:
        return urls.normalise(url).url
    except urls.InvalidSourceError:
        return urls.redact(urls.strip_credentials(url))
