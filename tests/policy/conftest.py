"""Policy tests run a real operator against the real control plane and a real Git server."""

from __future__ import annotations

from tests.sync.conftest import tenant_repo

__all__ = ["tenant_repo"]
