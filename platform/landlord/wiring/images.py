"""The operator's image automation: three reconcilers, their controllers, who wakes whom.

Built once by :class:`~landlord.wiring.composition.Operator` when the ``images``
feature is on; its watch handlers call :meth:`Images.changed`. A scan whose tag
list changed wakes the ImagePolicies naming that ImageRepository; a policy whose
latest image moved wakes the ImageUpdateAutomations of its tenant's namespaces;
a push wakes the GitRepository (``on_pushed``) so the sync sees the commit now.
Callbacks come from worker threads and reach the controllers through the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

from landlord import policy
from landlord import settings as settings_mod
from landlord.api import imagepolicy, imagerepository, imageupdateautomation, labels
from landlord.git import network
from landlord.gitops import durations
from landlord.images import access as access_mod
from landlord.images.automation import AutomationReconciler
from landlord.images.policies import ImagePolicyReconciler
from landlord.images.scan import ImageRepositoryReconciler
from landlord.images.store import TagStore
from landlord.kube import Kube
from landlord.policy import requests
from landlord.runtime import controller
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome

REPOSITORY = imagerepository.KIND
POLICY = imagepolicy.KIND
AUTOMATION = imageupdateautomation.KIND
KINDS = (REPOSITORY, POLICY, AUTOMATION)
# kind → the plural its watch is registered for.
PLURALS = {
    REPOSITORY: "imagerepositories",
    POLICY: "imagepolicies",
    AUTOMATION: "imageupdateautomations",
}


class Images:
    """ImageRepository, ImagePolicy and ImageUpdateAutomation controllers and their links."""

    def __init__(
        self,
        kube: Kube,
        *,
        config: settings_mod.Settings,
        gate: policy.Gate,
        namespaces: NamespaceLabels,
        network_policy: network.NetworkPolicy | None,
        bounds: durations.Bounds,
        group_of: Callable[[str], str],
        may_own: Callable[[str], bool],
        owns: Callable[[str], bool] = lambda key: True,
        on_pushed: Callable[[str, str], None] = lambda namespace, name: None,
    ) -> None:
        self.kube = kube
        self.may_own = may_own
        self.owns = owns
        root = config.sources.storage_dir / "images"
        self.access = access_mod.Access(
            kube,
            gate=gate,
            namespaces=namespaces,
            platform_namespace=config.platform_namespace,
            network_policy=network_policy,
        )
        store = TagStore(root / "tags", max_tags=config.oci.max_tags)
        self.repositories = ImageRepositoryReconciler(
            kube,
            access=self.access,
            store=store,
            bounds=bounds,
            max_tags=config.oci.max_tags,
            max_manifest_bytes=config.oci.max_manifest_bytes,
            allow_insecure=config.oci.allow_insecure,
            on_scanned=self._scanned,
        )
        self.policies = ImagePolicyReconciler(
            kube, access=self.access, store=store, on_latest=self._latest
        )
        self.automations = AutomationReconciler(
            kube,
            access=self.access,
            workdir=root / "automations",
            allowed_schemes=config.sources.allowed_schemes,
            bounds=bounds,
            push_attempts=config.images.push_attempts,
            max_files=config.images.max_files,
            max_file_bytes=config.images.max_file_bytes,
            on_pushed=on_pushed,
        )
        workers = config.images.workers
        self.controllers: dict[str, controller.Controller] = {
            REPOSITORY: controller.Controller(
                "imagerepository",
                requests.attributed(
                    REPOSITORY, self._owned(self.repositories.reconcile), gate.recorder
                ),
                workers=workers,
                resync=float("inf"),  # each scans on its own interval (the outcome's requeue)
                group_of=group_of,
            ),
            POLICY: controller.Controller(
                "imagepolicy",
                requests.attributed(POLICY, self._owned(self.policies.reconcile), gate.recorder),
                workers=workers,
                resync=float("inf"),
                group_of=group_of,
            ),
            AUTOMATION: controller.Controller(
                "imageupdateautomation",
                requests.attributed(
                    AUTOMATION, self._owned(self.automations.reconcile), gate.recorder
                ),
                workers=workers,
                resync=float("inf"),
                group_of=group_of,
            ),
        }
        self._lock = threading.Lock()
        self._policy_repository: dict[str, str] = {}  # ImagePolicy → the ImageRepository it names
        self._automations: set[str] = set()  # every ImageUpdateAutomation seen
        self._loop: asyncio.AbstractEventLoop | None = None

    def _owned(self, reconcile: Callable[[str], Outcome | None]) -> Callable[[str], Outcome | None]:
        """``reconcile``, for the keys this shard owns (another shard's: nothing)."""

        def run(key: str) -> Outcome | None:
            return reconcile(key) if self.owns(key) else None

        return run

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def changed(self, kind: str, body: Mapping[str, Any], *, deleted: bool) -> None:
        """A watch event of one of the three kinds (on the event loop)."""
        metadata = body.get("metadata") or {}
        key = f"{metadata.get('namespace')}/{metadata.get('name')}"
        with self._lock:
            if kind == POLICY:
                if deleted:
                    self._policy_repository.pop(key, None)
                else:
                    named = self.policies.repository_of(dict(body))
                    if named is not None:
                        self._policy_repository[key] = named
            elif kind == AUTOMATION:
                if deleted:
                    self._automations.discard(key)
                else:
                    self._automations.add(key)
        if self.may_own(key):
            self.controllers[kind].enqueue(key)

    def policies_naming(self, namespace: str, name: str) -> list[str]:
        with self._lock:
            return sorted(
                key
                for key, named in self._policy_repository.items()
                if named == f"{namespace}/{name}"
            )

    def automations_for(self, namespace: str) -> list[str]:
        """The automations that may use a policy of ``namespace``: its tenant's."""
        tenant = self.access.labels_of(namespace).get(labels.TENANT)
        with self._lock:
            keys = sorted(self._automations)
        found = []
        for key in keys:
            where = key.partition("/")[0]
            if where == namespace or (
                tenant and self.access.labels_of(where).get(labels.TENANT) == tenant
            ):
                found.append(key)
        return found

    # -- from worker threads ------------------------------------------------------------

    def _scanned(self, namespace: str, name: str) -> None:
        for key in self.policies_naming(namespace, name):
            self._wake(POLICY, key)

    def _latest(self, namespace: str, name: str) -> None:
        for key in self.automations_for(namespace):
            self._wake(AUTOMATION, key)

    def _wake(self, kind: str, key: str) -> None:
        if self._loop is not None and self.may_own(key):
            self._loop.call_soon_threadsafe(self.controllers[kind].enqueue, key, 0.0)
