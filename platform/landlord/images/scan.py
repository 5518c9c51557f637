"""ImageRepository: scan an image's tags on its interval, keep the last good list.

One reconcile reads top to bottom: spec → interval → image name → the policy's
``source`` point on ``oci://host/path`` (denied: Stalled, the registry never
contacted) → credentials from the Secrets → the tag list (every URL the client
connects to passes :meth:`Access.checker`; more tags than ``LANDLORD_OCI__MAX_TAGS``
is an error, not a truncated list) → the exclusion list (RE2) → store → status.
A failed scan keeps the tags of the last good one; ImagePolicies are woken only
when the list changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pydantic
import re2  # type: ignore[import-untyped]

from landlord import api, errors
from landlord.api import conditions, invalid, reasons
from landlord.api import imagerepository as model
from landlord.git import network, urls
from landlord.gitops import durations
from landlord.images import access as access_mod
from landlord.images import status
from landlord.images.store import Scan, TagStore
from landlord.kube import Kube
from landlord.oci import client as oci_client
from landlord.oci import reference
from landlord.runtime.outcome import Outcome

log = logging.getLogger(__name__)

# A failing scan is tried again this soon (its interval may be an hour).
RETRY = 30.0


class ImageRepositoryReconciler:
    """Scans one ImageRepository per reconcile."""

    def __init__(
        self,
        kube: Kube,
        *,
        access: access_mod.Access,
        store: TagStore,
        bounds: durations.Bounds,
        max_tags: int,
        max_manifest_bytes: int,
        allow_insecure: bool,
        on_scanned: Callable[[str, str], None] = lambda namespace, name: None,
    ) -> None:
        self.kube = kube
        self.access = access
        self.store = store
        self.bounds = bounds
        self.max_tags = max_tags
        self.max_manifest_bytes = max_manifest_bytes
        self.allow_insecure = allow_insecure
        self.on_scanned = on_scanned

    def reconcile(self, key: str) -> Outcome | None:
        namespace, _, name = key.partition("/")
        body = self.kube.get(api.API_VERSION, model.KIND, name, namespace)
        if body is None:
            self.store.forget(namespace, name)
            self.on_scanned(namespace, name)
            return None
        try:
            spec = model.ImageRepositorySpec.of(body)
        except pydantic.ValidationError as error:
            return status.write(self.kube, body, status.stalled(invalid.describe(error)), {})
        if spec.suspend:
            return Outcome(skipped=True)
        try:
            interval = durations.interval(
                spec.durations(), "interval", durations.parse(model.DEFAULT_INTERVAL), self.bounds
            )
            timeout = durations.timeout(
                spec.durations(), "timeout", durations.parse(model.DEFAULT_TIMEOUT), self.bounds
            )
        except durations.OutOfBoundsError as error:
            return status.write(
                self.kube, body, status.stalled(str(error), reasons.INVALID_DURATION), {}
            )
        outcome, extra = self._scan(namespace, name, spec, timeout, body)
        if outcome.ready:
            outcome = Outcome(True, outcome.reason, outcome.message, requeue_after=interval)
        elif not outcome.stalled:
            outcome = Outcome(
                False, outcome.reason, outcome.message, requeue_after=min(RETRY, interval)
            )
        return status.write(self.kube, body, outcome, extra)

    def _scan(
        self,
        namespace: str,
        name: str,
        spec: model.ImageRepositorySpec,
        timeout: float,
        body: dict[str, Any],
    ) -> tuple[Outcome, dict[str, Any]]:
        secrets: list[str] = []
        try:
            exclusions = _compiled(spec.exclusion_list)
            repository = reference.Repository.image(spec.image)
        except reference.InvalidReferenceError as error:
            return status.stalled(f"spec.image: {error}", reasons.INVALID_IMAGE), {}
        except ValueError as error:
            return status.stalled(str(error)), {}
        extra: dict[str, Any] = {"canonicalImageName": repository.name}
        if spec.insecure and not self.allow_insecure:
            message = (
                "spec.insecure (plain HTTP to the registry) is not allowed on this platform "
                "(LANDLORD_OCI__ALLOW_INSECURE); the registry was not contacted"
            )
            return status.stalled(message, reasons.INSECURE_NOT_ALLOWED), extra
        try:
            self.access.decide_registry(namespace, repository)
            auth = (
                self.access.secret_data(namespace, spec.secret_ref.name, "spec.secretRef")
                if spec.secret_ref
                else None
            )
            certs = (
                self.access.secret_data(namespace, spec.cert_secret_ref.name, "spec.certSecretRef")
                if spec.cert_secret_ref
                else None
            )
            for data in (auth, certs):
                secrets += access_mod.decoded(data or {})
            credentials = (
                oci_client.Credentials.from_secrets(auth, certs, repository.host)
                if auth or certs
                else None
            )
            if credentials is not None:
                secrets += credentials.secret_values()
            client = oci_client.Client(
                repository,
                credentials=credentials,
                check=self.access.checker(namespace, repository, insecure=spec.insecure),
                timeout=timeout,
                max_manifest_bytes=self.max_manifest_bytes,
                insecure=spec.insecure,
            )
            tags = client.tags(limit=self.max_tags)
        except access_mod.DeniedError as error:
            return status.stalled(error.message, reasons.POLICY_DENIED), extra
        except network.BlockedAddressError as error:
            # The tenant sees what an unreachable host shows; the operator's log why.
            log.warning(
                "imagerepository %s/%s: %s", namespace, name, urls.redact(error.detail, secrets)
            )
            return Outcome(False, error.reason, error.message), extra
        except oci_client.OciError as error:
            return Outcome(False, error.reason, urls.redact(error.message, secrets)), extra
        except errors.LandlordError as error:
            reason = str(getattr(error, "reason", "") or reasons.SECRET_NOT_FOUND)
            return Outcome(False, reason, urls.redact(error.message, secrets)), extra
        kept = tuple(tag for tag in tags if not any(p.search(tag) for p in exclusions))
        previous = self.store.load(namespace, name)
        now = conditions.now()
        self.store.save(namespace, name, Scan(repository.name, kept, now))
        if previous is None or previous.tags != kept or previous.image != repository.name:
            self.on_scanned(namespace, name)
        extra["lastScanResult"] = {
            "tagCount": len(kept),
            "scanTime": now,
            "latestTags": sorted(kept, reverse=True)[: model.LATEST_TAGS],
        }
        message = f"successful scan: found {len(kept)} tags"
        return Outcome(True, reasons.SUCCEEDED, message), extra


def _compiled(patterns: tuple[str, ...]) -> tuple[Any, ...]:
    """``spec.exclusionList`` compiled with RE2 (linear time, as Flux's Go regexp)."""
    options = re2.Options()
    options.log_errors = False  # a tenant's bad pattern is its status, not our log
    compiled = []
    for index, pattern in enumerate(patterns):
        try:
            compiled.append(re2.compile(pattern, options=options))
        except re2.error as error:
            raw = error.args[0] if error.args else "invalid"
            why = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            raise ValueError(
                f"spec.exclusionList[{index}] {pattern[:80]!r} is not a regular expression "
                f"RE2 accepts ({why})"
            ) from None
    return tuple(compiled)
