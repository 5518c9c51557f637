"""Notifications: Alerts out to a recording server on loopback, Receivers in."""

from __future__ import annotations

from tests.sync.conftest import TenantRepo, tenant_repo

__all__ = ["TenantRepo", "tenant_repo"]
