"""The OCIRepository spec: an OCI artifact in a registry, pulled into a verified artifact.

Field names are Flux's (``source.toolkit.fluxcd.io/v1`` OCIRepository); the CRD
(``crds/landlord.dev_ocirepositories.yaml``) is held to this module by
``tests/unit/api/test_models_match_crds.py``. Two fields are accepted so that
Flux manifests port unchanged, and then refused with a clear reason rather
than ignored: ``provider`` other than ``generic`` (cloud identities are not
Landlord's to lend) and ``verify`` (signature verification is not supported yet).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KIND = "OCIRepository"

# The defaults, here and nowhere else (the CRD repeats them so that
# `kubectl get -o yaml` shows them).
DEFAULT_INTERVAL = "5m"
DEFAULT_TIMEOUT = "60s"
# No ``spec.ref`` (or an empty one): follow this tag, as Flux does.
DEFAULT_TAG = "latest"
# No ``spec.layerSelector``: the first layer, extracted.
DEFAULT_OPERATION = "extract"
_UNSAFE = re.compile(r"[^A-Za-z0-9]")


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class OCIRef(_Model):
    """Which artifact to pull (Flux's precedence: digest > semver > tag)."""

    tag: str | None = None
    semver: str | None = None
    semver_filter: str | None = Field(default=None, alias="semverFilter")
    digest: str | None = None


class LayerSelector(_Model):
    """Which layer of the manifest holds the content, and what to do with it."""

    media_type: str | None = Field(default=None, alias="mediaType")
    operation: Literal["extract", "copy"] | None = None


class SecretRef(_Model):
    """A Secret in the OCIRepository's namespace."""

    name: str


class Verification(_Model):
    """``spec.verify`` (Flux's shape; refused: not supported yet)."""

    provider: Literal["cosign", "notation"] = "cosign"
    secret_ref: SecretRef | None = Field(default=None, alias="secretRef")


class OCIRepositorySpec(_Model):
    """``OCIRepository.spec``."""

    url: str
    ref: OCIRef | None = None
    layer_selector: LayerSelector | None = Field(default=None, alias="layerSelector")
    provider: Literal["generic", "aws", "azure", "gcp"] = "generic"
    secret_ref: SecretRef | None = Field(default=None, alias="secretRef")
    cert_secret_ref: SecretRef | None = Field(default=None, alias="certSecretRef")
    verify: Verification | None = None
    insecure: bool = False
    interval: str = DEFAULT_INTERVAL
    timeout: str = DEFAULT_TIMEOUT
    ignore: str | None = None
    suspend: bool = False

    @classmethod
    def of(cls, body: dict[str, Any]) -> OCIRepositorySpec:
        """The spec of an apiserver object (raises pydantic.ValidationError on a bad one)."""
        return cls.model_validate(body.get("spec") or {})

    def durations(self) -> dict[str, str]:
        """The duration fields the object sets itself (``interval``, ``timeout``)."""
        return {
            field: getattr(self, field)
            for field in ("interval", "timeout")
            if field in self.model_fields_set
        }

    def operation(self) -> str:
        """``extract`` or ``copy`` (the default when unset)."""
        selector = self.layer_selector
        return (selector.operation if selector else None) or DEFAULT_OPERATION

    def media_type(self) -> str | None:
        """The layer media type asked for (None: the first layer)."""
        return self.layer_selector.media_type if self.layer_selector else None


def store_name(name: str) -> str:
    """The artifact store's folder for OCIRepository ``name``.

    Apart from a GitRepository of the same name in the same namespace (``:``
    appears in no Kubernetes name).
    """
    return f"oci:{name}"


def artifact_key(revision: str, spec: Mapping[str, Any]) -> str:
    """The store key of ``revision`` (``<tag>@sha256:…`` or ``sha256:…``) under ``spec``.

    The manifest digest decides the content; the layer selector and ``ignore``
    decide what of it is stored. The source reconciler and the sync compute it
    alike, so an unchanged digest costs no download and the sync finds the tree.
    """
    digest = revision.rpartition("@")[2]
    # Only letters and digits reach the path, whatever a status says.
    algorithm, _, hexdigest = (_UNSAFE.sub("", part)[:128] for part in digest.partition(":"))
    selector = spec.get("layerSelector") or {}
    how = "|".join(
        (
            str(selector.get("mediaType") or ""),
            str(selector.get("operation") or DEFAULT_OPERATION),
            str(spec.get("ignore") or ""),
        )
    )
    return f"{algorithm}-{hexdigest}-{hashlib.sha256(how.encode()).hexdigest()[:12]}"
