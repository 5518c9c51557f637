"""ImagePolicy: pick the latest of its ImageRepository's tags, say so, wake the automations.

spec → the ImageRepository reference (another tenant's namespace: the policy's
``source`` point decides ``<namespace>/<name>``, as for a sourceRef) → its last
good scan (none yet: not Ready, woken when one lands) → ``tagpolicy.select`` (a
bad range, pattern or extract: Stalled) → status ``latestImage``/``latestRef``;
when the latest image moved, an Event and the automations that may use it.
"""

from __future__ import annotations

from collections.abc import Callable

import pydantic

from landlord import api
from landlord.api import imagepolicy as model
from landlord.api import imagerepository, invalid, reasons
from landlord.images import access as access_mod
from landlord.images import status, tagpolicy
from landlord.images.store import TagStore
from landlord.kube import Kube, events
from landlord.runtime.outcome import Outcome

# How soon a policy whose repository has no scan yet looks again (a scan wakes it sooner).
WAIT = 30.0
# A Ready policy is chosen again this often anyway (a scan wakes it at once).
RECHECK = 600.0


class ImagePolicyReconciler:
    """Chooses one ImagePolicy's latest image per reconcile."""

    def __init__(
        self,
        kube: Kube,
        *,
        access: access_mod.Access,
        store: TagStore,
        on_latest: Callable[[str, str], None] = lambda namespace, name: None,
    ) -> None:
        self.kube = kube
        self.access = access
        self.store = store
        self.on_latest = on_latest

    def repository_of(self, body: dict[str, object]) -> str | None:
        """``namespace/name`` of the ImageRepository a policy body names (None: unreadable)."""
        spec = body.get("spec")
        ref = spec.get("imageRepositoryRef") if isinstance(spec, dict) else None
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
            return None
        metadata = body.get("metadata")
        own = metadata.get("namespace") if isinstance(metadata, dict) else None
        return f"{ref.get('namespace') or own}/{ref['name']}"

    def reconcile(self, key: str) -> Outcome | None:
        namespace, _, name = key.partition("/")
        body = self.kube.get(api.API_VERSION, model.KIND, name, namespace)
        if body is None:
            self.on_latest(namespace, name)
            return None
        try:
            spec = model.ImagePolicySpec.of(body)
        except pydantic.ValidationError as error:
            return status.write(self.kube, body, status.stalled(invalid.describe(error)), {})
        ref = spec.image_repository_ref
        where = ref.namespace or namespace
        try:
            tagpolicy.validate(
                spec.policy.as_dict(), spec.filter_tags.as_dict() if spec.filter_tags else None
            )
        except tagpolicy.InvalidPolicyError as error:
            return status.write(
                self.kube, body, status.stalled(str(error), reasons.INVALID_POLICY), {}
            )
        try:
            self.access.cross_namespace(namespace, where, ref.name, "spec.imageRepositoryRef")
        except access_mod.DeniedError as error:
            return status.write(
                self.kube, body, status.stalled(error.message, reasons.POLICY_DENIED), {}
            )
        repository = self.kube.get(api.API_VERSION, imagerepository.KIND, ref.name, where)
        scan = self.store.load(where, ref.name) if repository is not None else None
        if scan is None:
            message = f"ImageRepository {where}/{ref.name} " + (
                "not found" if repository is None else "has not been scanned yet"
            )
            outcome = Outcome(False, reasons.DEPENDENCY_NOT_READY, message, requeue_after=WAIT)
            return status.write(self.kube, body, outcome, {})
        try:
            tag = tagpolicy.select(
                scan.tags,
                spec.policy.as_dict(),
                spec.filter_tags.as_dict() if spec.filter_tags else None,
            )
        except tagpolicy.InvalidPolicyError as error:
            return status.write(
                self.kube, body, status.stalled(str(error), reasons.INVALID_POLICY), {}
            )
        if tag is None:
            why = tagpolicy.why_none(
                scan.tags,
                spec.policy.as_dict(),
                spec.filter_tags.as_dict() if spec.filter_tags else None,
            )
            outcome = Outcome(
                False,
                reasons.NO_MATCHING_TAG,
                f"none of the {len(scan.tags)} tags of {scan.image} qualifies: {why}",
            )
            return status.write(self.kube, body, outcome, {})
        latest = f"{scan.image}:{tag}"
        previous = (body.get("status") or {}).get("latestImage")
        extra: dict[str, object] = {
            "latestImage": latest,
            "latestRef": {"name": scan.image, "tag": tag},
        }
        if previous and previous != latest:
            extra["observedPreviousImage"] = previous
        outcome = Outcome(
            True,
            reasons.SUCCEEDED,
            f"Latest image tag for {scan.image} resolved to {tag}",
            requeue_after=RECHECK,
        )
        status.write(self.kube, body, outcome, extra)
        if previous != latest:
            events.record(
                self.kube,
                body,
                reason=reasons.NEW_IMAGE,
                message=(
                    f"Latest image tag for {scan.image} updated from "
                    f"{previous.rpartition(':')[2] if previous else '(none)'} to {tag}"
                ),
            )
            self.on_latest(namespace, name)
        return outcome
