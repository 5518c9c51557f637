"""What the operator's watches know of tenants' objects, for the sync and source controllers.

Implemented by ``landlord.tenants.liveindex.LiveIndex``; a controller given none
asks the apiserver. Every answer may lag a watch event behind: callers use it
where a moment's lag can cost a repeated request but never widen what a tenant
may do (see docs/security.md, "Watch caches").
"""

from __future__ import annotations

from typing import Protocol


class TenantView(Protocol):
    def namespaces_of(self, tenant: str) -> list[str] | None:
        """The namespaces labelled for ``tenant`` (None: not known yet, ask the apiserver)."""

    def has_account(self, namespace: str, name: str) -> bool:
        """Whether a service account the operator made for a tenant is known to exist."""
