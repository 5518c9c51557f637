"""Tenant files in the platform repository: written from the typed model, read back safely."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import yaml

from landlord import api
from landlord.api import labels
from landlord.api.tenant import TenantSpec
from landlord.onboarding import text
from landlord.telemetry import TRACEPARENT_SIGNATURE

HEADER = (
    "# Managed by the Landlord onboarding API: changes made here by hand are kept,\n"
    "# and the next API change of this tenant starts from them.\n"
)


@dataclasses.dataclass(frozen=True)
class TenantFile:
    """One Tenant as committed: where, its spec, and whether it is alone in its file."""

    name: str
    path: str
    spec: dict[str, Any]
    annotations: dict[str, str]
    alone: bool
    # The platform team's labels (its shard among them): an update keeps them.
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


def spec_document(spec: TenantSpec) -> dict[str, Any]:
    """The spec as a Tenant file holds it: Kubernetes field names, only what was given."""
    dumped: dict[str, Any] = spec.model_dump(
        mode="json", by_alias=True, exclude_unset=True, exclude_none=True
    )
    return dumped


def render(
    name: str,
    spec: dict[str, Any],
    annotations: dict[str, str],
    tenant_labels: dict[str, str] | None = None,
) -> bytes:
    """A Tenant manifest, dumped with the safe dumper (no tags, no anchors)."""
    metadata: dict[str, Any] = {"name": name}
    if tenant_labels:
        metadata["labels"] = dict(sorted(tenant_labels.items()))
    metadata["annotations"] = dict(sorted(annotations.items()))
    manifest = {"apiVersion": api.API_VERSION, "kind": "Tenant", "metadata": metadata, "spec": spec}
    body = yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return (HEADER + body).encode()


def request_annotations(
    *,
    request_id: str,
    traceparent: str | None,
    user: str,
    time: str,
    operation: str,
    traceparent_signature: str | None = None,
) -> dict[str, str]:
    """The annotations that tie a committed Tenant to the request that wrote it.

    Each value is one bounded printable line (:func:`text.one_line`): the user
    name is the caller's to choose, and readers of annotations take them as facts.
    """
    found = {
        labels.REQUEST_ID: text.one_line(request_id),
        labels.REQUESTED_BY: text.one_line(user),
        labels.REQUEST_TIME: text.one_line(time),
        labels.REQUEST_OPERATION: text.one_line(operation),
    }
    if traceparent:
        found[labels.TRACEPARENT] = traceparent
    if traceparent and traceparent_signature:
        found[TRACEPARENT_SIGNATURE] = traceparent_signature
    return found


def parse(path: str, content: bytes) -> list[TenantFile]:
    """The Tenants in one file (other kinds are ignored); [] when it is not YAML."""
    try:
        documents = [d for d in yaml.safe_load_all(content) if isinstance(d, dict)]
    except yaml.YAMLError:
        return []
    tenants = [
        d
        for d in documents
        if d.get("kind") == "Tenant" and str(d.get("apiVersion", "")).startswith(api.GROUP + "/")
    ]
    found = []
    for document in tenants:
        metadata = document.get("metadata") or {}
        name = metadata.get("name")
        if not isinstance(name, str):
            continue
        found.append(
            TenantFile(
                name=name,
                path=path,
                spec=document.get("spec") or {},
                annotations={
                    str(k): str(v) for k, v in (metadata.get("annotations") or {}).items()
                },
                alone=len(documents) == 1,
                labels={str(k): str(v) for k, v in (metadata.get("labels") or {}).items()},
            )
        )
    return found


def index(files: Iterable[list[TenantFile]]) -> dict[str, TenantFile]:
    """Every Tenant of the parsed files, by name (the first definition wins)."""
    found: dict[str, TenantFile] = {}
    for tenants in files:
        for tenant in tenants:
            found.setdefault(tenant.name, tenant)
    return found
