"""When a source is next due: the one schedule GitRepositories and OCIRepositories share.

A source whose status handled its spec, decided under the policy in force, is
left alone until its next check; a new policy, a spec change or a requested
reconcile makes it due at once (:meth:`Schedule.waiting`).
"""

from __future__ import annotations

import time
from typing import Any

from landlord import policy
from landlord.api import conditions
from landlord.gitops import durations
from landlord.runtime.outcome import Outcome


class Schedule:
    """Next checks and the policy version each source was last decided under."""

    def __init__(self, gate: policy.Gate) -> None:
        self.gate = gate
        self._next_check: dict[str, float] = {}
        self._policy_version: dict[str, int] = {}

    def waiting(self, key: str, body: dict[str, Any]) -> Outcome | None:
        """A skip until the next check, or None when ``key`` is due now."""
        fresh = conditions.handled(body) and self._policy_version.get(key) == self.gate.version
        now = time.monotonic()
        if fresh and now < self._next_check.get(key, 0.0):
            return Outcome(skipped=True, requeue_after=self._next_check[key] - now)
        return None

    def decided(self, key: str) -> None:
        """``key`` is being decided under the policy in force."""
        self._policy_version[key] = self.gate.version

    def planned(self, key: str, every: float) -> float:
        """Plan the next check about ``every`` seconds from now (jittered); the delay."""
        interval = durations.jittered(every)
        self._next_check[key] = time.monotonic() + interval
        return interval

    def due_now(self, key: str) -> None:
        """The next reconcile of ``key`` fetches, whatever its interval says."""
        self._next_check.pop(key, None)

    def forget(self, key: str) -> None:
        self._next_check.pop(key, None)
        self._policy_version.pop(key, None)
