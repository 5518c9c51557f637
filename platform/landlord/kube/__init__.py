"""The Kubernetes client adapter: the only package that imports ``kubernetes``.

What belongs here: connecting from a kubeconfig, impersonating a user or a
service account, generic object access (get, list, apply, patch, delete) as
plain dicts, Events, adding and removing a finalizer (``finalizers``), the
server's version and access reviews (``reviews``).
What must not: any decision about tenants. Failures
become :class:`landlord.errors.ApiError`.
"""

from __future__ import annotations

from landlord.kube.client import (
    Kube,
    Manifest,
    bearer_token,
    connect,
    count_requests,
    service_account_user,
    token_of,
)

__all__ = [
    "Kube",
    "Manifest",
    "bearer_token",
    "connect",
    "count_requests",
    "service_account_user",
    "token_of",
]
