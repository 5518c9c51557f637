"""The status page's decisions, without HTTP: who the viewer is, and how an edge is judged."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import pydantic

from landlord import policy
from landlord.api.tenant import TenantSpec
from landlord.onboarding.identity import Authenticator, Caller
from landlord.onboarding.statuspage import html
from landlord.onboarding.statuspage.cache import Snapshot, StatusCache
from landlord.onboarding.statuspage.sessions import Sessions
from landlord.onboarding.statuspage.view import EdgeDecision, Viewer

VIEWER_SECONDS = 5.0  # a viewer's tenants are worked out again this often
RENDERED_KEPT = 256  # rendered views kept (a new cache version makes the old ones unused)


class StatusPage:
    """The cache, the sessions, and the policy questions a view asks."""

    def __init__(
        self,
        cache: StatusCache,
        sessions: Sessions,
        authenticator: Authenticator,
        gate: policy.Gate,
        *,
        platform_namespace: str,
        secure_cookie: bool = False,
    ) -> None:
        self.cache = cache
        self.sessions = sessions
        self.authenticator = authenticator
        self.gate = gate
        self.platform_namespace = platform_namespace
        self.secure_cookie = secure_cookie
        self._viewers: dict[tuple[str, tuple[str, ...]], tuple[float, int, int, Viewer]] = {}
        self._rendered: dict[tuple[Viewer, str, int, int], tuple[str, str] | None] = {}
        self._lock = threading.Lock()

    def caller(self, token: str) -> Caller | None:
        """The apiserver's answer for ``token`` (None: not a credential for this API)."""
        return self.authenticator.authenticate(token)

    def viewer(self, token: str, snapshot: Snapshot) -> Viewer | None:
        """Who ``token`` is and which tenants it sees (None: the token is refused now)."""
        caller = self.caller(token)
        if caller is None:
            return None
        now = time.monotonic()
        key = (caller.user, tuple(caller.groups))
        version = self.gate.version  # read first: a reload while deciding is not missed
        with self._lock:
            cached = self._viewers.get(key)
            if (
                cached is not None
                and now - cached[0] < VIEWER_SECONDS
                and cached[1] == version
                and cached[2] == snapshot.version
            ):
                return cached[3]
        found = self._viewer(caller, snapshot)
        with self._lock:
            if len(self._viewers) > 1000:
                self._viewers.clear()
            self._viewers[key] = (now, version, snapshot.version, found)
        return found

    def render(self, path: str, snapshot: Snapshot, viewer: Viewer) -> tuple[str, str] | None:
        """:func:`html.main_of`, once per viewer, view and version (live streams share it)."""
        key = (viewer, path, snapshot.version, self.gate.version)
        with self._lock:
            if key in self._rendered:
                return self._rendered[key]
        found = html.main_of(path, snapshot, viewer, self.decide)
        with self._lock:
            if len(self._rendered) >= RENDERED_KEPT:
                self._rendered.clear()
            self._rendered[key] = found
        return found

    def _viewer(self, caller: Caller, snapshot: Snapshot) -> Viewer:
        everything = self.gate.check("api", caller.subjects(), "tenants", action="api:list").allowed
        if everything:
            return Viewer(caller.shown, everything=True)
        owned = set()
        for body in snapshot.of("Tenant"):
            name = body["metadata"]["name"]
            try:
                spec = TenantSpec.model_validate(body.get("spec") or {})
            except pydantic.ValidationError:
                continue
            if (
                caller.owns(spec)
                and self.gate.check(
                    "api", caller.subjects(owner=True), f"tenants/{name}", action="api:get"
                ).allowed
            ):
                owned.add(name)
        return Viewer(caller.shown, everything=False, tenants=frozenset(owned))

    def decide(
        self,
        own: str,
        own_labels: Mapping[str, str],
        target: str,
        target_labels: Mapping[str, str],
    ) -> EdgeDecision:
        """The sync's own question for a ``dependsOn`` edge, asked without counting it.

        The same rules as the sync's gatekeeper: the platform namespace is not
        gated, edges inside one tenant need no policy, anything else asks
        ``(tenant:<own>, depend, <namespace>/<name>)``.
        """
        if own == self.platform_namespace:
            return EdgeDecision(True, "the platform namespace is not gated")
        if policy.same_tenant(own_labels, target_labels):
            return EdgeDecision(True, "same tenant: no policy needed")
        subject = policy.subject_for(own, own_labels)
        loaded = self.gate.policy
        if loaded is None:
            return EdgeDecision(False, "no policy is loaded: every edge is denied")
        decision = loaded.decide([subject], "depend", target)
        return EdgeDecision(decision.allowed, decision.explain())
