"""Provider, Alert and Receiver: notifications out and push webhooks in (Flux's shapes).

Field names are Flux's notification-controller's (``notification.toolkit.fluxcd.io``
v1beta3 Provider and Alert, v1 Receiver); the CRDs
(``crds/landlord.dev_{providers,alerts,receivers}.yaml``) are held to these
models by ``tests/unit/api/test_models_match_crds.py``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROVIDER = "Provider"
ALERT = "Alert"
RECEIVER = "Receiver"

ProviderType = Literal[
    "generic",
    "generic-hmac",
    "slack",
    "msteams",
    "discord",
    "github",
    "gitlab",
    "alertmanager",
]
PROVIDER_TYPES: tuple[str, ...] = (
    "generic",
    "generic-hmac",
    "slack",
    "msteams",
    "discord",
    "github",
    "gitlab",
    "alertmanager",
)
# Commit status providers: they post to the commit an event's revision names.
COMMIT_STATUS = frozenset({"github", "gitlab"})
Severity = Literal["info", "error"]
ReceiverType = Literal["generic", "generic-hmac", "github", "gitlab"]
DEFAULT_PROVIDER_TIMEOUT = "15s"


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class LocalReference(_Model):
    """An object in the same namespace, by name."""

    name: str


class ProviderSpec(_Model):
    """``Provider.spec``: where and how alerts are delivered."""

    type: ProviderType
    address: str | None = None
    channel: str | None = None
    username: str | None = None
    proxy: str | None = None
    timeout: str = DEFAULT_PROVIDER_TIMEOUT
    secret_ref: LocalReference | None = Field(default=None, alias="secretRef")
    cert_secret_ref: LocalReference | None = Field(default=None, alias="certSecretRef")
    suspend: bool = False

    @classmethod
    def of(cls, body: dict[str, Any]) -> ProviderSpec:
        return cls.model_validate(body.get("spec") or {})


class _Selector(_Model):
    """An object by kind and name (``*`` with ``matchLabels``: every one they select)."""

    name: str
    namespace: str | None = None
    api_version: str | None = Field(default=None, alias="apiVersion")
    match_labels: dict[str, str] | None = Field(default=None, alias="matchLabels")


class EventSource(_Selector):
    """An Alert's ``eventSources[]``: whose events it forwards."""

    kind: Literal["Kustomization", "GitRepository", "HelmRelease", "HelmRepository"]


class ReceiverResource(_Selector):
    """A Receiver's ``resources[]``: the sources a delivery asks to fetch."""

    kind: Literal["GitRepository", "HelmRepository"]


class AlertSpec(_Model):
    """``Alert.spec``: which events go to which Provider."""

    provider_ref: LocalReference = Field(alias="providerRef")
    event_sources: tuple[EventSource, ...] = Field(alias="eventSources")
    event_severity: Severity = Field(default="info", alias="eventSeverity")
    inclusion_list: tuple[str, ...] | None = Field(default=None, alias="inclusionList")
    exclusion_list: tuple[str, ...] | None = Field(default=None, alias="exclusionList")
    event_metadata: dict[str, str] | None = Field(default=None, alias="eventMetadata")
    summary: str | None = None
    suspend: bool = False

    @classmethod
    def of(cls, body: dict[str, Any]) -> AlertSpec:
        return cls.model_validate(body.get("spec") or {})


class ReceiverSpec(_Model):
    """``Receiver.spec``: a push webhook that asks the listed sources to fetch now."""

    type: ReceiverType
    events: tuple[str, ...] | None = None
    resources: tuple[ReceiverResource, ...]
    secret_ref: LocalReference = Field(alias="secretRef")
    suspend: bool = False

    @classmethod
    def of(cls, body: dict[str, Any]) -> ReceiverSpec:
        return cls.model_validate(body.get("spec") or {})


HOOK_PREFIX = "/hook/"


def webhook_path(token: str, name: str, namespace: str) -> str:
    """A Receiver's path (Flux's): ``/hook/`` and the sha256 of token, name and namespace."""
    return HOOK_PREFIX + hashlib.sha256(f"{token}{name}{namespace}".encode()).hexdigest()
