"""The gate every enforcement point asks: the policy in force, and the audit of each answer."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping, Sequence

from landlord import telemetry
from landlord.api import labels
from landlord.policy.engine import Decision, Policy, Snapshot
from landlord.policy.requests import Recorder, Request


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


@dataclasses.dataclass
class _InForce:
    """What a gate and its views share: the policy in force, and its version."""

    policy: Policy | None
    version: int = 0
    problem: str = "no policy has been loaded"
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


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
        recorder: Recorder | None = None,
    ) -> None:
        self._in_force = _InForce(policy)
        # The requests decided, for `landlord policy diff --live` (None: not kept).
        self.recorder = recorder
        self.metrics = metrics

    def unrecorded(self) -> Gate:
        """The same policy in force (reloads included), deciding without a recorder.

        The onboarding API served by the operator's process decides through
        this: its callers' requests are not the platform's, and are not recorded.
        """
        view = Gate(metrics=self.metrics)
        view._in_force = self._in_force
        return view

    @property
    def policy(self) -> Policy | None:
        return self._in_force.policy

    @property
    def version(self) -> int:
        """Goes up by one with every policy put in force: reconcilers decide again."""
        return self._in_force.version

    def replace(self, policy: Policy) -> None:
        """Put ``policy`` in force; decisions cached for the old one go with it."""
        in_force = self._in_force
        with in_force.lock:
            in_force.policy = policy
            in_force.version += 1
        if self.metrics is not None:
            self.metrics.policy_rules.set(policy.lines)
            self.metrics.policy_info.clear()
            self.metrics.policy_info.labels(policy.digest, policy.snapshot.origin).set(1)

    def moved(self, snapshot: Snapshot) -> None:
        """The policy in force was read again, unchanged, from ``snapshot.origin``."""
        policy = self._in_force.policy
        if policy is None or policy.digest != snapshot.digest:
            return
        policy.snapshot = snapshot
        if self.metrics is not None:
            self.metrics.policy_info.clear()
            self.metrics.policy_info.labels(policy.digest, snapshot.origin).set(1)

    def unavailable(self, problem: str) -> None:
        """Say why there is no policy (only used while none has ever loaded)."""
        self._in_force.problem = problem

    def _decide(self, subjects: Sequence[str], action: str, obj: str) -> Decision:
        policy = self._in_force.policy
        if policy is None:
            return Decision(
                False,
                tuple(subjects),
                action,
                obj,
                note=f"policy unavailable: {self._in_force.problem}",
            )
        return policy.decide(subjects, action, obj)

    def _record(self, point: str, action: str, obj: str, decision: Decision) -> None:
        if self.recorder is not None:
            self.recorder.record(
                Request(decision.subjects, action, obj, point),
                decision.effect,
                decision.rule.where if decision.rule else "",
            )

    def note(
        self,
        point: str,
        subjects: Sequence[str],
        obj: str,
        *,
        action: str | None = None,
    ) -> Decision:
        """Decide a request someone else will ask, and record it; not counted, not traced.

        The tenant reconciler notes the onboarding API calls each owner may
        make, so a policy change's effect on them can be replayed.
        """
        action = action or point
        decision = self._decide(subjects, action, obj)
        self._record(point, action, obj, decision)
        return decision

    def check(
        self,
        point: str,
        subjects: Sequence[str],
        obj: str,
        *,
        action: str | None = None,
    ) -> Decision:
        """Ask the policy ``(subject, action or point, obj)``; count it and note it on the span."""
        action = action or point
        decision = self._decide(subjects, action, obj)
        if self.metrics is not None:
            self.metrics.policy_decisions_total.labels(point, decision.effect).inc()
        self._record(point, action, obj, decision)
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
