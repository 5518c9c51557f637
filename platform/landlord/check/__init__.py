"""``landlord check``: whether this cluster and this machine are ready to run the operator.

What belongs here: one function per check — apiserver reachable and its
version supported, the CRDs identical to the shipped ones, the operator's RBAC
(asked of the apiserver, derived from what ``landlord install`` grants), the
policy the operator would load, the platform source, kustomize, helm, sops, the
build sandbox; and before install (``pre``), whether the caller may apply what
``landlord install`` applies — each returning a :class:`Result` that says what
to do when it fails.
What must not: printing (``landlord.cli``) or changing anything in the cluster.
"""

from __future__ import annotations

from landlord.check.results import Result, State
from landlord.check.run import SUPPORTED, run_all, run_pre

__all__ = ["SUPPORTED", "Result", "State", "run_all", "run_pre"]
