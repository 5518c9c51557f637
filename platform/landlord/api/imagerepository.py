"""The ImageRepository spec: which image's tags the operator scans, and how often.

Field names are Flux's (``image.toolkit.fluxcd.io/v1beta2`` ImageRepository); the
CRD (``crds/landlord.dev_imagerepositories.yaml``) is held to this model by
``tests/unit/api/test_models_match_crds.py``. ``image`` is a name without a tag
or digest (``registry.example.com/team/app``); the scan decides it against the
policy's ``source`` point as ``oci://<host>/<path>`` before any request.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KIND = "ImageRepository"

DEFAULT_INTERVAL = "5m"
DEFAULT_TIMEOUT = "60s"
# Flux's default: cosign signature tags are not images to deploy.
DEFAULT_EXCLUSION_LIST: tuple[str, ...] = ("^.*\\.sig$",)
# How many tags status shows (the newest by reverse sort order, as Flux does).
LATEST_TAGS = 10


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class LocalReference(_Model):
    """A Secret in the ImageRepository's namespace."""

    name: str


class ImageRepositorySpec(_Model):
    """``ImageRepository.spec``."""

    image: str
    interval: str = DEFAULT_INTERVAL
    timeout: str = DEFAULT_TIMEOUT
    secret_ref: LocalReference | None = Field(default=None, alias="secretRef")
    cert_secret_ref: LocalReference | None = Field(default=None, alias="certSecretRef")
    insecure: bool = False
    exclusion_list: tuple[str, ...] = Field(default=DEFAULT_EXCLUSION_LIST, alias="exclusionList")
    suspend: bool = False
    provider: Literal["generic"] = "generic"

    @classmethod
    def of(cls, body: dict[str, Any]) -> ImageRepositorySpec:
        """The spec of an apiserver object (raises pydantic.ValidationError on a bad one)."""
        return cls.model_validate(body.get("spec") or {})

    def durations(self) -> dict[str, str]:
        """The duration fields the object sets itself (the defaults are brought into bounds)."""
        return {
            field: getattr(self, field)
            for field in ("interval", "timeout")
            if field in self.model_fields_set
        }
