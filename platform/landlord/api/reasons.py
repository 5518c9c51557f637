"""Condition reasons: every ``reason`` Landlord writes into a condition or an Event.

Kept beside the API types, as Flux keeps its reasons beside its types, so that
a reason is spelt once and a tenant's tooling can rely on the list. Each
section belongs to one kind; a reason shared by several kinds sits in Common.
"""

from __future__ import annotations

# -- Common ----------------------------------------------------------------------
SUCCEEDED = "ReconciliationSucceeded"
PROGRESSING = "Progressing"
POLICY_DENIED = "PolicyDenied"
INVALID_SPEC = "InvalidSpec"

# -- Kustomization -----------------------------------------------------------------

# -- GitRepository -----------------------------------------------------------------

# -- Tenant ------------------------------------------------------------------------
