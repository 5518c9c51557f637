"""The Kubernetes client adapter: the only package that imports ``kubernetes``.

What belongs here: connecting from a kubeconfig, impersonating a user or a
service account, typed and dynamic API access, server-side apply. What must not:
any decision about tenants. Callers get plain dicts and Landlord errors.
"""

from __future__ import annotations

from landlord.kube.client import Kube, connect, service_account_user

__all__ = ["Kube", "connect", "service_account_user"]
