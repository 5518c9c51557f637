"""Checks before any write: names, kinds, and that every object lands in the tenant's namespaces."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

from landlord.api import reasons
from landlord.gitops.yamlsafe import Document, YamlError

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Kinds whose names follow a looser rule (the apiserver checks them itself).
LOOSE_NAMES = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


class ValidationError(YamlError):
    """An object the sync refuses to apply; nothing of the revision is applied."""

    reason = reasons.VALIDATION_FAILED


@dataclasses.dataclass(frozen=True)
class Scope:
    """Where a Kustomization may apply."""

    default_namespace: str
    allowed_namespaces: frozenset[str] | None  # None: the platform sync, anywhere
    target_namespace: str | None = None


def prepare(
    documents: Iterable[Document], scope: Scope, namespaced: Callable[[str, str], bool]
) -> list[dict[str, Any]]:
    """Set namespaces, then refuse anything out of bounds; returns the manifests to apply."""
    manifests = []
    seen: set[tuple[str, str, str, str]] = set()
    for document in documents:
        body = document.body
        where = (
            f"{document.source}: document {document.index} ({body['kind']} "
            f"{body['metadata']['name']})"
        )
        name = str(body["metadata"]["name"])
        if len(name) > 253 or (
            body["kind"] not in LOOSE_NAMES and not DNS1123_SUBDOMAIN.match(name)
        ):
            raise ValidationError(f"{where}: name {name!r} is not a valid DNS-1123 name")
        if namespaced(body["apiVersion"], body["kind"]):
            metadata = body["metadata"]
            if scope.target_namespace:
                metadata["namespace"] = scope.target_namespace
            metadata.setdefault("namespace", scope.default_namespace)
            namespace = metadata["namespace"]
            if scope.allowed_namespaces is not None and namespace not in scope.allowed_namespaces:
                raise ValidationError(
                    f"{where}: namespace {namespace!r} is not one of the tenant's namespaces "
                    f"({', '.join(sorted(scope.allowed_namespaces))})"
                )
        else:
            body["metadata"].pop("namespace", None)
            if scope.allowed_namespaces is not None:
                raise ValidationError(
                    f"{where}: {body['kind']} is cluster-scoped; tenants may only apply "
                    "namespaced objects"
                )
        key = (
            body["apiVersion"].rpartition("/")[0],
            body["kind"],
            body["metadata"].get("namespace", ""),
            name,
        )
        if key in seen:
            raise ValidationError(f"{where}: the revision defines this object twice")
        seen.add(key)
        manifests.append(body)
    return manifests
