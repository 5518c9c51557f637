"""Where the operator reads its policy from: a folder, a ConfigMap or the platform repository.

Each reader returns a :class:`~landlord.policy.engine.Snapshot` or raises
:class:`~landlord.policy.PolicyError`; the policy reloader polls it. Reading is
cheap (one GET, or two files) so polling every few seconds costs nothing.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

from landlord import api, errors, kube
from landlord import settings as settings_mod
from landlord.gitops import artifacts
from landlord.policy.engine import DEFAULTS, PolicyError, Snapshot

PLATFORM_SOURCE = "platform"


def built_in(why: str) -> Snapshot:
    """The policy shipped with Landlord."""
    return Snapshot.from_directory(DEFAULTS, origin=f"the policy shipped with Landlord ({why})")


def reader(
    config: settings_mod.Settings,
    *,
    kube_client: kube.Kube,
    store: artifacts.ArtifactStore,
    cached: Callable[[str, str], dict[str, Any] | None] | None = None,
) -> Callable[[], Snapshot]:
    """The reader the settings choose: path, else configmap, else the platform repository."""
    settings = config.policy
    if settings.path is not None:
        path = settings.path

        def from_path() -> Snapshot:
            return Snapshot.from_directory(path)

        return from_path
    namespace = config.platform_namespace
    if settings.configmap:
        name = settings.configmap

        def from_configmap() -> Snapshot:
            body = kube_client.get("v1", "ConfigMap", name, namespace)
            if body is None:
                raise PolicyError([f"ConfigMap {namespace}/{name} not found"])
            data = body.get("data") or {}
            missing = [k for k in ("model.conf", "policy.csv") if k not in data]
            if missing:
                raise PolicyError([f"ConfigMap {namespace}/{name} has no key {', '.join(missing)}"])
            return Snapshot(data["model.conf"], data["policy.csv"], f"ConfigMap {namespace}/{name}")

        return from_configmap
    if config.shard.name:
        # Only the default shard fetches the platform repository: a named shard would
        # enforce the shipped policy forever instead of the platform's.
        raise errors.TerminalError(
            f"shard {config.shard.name} cannot read the policy from the platform repository "
            "(the default shard fetches it)",
            hint="give every shard the policy as a ConfigMap: LANDLORD_POLICY__CONFIGMAP "
            "(the chart's policy.model and policy.csv)",
        )
    folder = settings.repo_path.strip("/")

    def from_platform_repository() -> Snapshot:
        # The watch cache when it has the platform source: a poll then costs no request.
        source = (cached(namespace, PLATFORM_SOURCE) if cached else None) or kube_client.get(
            api.API_VERSION, "GitRepository", PLATFORM_SOURCE, namespace
        )
        artifact = ((source or {}).get("status") or {}).get("artifact")
        if not source or not artifact:
            return built_in("the platform repository has not been fetched yet")
        sha = artifact["revision"].rpartition("sha1:")[2]
        key = artifacts.artifact_key(sha, (source.get("spec") or {}).get("ignore"))
        stored = store.lookup(namespace, PLATFORM_SOURCE, key)
        if stored is None:
            return built_in(f"the artifact of {artifact['revision']} is not stored yet")
        path = pathlib.Path(stored.path) / folder
        if not path.is_dir():
            return built_in(f"the platform repository has no {folder}/ folder")
        return Snapshot.from_directory(
            path, origin=f"{folder}/ of the platform repository at {artifact['revision']}"
        )

    return from_platform_repository
