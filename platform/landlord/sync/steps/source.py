"""The source step: the GitRepository or OCIRepository a Kustomization names, and its artifact."""

from __future__ import annotations

import pathlib
from typing import Any

from landlord import api
from landlord.api import kustomization as model
from landlord.api import ocirepository, reasons
from landlord.gitops import artifacts
from landlord.kube import Kube
from landlord.sync.failure import SyncError


def read(kube: Kube, own: str, spec: model.KustomizationSpec) -> dict[str, Any] | None:
    """The source (None: absent). Only after the gatekeeper allowed the edge."""
    ref = spec.source_ref
    return kube.get(api.API_VERSION, ref.kind, ref.name, spec.source_namespace(own))


def revision_of(source: dict[str, Any] | None) -> str | None:
    """The revision of a source's artifact, if it has one."""
    revision = (((source or {}).get("status") or {}).get("artifact") or {}).get("revision")
    return str(revision) if revision else None


def artifact(
    store: artifacts.ArtifactStore,
    own: str,
    spec: model.KustomizationSpec,
    source: dict[str, Any] | None,
) -> tuple[str, pathlib.Path]:
    """The revision and the local path of its stored artifact; ArtifactFailed if not there yet."""
    where, name, kind = spec.source_namespace(own), spec.source_ref.name, spec.source_ref.kind
    if source is None:
        raise SyncError(reasons.ARTIFACT_FAILED, f"{kind} {where}/{name} not found")
    found = (source.get("status") or {}).get("artifact")
    if not found:
        raise SyncError(reasons.ARTIFACT_FAILED, f"{kind} {where}/{name} has no artifact yet")
    revision = str(found["revision"])
    source_spec = source.get("spec") or {}
    if kind == ocirepository.KIND:
        folder = ocirepository.store_name(name)
        key = ocirepository.artifact_key(revision, source_spec)
    else:
        folder = name
        key = artifacts.artifact_key(revision.rpartition("sha1:")[2], source_spec.get("ignore"))
    stored = store.lookup(where, folder, key)
    if stored is None:
        message = f"the artifact for {revision} is not stored yet"
        if where != own:  # fetched by whichever operator owns that namespace
            message += (
                f"; a {kind} in {where} is stored by the shard that handles {where}, "
                "so it reaches this Kustomization only if both are on the same shard"
            )
        raise SyncError(reasons.ARTIFACT_FAILED, message)
    return revision, stored.path
