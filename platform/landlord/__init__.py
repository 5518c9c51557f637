"""Landlord: multi-tenant GitOps for Kubernetes.

Tenants are defined in Git; each tenant's repository is applied only inside its
own namespaces, impersonating the tenant's service account, with cross-tenant
edges gated by Casbin policy.

Subpackages, with the dependency direction pointing one way (checked by
import-linter, see ``.importlinter``):
``cli`` → ``cluster`` → ``kube`` → ``telemetry`` → ``errors`` | ``settings``.
"""

from __future__ import annotations

__version__ = "0.1.0"
