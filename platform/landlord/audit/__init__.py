"""Gathering what ``landlord audit`` shows: one tenant's trail across Git and the cluster.

What belongs here: reading the platform repository's history of a tenant's
file, the Tenant, its sync objects and their Events, and handing them to
:func:`landlord.onboarding.audit.timeline`. What must not: ordering or wording
the timeline (``landlord.onboarding.audit``) or printing it (``landlord.cli``).
"""

from __future__ import annotations

from landlord.audit.gather import Trail, tenant_trail

__all__ = ["Trail", "tenant_trail"]
