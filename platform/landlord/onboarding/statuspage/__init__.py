"""The status page: a read-only view of tenants, sources, syncs and their dependency graph.

Served by the API process under ``/ui`` (:mod:`.routes`); every view is drawn
from :class:`~.cache.StatusCache`, which watches Landlord's kinds, so a page
view or a live update costs no apiserver request. Who may see what is decided
as for the API (TokenReview, then the policy's ``api:list``/``api:get``).
"""

from __future__ import annotations

from landlord.onboarding.statuspage.cache import StatusCache
from landlord.onboarding.statuspage.page import StatusPage
from landlord.onboarding.statuspage.sessions import Sessions

__all__ = ["Sessions", "StatusCache", "StatusPage"]
