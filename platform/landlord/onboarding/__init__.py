"""The onboarding API: tenants created, changed and offboarded through Git.

Requests are authenticated by the apiserver (TokenReview), authorized by the
policy's ``api:*`` point, validated, and turned into commits of
``tenants/<name>.yaml`` in the platform repository; the platform sync applies
them like any other commit. Nothing here writes a Tenant to the cluster.

The only package that imports FastAPI, Starlette and uvicorn, and within it
only the HTTP layer does (``app``, ``http_errors``, ``server``): the services
(``service``, ``receivers``) raise :mod:`landlord.errors` domain errors, and
``http_errors`` alone maps them to status codes. Git is reached through a
:class:`~landlord.onboarding.repository.Workspace` the caller passes in; source
URLs are checked and spelled by the Git adapter's :mod:`landlord.git.urls`, as
the sources reconciler does.
"""

from __future__ import annotations

from fastapi import FastAPI as App

from landlord.onboarding.app import create_app
from landlord.onboarding.context import RequestContext
from landlord.onboarding.identity import Authenticator, Caller
from landlord.onboarding.models import TenantPatch, TenantRequest
from landlord.onboarding.receivers import Receivers
from landlord.onboarding.repository import Location, Workspace, WorkspaceFactory
from landlord.onboarding.server import Background, serve
from landlord.onboarding.service import Onboarding
from landlord.onboarding.tracekey import signer as trace_signer

__all__ = [
    "App",
    "Authenticator",
    "Background",
    "Caller",
    "Location",
    "Onboarding",
    "Receivers",
    "RequestContext",
    "TenantPatch",
    "TenantRequest",
    "Workspace",
    "WorkspaceFactory",
    "create_app",
    "serve",
    "trace_signer",
]
