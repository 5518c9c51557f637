"""Installing Landlord into a cluster: ``landlord install`` and ``landlord bootstrap``.

What belongs here: the CRDs and the platform namespace, the operator's
service account and RBAC (``rbac``), applying them (``apply``), and the
platform repository's sync (``bootstrap``). What must not: anything the
operator does once it runs.
"""

from __future__ import annotations

from landlord.installer.apply import install
from landlord.installer.rbac import OPERATOR, OPERATOR_RULES, TENANT_ROLES, manifests

__all__ = ["OPERATOR", "OPERATOR_RULES", "TENANT_ROLES", "install", "manifests"]
