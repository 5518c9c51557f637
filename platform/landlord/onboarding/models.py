"""The onboarding API's request and response bodies (its OpenAPI schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from landlord.api.tenant import DNS1123_LABEL, Owner, Source, Sync, TenantSpec

NAME_PATTERN = DNS1123_LABEL.pattern


class _Body(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class TenantRequest(_Body):
    """``POST /v1/tenants``: a new tenant's name and spec (the Tenant CRD's spec)."""

    name: str = Field(min_length=1, max_length=63, pattern=NAME_PATTERN)
    spec: TenantSpec = TenantSpec()


class TenantPatch(_Body):
    """``PATCH /v1/tenants/{name}``: the fields given replace the tenant's (null removes)."""

    owners: tuple[Owner, ...] | None = None
    quota: dict[str, str | int] | None = None
    namespaces: tuple[str, ...] | None = None
    source: Source | None = None
    sync: Sync | None = None
    suspend: bool | None = None


class TenantView(_Body):
    """A tenant: its spec as committed in Git and its live status in the cluster."""

    name: str
    path: str = Field(description="The file in the platform repository that defines it.")
    spec: dict[str, Any]
    status: dict[str, Any] | None = Field(
        default=None, description="The Tenant's status in the cluster; null until applied."
    )
    ready: bool = False


class TenantList(_Body):
    """``GET /v1/tenants``: the tenants the caller may see."""

    items: list[TenantView]


class Accepted(_Body):
    """What a write did: the commit that carries it, and whether the change is in place."""

    name: str
    operation: str
    commit: str | None = Field(description="The platform repository commit (null: no change).")
    request_id: str = Field(alias="requestId")
    trace_id: str | None = Field(default=None, alias="traceId")
    ready: bool = Field(
        default=False, description="With ?wait=true: whether the Tenant became Ready in time."
    )
    message: str = ""
    status: dict[str, Any] | None = None
    replayed: bool = Field(
        default=False,
        description="A retry with the first request's Idempotency-Key: answered from its "
        "commit, nothing committed again.",
    )


class ReconcileRequested(_Body):
    """``POST /v1/tenants/{name}/reconcile``: the objects asked to reconcile now."""

    name: str
    requested_at: str = Field(alias="requestedAt")
    objects: list[str]


class ReceiverResult(_Body):
    """A webhook delivery: the event and the GitRepositories asked to fetch now."""

    receiver: str
    event: str
    matched: list[str]
    replayed: bool = Field(
        default=False,
        description="A delivery seen before (its id or signed content): nothing was asked.",
    )


class ErrorBody(_Body):
    """Every error: a sentence, and per-field problems for validation errors."""

    error: str
    fields: dict[str, str] = {}
