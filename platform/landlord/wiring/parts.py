"""The operator's parts that settings alone decide: sandbox, kustomize, fairness, drift off."""

from __future__ import annotations

import logging
import os
import pathlib
from collections.abc import Callable, Iterable
from typing import Any

from landlord import settings as settings_mod
from landlord.api import labels as api_labels
from landlord.cluster import binaries
from landlord.gitops import sandbox, sops
from landlord.runtime.namespaces import NamespaceLabels
from landlord.sync.decryption import Decrypting, sweep
from landlord.sync.drift import DriftTracker

log = logging.getLogger(__name__)

# Decrypted copies of an artifact live on a tmpfs where there is one: never on a disk.
SHM = pathlib.Path("/dev/shm")  # noqa: S108 - the kernel's tmpfs, a private folder inside it


def fairness_group(namespaces: NamespaceLabels) -> Callable[[str], str]:
    """The fairness group of a ``namespace/name`` key: its tenant, else its namespace.

    Grouping by namespace alone would give a tenant with two namespaces every
    worker. The tenant label is the one the tenant operator sets on the
    namespaces it provisions; a namespace not seen yet counts alone.
    """

    def group_of(key: str) -> str:
        namespace = key.partition("/")[0]
        tenant = (namespaces.get(namespace) or {}).get(api_labels.TENANT)
        return f"tenant:{tenant}" if tenant else f"namespace:{namespace}"

    return group_of


def build_sandbox(config: settings_mod.Settings) -> sandbox.Sandbox:
    """The build sandbox, probed once; says at start whether builds will run confined."""
    built = sandbox.from_settings(config.sandbox)
    problem = built.check()
    if problem is None:
        log.info("build sandbox: bubblewrap confines every kustomize build and git archive")
    elif config.sandbox.mode == "unconfined":
        log.warning("build sandbox: %s", problem)
    else:
        log.error("build sandbox: %s", problem)
    return built


def kustomize(config: settings_mod.Settings) -> pathlib.Path | None:
    """The kustomize binary that `landlord cluster build` put in the cache, if any."""
    found = binaries.find(
        "kustomize", cache_dir=config.cluster.cache_dir, assets_dir=config.cluster.assets_dir
    )
    if found is None:
        log.warning(
            "kustomize is not built (run `landlord cluster build`); revisions with a "
            "kustomization.yaml will fail to build"
        )
    return found


def helm(config: settings_mod.Settings) -> pathlib.Path | None:
    """The helm binary that `landlord cluster build` put in the cache, if any."""
    found = binaries.find(
        "helm", cache_dir=config.cluster.cache_dir, assets_dir=config.cluster.assets_dir
    )
    if found is None:
        log.warning(
            "helm is not built (run `landlord cluster build`); HelmReleases will wait with "
            "reason SandboxUnavailable"
        )
    return found


def decrypting(config: settings_mod.Settings, built: sandbox.Sandbox) -> Decrypting:
    """How the sync decrypts SOPS files: the cached sops, the settings, a tmpfs for the copies."""
    found = binaries.find(
        "sops", cache_dir=config.cluster.cache_dir, assets_dir=config.cluster.assets_dir
    )
    if found is None:
        log.warning(
            "sops is not built (run `landlord cluster build`); Kustomizations with "
            "spec.decryption will fail with reason DecryptionFailed"
        )
    scratch = config.sync.decryption_dir
    if scratch is None and SHM.is_dir() and os.access(SHM, os.W_OK):
        scratch = SHM
    swept = sweep(scratch)
    if swept:
        log.warning("removed %d decrypted copies a stopped operator left behind", swept)
    return Decrypting(
        sops.Sops(found, built, scratch=scratch),
        require_encrypted=config.sync.require_encrypted_secrets,
        max_files=config.sync.max_encrypted_files,
        scratch=scratch,
    )


class NoDriftTracker(DriftTracker):
    """The tracker with drift detection off: it keeps nothing, so nothing is ever clean.

    The syncs then run their whole pipeline on every interval, which is the only
    repair left; no desired state is held in memory for watches that do not run.
    """

    def record(self, key: str, manifests: Iterable[dict[str, Any]], cluster: str = "local") -> None:
        self.forget(key)
