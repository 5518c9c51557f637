"""The validate step: namespaces set and checked, names and kinds the cluster serves."""

from __future__ import annotations

from typing import Any

from landlord import errors
from landlord.api import reasons
from landlord.gitops import validate
from landlord.gitops.yamlsafe import Document, YamlError
from landlord.kube import Kube
from landlord.sync.failure import SyncError


def namespaced(tenant: Kube, api_version: str, kind: str) -> bool:
    """Whether the cluster serves ``kind`` as namespaced (YamlError if it does not serve it)."""
    try:
        return bool(tenant.resource(api_version, kind).namespaced)
    except errors.ApiError:
        raise YamlError(f"the cluster does not serve {kind} ({api_version})") from None


def manifests(
    tenant: Kube, documents: list[Document], scope: validate.Scope
) -> list[dict[str, Any]]:
    """The manifests to apply, or ValidationFailed: nothing of the revision is applied."""
    try:
        return validate.prepare(documents, scope, lambda v, k: namespaced(tenant, v, k))
    except YamlError as error:
        raise SyncError(reasons.VALIDATION_FAILED, error.message) from None


def own(manifests: list[dict[str, Any]], owner: dict[str, str]) -> None:
    """Label every manifest with the Kustomization that applies it."""
    for manifest in manifests:
        manifest["metadata"].setdefault("labels", {}).update(owner)
