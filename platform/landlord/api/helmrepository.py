"""The HelmRepository spec: an HTTP(S) chart repository whose index Landlord fetches.

Field names are Flux's (``source.toolkit.fluxcd.io`` HelmRepository); the CRD
(``crds/landlord.dev_helmrepositories.yaml``) is held to this module by
``tests/unit/api/test_models_match_crds.py``. ``type: oci`` waits for the OCI
issue; it is refused with a clear reason, not ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KIND = "HelmRepository"
DEFAULT_INTERVAL = "10m"
DEFAULT_TIMEOUT = "60s"


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class SecretRef(_Model):
    """A Secret in the HelmRepository's namespace."""

    name: str


class HelmRepositorySpec(_Model):
    """``HelmRepository.spec``."""

    url: str
    type: Literal["default", "oci"] = "default"
    secret_ref: SecretRef | None = Field(default=None, alias="secretRef")
    cert_secret_ref: SecretRef | None = Field(default=None, alias="certSecretRef")
    pass_credentials: bool = Field(default=False, alias="passCredentials")
    interval: str = DEFAULT_INTERVAL
    timeout: str = DEFAULT_TIMEOUT
    suspend: bool = False

    @classmethod
    def of(cls, body: dict[str, Any]) -> HelmRepositorySpec:
        """The spec of an apiserver object (raises pydantic.ValidationError on a bad one)."""
        return cls.model_validate(body.get("spec") or {})

    def durations(self) -> dict[str, str]:
        """The duration fields the object sets itself."""
        return {
            field: getattr(self, field)
            for field in ("interval", "timeout")
            if field in self.model_fields_set
        }
