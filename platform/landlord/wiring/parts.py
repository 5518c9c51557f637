"""The operator's parts that settings alone decide: sandbox, kustomize, fairness, drift off."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable, Iterable
from typing import Any

from landlord import settings as settings_mod
from landlord.api import labels as api_labels
from landlord.cluster import binaries
from landlord.gitops import sandbox
from landlord.runtime.namespaces import NamespaceLabels
from landlord.sync.drift import DriftTracker

log = logging.getLogger(__name__)


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


class NoDriftTracker(DriftTracker):
    """The tracker with drift detection off: it keeps nothing, so nothing is ever clean.

    The syncs then run their whole pipeline on every interval, which is the only
    repair left; no desired state is held in memory for watches that do not run.
    """

    def record(self, key: str, manifests: Iterable[dict[str, Any]], cluster: str = "local") -> None:
        self.forget(key)
