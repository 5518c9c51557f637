"""What a switched-off feature leaves behind, removed at start-up.

Only what nothing else manages goes: the source controller's working clones,
the sync's finalizer on Kustomizations, the onboarding API's working clones.
Applied objects, stored artifacts (the sync and the policy read them) and the
objects Tenants declare stay; switching the feature on again restores the rest.
Nothing here stops start-up: what cannot be removed is logged and left.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from typing import Any

from landlord import api, errors, kube
from landlord import settings as settings_mod
from landlord.api import labels
from landlord.tenants.features import Features
from landlord.wiring import api_workdir

log = logging.getLogger(__name__)

CONFLICT_ATTEMPTS = 3


def source_clones(config: settings_mod.Settings) -> None:
    """Sources off: the working clones the fetches keep (the next fetch clones again)."""
    shutil.rmtree(config.sources.storage_dir / "git", ignore_errors=True)


def image_state(config: settings_mod.Settings) -> None:
    """Images off: the scanned tag lists and the automations' working clones (made again)."""
    shutil.rmtree(config.sources.storage_dir / "images", ignore_errors=True)


def sync_finalizers(kube_client: kube.Kube) -> int:
    """Sync off: the sync's finalizer on every Kustomization and HelmRelease; how many went.

    With nobody to run it, the finalizer would hold a deleted Kustomization or
    HelmRelease (and a Tenant offboarding that waits for it) for ever; its objects
    stay, as with Orphan (a release is not uninstalled). The sync puts it back on
    its first reconcile after it is on again. One that cannot be released is
    logged and counted; the others still are.
    """
    removed = 0
    for kind in ("Kustomization", "HelmRelease"):
        removed += _release_all(kube_client, kind)
    return removed


def _release_all(kube_client: kube.Kube, kind: str) -> int:
    try:
        items = kube_client.list_objects(api.API_VERSION, kind)
    except errors.ApiError as error:
        if not error.not_found:  # not found: no CRD, nothing to release
            log.warning("sync off: could not list %ss: %s", kind, error.message)
        return 0
    removed = failed = 0
    for item in items:
        metadata = item["metadata"]
        try:
            removed += _unfinalize(kube_client, kind, metadata["namespace"], metadata["name"], item)
        except errors.ApiError as error:
            failed += 1
            log.warning(
                "sync off: the finalizer of %s %s/%s stays: %s",
                kind,
                metadata["namespace"],
                metadata["name"],
                error.message,
            )
    if failed:
        log.warning("sync off: %d %s(s) keep the sync's finalizer", failed, kind)
    return removed


def _unfinalize(
    kube_client: kube.Kube, kind: str, namespace: str, name: str, body: dict[str, Any] | None
) -> int:
    """Remove the sync's finalizer from one object (re-read on a conflict); 1 if done."""
    for _ in range(CONFLICT_ATTEMPTS):
        if body is None:
            return 0
        metadata = body["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        if labels.FINALIZER not in finalizers:
            return 0
        patch = {
            "metadata": {
                "finalizers": [f for f in finalizers if f != labels.FINALIZER],
                "resourceVersion": metadata["resourceVersion"],
            }
        }
        try:
            kube_client.merge_patch(api.API_VERSION, kind, name, patch, namespace)
        except errors.ApiError as error:
            if error.not_found:
                return 0
            if not error.conflict:
                raise
            body = kube_client.get(api.API_VERSION, kind, name, namespace)
            continue
        return 1
    log.warning("%s %s/%s kept changing; its finalizer stays", kind, namespace, name)
    return 0


def api_clones(config: settings_mod.Settings) -> bool:
    """API off: its working clones of the platform repository; whether they were removed.

    Only the clones' directory Landlord marked as its own goes (the workdir itself
    too, once empty); nothing when the workdir overlaps the sources' storage.
    """
    workdir = config.api.workdir
    if api_workdir.overlaps(workdir, config.sources.storage_dir):
        log.warning(
            "api off: LANDLORD_API__WORKDIR (%s) overlaps LANDLORD_SOURCES__STORAGE_DIR (%s); "
            "nothing removed there",
            workdir,
            config.sources.storage_dir,
        )
        return False
    clones = api_workdir.ours(workdir)
    if clones is None:
        return False
    shutil.rmtree(clones, ignore_errors=True)
    with contextlib.suppress(OSError):
        workdir.rmdir()  # only if nothing else is in it
    return True


def leftovers(config: settings_mod.Settings, features: Features, kube_client: kube.Kube) -> None:
    """Remove what every switched-off feature left (blocking: run it on a thread)."""
    if not features.sources:
        source_clones(config)
    if not features.sync:
        removed = sync_finalizers(kube_client)
        log.info(
            "sync off: removed the sync finalizer from %d Kustomization(s) and HelmRelease(s)",
            removed,
        )
    if not features.api:
        api_clones(config)
    if not features.images:
        image_state(config)
    if features.off():
        log.info("features off: %s", ", ".join(features.off()))
