"""The Casbin policy gate: what RBAC cannot express, decided, explained and audited.

Every cross-tenant edge (``depend``, ``source``), every kind a tenant applies
(``apply``), every target cluster (``target``) and every onboarding API call
(``api:*``) is one request ``(subject, action, object)`` against the model and
policy in ``policies/``. This package is the only one that imports ``casbin``;
it knows nothing about Kubernetes — callers pass subjects and objects in, and
get a :class:`Decision` that names the line that decided it.
"""

from __future__ import annotations

from landlord.policy.engine import Decision, Policy, PolicyError
from landlord.policy.gate import Gate, same_tenant, subject_for

__all__ = ["Decision", "Gate", "Policy", "PolicyError", "same_tenant", "subject_for"]
