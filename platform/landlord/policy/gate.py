"""The gate every enforcement point asks: the policy in force, and the audit of each answer."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from landlord import telemetry
from landlord.api import labels
from landlord.policy.engine import Decision, Policy, Snapshot


def subject_for(namespace: str, namespace_labels: Mapping[str, str] | None) -> str:
    """The policy subject of objects in ``namespace``: its tenant, or the namespace itself."""
    tenant = (namespace_labels or {}).get(labels.TENANT)
    return f"tenant:{tenant}" if tenant else f"namespace:{namespace}"


def same_tenant(
    own: Mapping[str, str] | None,
    other: Mapping[str, str] | None,
) -> bool:
    """Whether two namespaces (by their labels) belong to the same tenant."""
    tenant = (own or {}).get(labels.TENANT)
    return bool(tenant) and tenant == (other or {}).get(labels.TENANT)


class Gate:
    """Holds the policy in force (swapped whole on reload) and records every decision.

    With no policy loaded — the first load failed — every decision is a deny:
    the gate never fails open.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        metrics: telemetry.Metrics | None = None,
    ) -> None:
        self._policy = policy
        self._version = 0
        self._problem = "no policy has been loaded"
        self._lock = threading.Lock()
        self.metrics = metrics

    @property
    def policy(self) -> Policy | None:
        return self._policy

    @property
    def version(self) -> int:
        """Goes up by one with every policy put in force: reconcilers decide again."""
        return self._version

    def replace(self, policy: Policy) -> None:
        """Put ``policy`` in force; decisions cached for the old one go with it."""
        with self._lock:
            self._policy = policy
            self._version += 1
        if self.metrics is not None:
            self.metrics.policy_rules.set(policy.lines)
            self.metrics.policy_info.clear()
            self.metrics.policy_info.labels(policy.digest, policy.snapshot.origin).set(1)

    def moved(self, snapshot: Snapshot) -> None:
        """The policy in force was read again, unchanged, from ``snapshot.origin``."""
        policy = self._policy
        if policy is None or policy.digest != snapshot.digest:
            return
        policy.snapshot = snapshot
        if self.metrics is not None:
            self.metrics.policy_info.clear()
            self.metrics.policy_info.labels(policy.digest, snapshot.origin).set(1)

    def unavailable(self, problem: str) -> None:
        """Say why there is no policy (only used while none has ever loaded)."""
        self._problem = problem

    def check(
        self,
        point: str,
        subjects: Sequence[str],
        obj: str,
        *,
        action: str | None = None,
    ) -> Decision:
        """Ask the policy ``(subject, action or point, obj)``; count it and note it on the span."""
        policy = self._policy
        action = action or point
        if policy is None:
            decision = Decision(
                False, tuple(subjects), action, obj, note=f"policy unavailable: {self._problem}"
            )
        else:
            decision = policy.decide(subjects, action, obj)
        if self.metrics is not None:
            self.metrics.policy_decisions_total.labels(point, decision.effect).inc()
        telemetry.add_event(
            "landlord.policy",
            {
                "landlord.policy.point": point,
                "landlord.policy.subjects": ",".join(decision.subjects),
                "landlord.policy.action": action,
                "landlord.policy.object": obj,
                "landlord.policy.decision": decision.effect,
                "landlord.policy.rule": decision.rule.where if decision.rule else "",
            },
        )
        return decision
