"""The build step: the revision's documents at ``spec.path``, then postBuild substitution."""

from __future__ import annotations

import base64
import dataclasses
import pathlib

from landlord import errors
from landlord.api import kustomization as model
from landlord.api import reasons
from landlord.gitops import sandbox as sandbox_mod
from landlord.gitops.yamlsafe import Document, YamlError
from landlord.kube import Kube
from landlord.sync import build as build_mod
from landlord.sync import substitute
from landlord.sync.failure import SyncError


def build(
    root: pathlib.Path,
    spec: model.KustomizationSpec,
    *,
    kustomize: pathlib.Path | None,
    sandbox: sandbox_mod.Sandbox,
) -> list[Document]:
    """The documents of the artifact at ``root``; the build's own reason when it fails."""
    try:
        return build_mod.build(root, spec.path, kustomize=kustomize, sandbox=sandbox)
    except YamlError as error:
        raise SyncError(error.reason, error.message) from None


def variables(
    tenant: Kube, namespace: str, post_build: model.PostBuild | None
) -> dict[str, str] | None:
    """The postBuild variables, read as the tenant (None: no postBuild)."""
    if post_build is None:
        return None
    found: dict[str, str] = {}
    for ref in post_build.substitute_from or ():
        try:
            obj = tenant.get("v1", ref.kind, ref.name, namespace)
        except errors.ApiError as error:
            raise SyncError(
                reasons.BUILD_FAILED, f"substituteFrom {ref.kind} {ref.name}: {error.message}"
            ) from None
        if obj is None:
            if ref.optional:
                continue
            raise SyncError(
                reasons.BUILD_FAILED, f"substituteFrom {ref.kind} {namespace}/{ref.name} not found"
            )
        data = obj.get("data") or {}
        if ref.kind == "Secret":
            data = {k: base64.b64decode(v).decode() for k, v in data.items()}
        found.update(data)
    found.update(post_build.substitute or {})
    return checked(found)


def checked(found: dict[str, str]) -> dict[str, str]:
    """``found``, or BuildFailed naming a variable whose name is not allowed."""
    try:
        substitute.check_names(found, "postBuild")
    except YamlError as error:
        raise SyncError(reasons.BUILD_FAILED, error.message) from None
    return found


def substituted(documents: list[Document], found: dict[str, str] | None) -> list[Document]:
    """Each document with ``${var}`` replaced (unchanged without postBuild)."""
    if found is None:
        return documents
    try:
        return [
            dataclasses.replace(
                doc,
                body=substitute.substitute(doc.body, found, f"{doc.source}: document {doc.index}"),
            )
            for doc in documents
        ]
    except YamlError as error:
        raise SyncError(error.reason, error.message) from None
