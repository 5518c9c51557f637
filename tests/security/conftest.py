"""The standing security suite: each test is an attempt a hostile tenant or caller would make.

Every case runs against the real control plane, Git server and API where the
behaviour is theirs to decide, and asserts both that nothing was read, applied,
fetched or leaked and that the refusal says clearly why.
"""

from __future__ import annotations

from tests.sync.conftest import TenantRepo, tenant_repo

__all__ = ["TenantRepo", "tenant_repo"]
