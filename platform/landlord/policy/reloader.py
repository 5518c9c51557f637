"""Hot reload: read the policy source now and then, swap in a new policy when it changed.

A policy that fails to parse or compile never replaces the one in force; it is
reported once per distinct content (``on_invalid``), and the gate keeps
answering with the last good policy — or, when none ever loaded, denies. A
policy that loads but has lines that cannot do what they say (``lint``) is put
in force all the same — refusing it would keep an older policy, not a better
one — and each such line is logged as a warning once per policy version.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from landlord import telemetry
from landlord.policy import lint
from landlord.policy.engine import Policy, PolicyError, Snapshot
from landlord.policy.gate import Gate

log = logging.getLogger(__name__)

Reader = Callable[[], Snapshot]
# Line checker warnings logged per policy version (a generated policy may have thousands).
MAX_LOGGED = 100


class Reloader:
    """Polls ``read`` every ``interval`` seconds and keeps ``gate`` up to date."""

    def __init__(
        self,
        gate: Gate,
        read: Reader,
        *,
        interval: float = 5.0,
        on_loaded: Callable[[Policy, bool], None] | None = None,
        on_invalid: Callable[[Snapshot | None, str], None] | None = None,
        metrics: telemetry.Metrics | None = None,
    ) -> None:
        self.gate = gate
        self.read = read
        self.interval = interval
        self.on_loaded = on_loaded
        self.on_invalid = on_invalid
        self.metrics = metrics
        self._rejected: str | None = None
        self._stop = threading.Event()
        self._checking = threading.Lock()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Read once; True when a new policy was put in force (safe from any thread)."""
        with self._checking:
            return self._check()

    def _check(self) -> bool:
        try:
            snapshot = self.read()
        except PolicyError as error:
            self._reject(None, str(error))
            return False
        current = self.gate.policy
        if current is not None and current.digest == snapshot.digest:
            self._valid(True)
            self._rejected = None
            if current.snapshot.origin != snapshot.origin:
                # The same rules from somewhere else (e.g. the platform repository
                # now holds exactly the shipped policy): say where, decide nothing again.
                self.gate.moved(snapshot)
                log.info("policy unchanged, now read from %s", snapshot.origin)
                if self.on_loaded is not None:
                    self.on_loaded(current, False)
            return False
        if snapshot.digest == self._rejected:
            return False
        try:
            policy = Policy(snapshot)
        except PolicyError as error:
            self._reject(snapshot, str(error))
            return False
        self.gate.replace(policy)
        self._rejected = None
        self._valid(True)
        if self.metrics is not None:
            self.metrics.policy_reloads_total.labels("loaded").inc()
        log.info(
            "policy loaded",
            extra={"origin": snapshot.origin, "digest": policy.digest, "rules": policy.lines},
        )
        self._warn(policy)
        if self.on_loaded is not None:
            self.on_loaded(policy, True)
        return True

    def _warn(self, policy: Policy) -> None:
        """Log each line that cannot do what it says, once for this policy version."""
        try:
            findings = lint.check_policy(policy)
        except Exception:  # a checker bug must not keep a policy from loading
            log.exception("policy line check failed")
            return
        for finding in findings[:MAX_LOGGED]:
            log.warning(
                "policy line does not do what it says: %s",
                finding,
                extra={
                    "origin": policy.snapshot.origin,
                    "digest": policy.digest,
                    "line": finding.rule.where,
                    "kind": finding.kind,
                },
            )
        if len(findings) > MAX_LOGGED:
            log.warning(
                "%d more policy lines do not do what they say; `landlord policy check` lists them",
                len(findings) - MAX_LOGGED,
                extra={"origin": policy.snapshot.origin, "digest": policy.digest},
            )

    def _reject(self, snapshot: Snapshot | None, problem: str) -> None:
        digest = snapshot.digest if snapshot else f"unreadable:{problem}"
        self._valid(False)
        if digest == self._rejected:
            return
        self._rejected = digest
        if self.gate.policy is None:
            self.gate.unavailable(problem)
        if self.metrics is not None:
            self.metrics.policy_reloads_total.labels("invalid").inc()
        kept = self.gate.policy
        log.error(
            "policy rejected; %s",
            f"keeping {kept.digest}"
            if kept
            else "no policy is in force: every gated edge is denied",
            extra={"problem": problem, "origin": snapshot.origin if snapshot else ""},
        )
        if self.on_invalid is not None:
            self.on_invalid(snapshot, problem)

    def _valid(self, valid: bool) -> None:
        if self.metrics is not None:
            self.metrics.policy_valid.set(1 if valid else 0)

    def start(self) -> None:
        """Poll in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._loop, name="policy-reload", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # a reader bug must not end hot reload
                log.exception("policy reload failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
