"""Provider, Alert and Receiver: check each one, tell the dispatcher, write its status.

None of them fetches anything: a Provider is Ready when its address can be used
(an allowed scheme, a host the deny list lets through, its Secret readable as
the tenant) and its last delivery did not fail; an Alert when its Provider
exists, its patterns compile (RE2) and the policy lets it see every source it
names; a Receiver when its token Secret is readable as the tenant, which gives
its webhook path, and every resource it names is its namespace's or allowed.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

import pydantic

from landlord import api, errors, policy
from landlord.api import conditions, invalid, labels, reasons
from landlord.api import notification as model
from landlord.git import network
from landlord.kube import Kube
from landlord.kube import status as kube_status
from landlord.notifications import dispatcher as dispatcher_mod
from landlord.notifications import sender
from landlord.notifications.matching import Filter, InvalidPatternError
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome

log = logging.getLogger(__name__)

ADDRESS_NOT_ALLOWED = "AddressNotAllowed"
PROVIDER_NOT_FOUND = "ProviderNotFound"
DELIVERY_FAILED = "DeliveryFailed"
RETRY = 30.0
RECHECK = 600.0


class Scope:
    """Whose objects a namespace's Alerts and Receivers may name: its tenant's, or allowed ones."""

    def __init__(
        self, kube: Kube, gate: policy.Gate, namespaces: NamespaceLabels, platform_namespace: str
    ) -> None:
        self.kube = kube
        self.gate = gate
        self.namespaces = namespaces
        self.platform_namespace = platform_namespace

    def _labels(self, namespace: str) -> dict[str, str]:
        found = self.namespaces.get(namespace)
        if found is None:
            body = self.kube.get("v1", "Namespace", namespace) or {}
            found = dict((body.get("metadata") or {}).get("labels") or {})
        return dict(found)

    def tenant_of(self, namespace: str) -> str | None:
        return self._labels(namespace).get(labels.TENANT)

    def allowed(self, home: str, namespace: str, name: str, action: str) -> policy.Decision | None:
        """None when ``home`` may name ``namespace/name``; else the policy's refusal."""
        if home == namespace or home == self.platform_namespace:
            return None
        tenant = self.tenant_of(home)
        if tenant is not None and tenant == self.tenant_of(namespace):
            return None
        subject = policy.subject_for(home, self._labels(home))
        decision = self.gate.check(action, [subject], f"{namespace}/{name}")
        return None if decision.allowed else decision

    def may_observe(self, home: str, namespace: str, name: str) -> bool:
        return self.allowed(home, namespace, name, "depend") is None


def _write(kube: Kube, body: dict[str, Any], outcome: Outcome, extra: dict[str, Any]) -> Outcome:
    existing = body.get("status") or {}
    generation = int(body["metadata"].get("generation") or 1)
    new = {
        "observedGeneration": generation,
        "conditions": conditions.of(
            outcome, generation=generation, existing=existing.get("conditions") or []
        ),
        **extra,
    }
    requested = (body["metadata"].get("annotations") or {}).get(labels.REQUESTED_AT)
    if requested:
        new["lastHandledReconcileAt"] = requested
    if not outcome.ready:
        kube_status.warn_on_change(kube, body, outcome.reason, outcome.message)
    kube_status.patch_if_changed(kube, body, new)
    return outcome


class ProviderReconciler:
    """Checks Providers and keeps the dispatcher's copy of their specs."""

    def __init__(
        self,
        kube: Kube,
        dispatcher: dispatcher_mod.Dispatcher,
        *,
        network_policy: network.NetworkPolicy | None,
        schemes: tuple[str, ...] = ("http", "https"),
    ) -> None:
        self.kube = kube
        self.dispatcher = dispatcher
        self.network_policy = network_policy
        self.schemes = schemes

    def reconcile(self, key: str) -> Outcome | None:
        namespace, _, name = key.partition("/")
        body = self.kube.get(api.API_VERSION, model.PROVIDER, name, namespace)
        if body is None:
            self.dispatcher.set_provider(key, None)
            return None
        try:
            spec = model.ProviderSpec.of(body)
        except pydantic.ValidationError as error:
            self.dispatcher.set_provider(key, None)
            return _write(self.kube, body, _stalled(invalid.describe(error)), {})
        self.dispatcher.set_provider(key, spec)
        stats = self.dispatcher.stats.get(key)
        extra = (
            {
                "delivered": stats.delivered,
                "failed": stats.failed,
                "lastFailure": stats.last_failure or None,
            }
            if stats is not None
            else {}
        )
        if spec.suspend:
            return Outcome(skipped=True)
        try:
            self._usable(namespace, spec)
        except network.BlockedAddressError:
            # As for sources: whether the policy or DNS refused the host is not told.
            self.dispatcher.unusable(key, "the address is refused")
            outcome = Outcome(
                False,
                ADDRESS_NOT_ALLOWED,
                "Landlord does not connect to this Provider's address for a tenant (check the "
                "address; the platform's network policy applies to Providers as to sources)",
                requeue_after=RETRY,
            )
            return _write(self.kube, body, outcome, extra)
        except errors.LandlordError as error:
            reason = (
                reasons.INVALID_SPEC
                if isinstance(error, errors.TerminalError)
                else (getattr(error, "reason", reasons.INVALID_SPEC))
            )
            # Looked at again: a Secret created later, a proxy fixed in it, is seen.
            self.dispatcher.unusable(key, error.message)
            outcome = Outcome(False, reason, error.message, requeue_after=RETRY)

            return _write(self.kube, body, outcome, extra)
        self.dispatcher.usable(key)
        stats = self.dispatcher.stats.get(key)
        if stats is not None and not stats.last_ok:
            outcome = Outcome(
                False,
                DELIVERY_FAILED,
                f"the last delivery failed after its retries: {stats.last_failure}",
                requeue_after=RETRY,
            )
            return _write(self.kube, body, outcome, extra)
        return _write(self.kube, body, Outcome(True, reasons.SUCCEEDED, "Provider is ready"), extra)

    def _usable(self, namespace: str, spec: model.ProviderSpec) -> None:
        """Raise what keeps the Provider from delivering (its address, its Secret)."""
        fields: dict[str, str] = {}
        if spec.secret_ref is not None:
            fields = dispatcher_mod.read_secret(
                self.kube, namespace, spec.secret_ref.name, "spec.secretRef"
            )
        address = fields.get("address") or spec.address
        if not address:
            raise errors.TerminalError(
                "the Provider has no address: set spec.address or an `address` in its Secret"
            )
        for url in filter(None, (address, fields.get("proxy") or spec.proxy)):
            parts = urllib.parse.urlsplit(url)
            try:
                parts.port  # noqa: B018 - raises ValueError on a port out of range
            except ValueError:
                raise errors.TerminalError(
                    f"{sender.host_of(url)}: the port is out of range"
                ) from None
            if url != address and parts.scheme != "http":
                raise errors.TerminalError(
                    "the proxy must be an http:// URL (CONNECT for https targets)"
                )
            if parts.scheme not in self.schemes or not parts.hostname:
                raise errors.TerminalError(
                    f"{parts.scheme}://{parts.hostname or ''}: only {', '.join(self.schemes)} "
                    "addresses are allowed"
                )
            if self.network_policy is not None and spec.type not in model.COMMIT_STATUS:
                port = parts.port or (443 if parts.scheme == "https" else 80)
                self.network_policy.check(url, parts.hostname, port)


class AlertReconciler:
    """Checks Alerts and keeps the dispatcher's copy of their filters."""

    def __init__(self, kube: Kube, dispatcher: dispatcher_mod.Dispatcher, scope: Scope) -> None:
        self.kube = kube
        self.dispatcher = dispatcher
        self.scope = scope

    def reconcile(self, key: str) -> Outcome | None:
        namespace, _, name = key.partition("/")
        body = self.kube.get(api.API_VERSION, model.ALERT, name, namespace)
        if body is None:
            self.dispatcher.set_alert(key, None)
            return None
        try:
            spec = model.AlertSpec.of(body)
            found = Filter.of(namespace, name, spec)
        except pydantic.ValidationError as error:
            self.dispatcher.set_alert(key, None)
            return _write(self.kube, body, _stalled(invalid.describe(error)), {})
        except InvalidPatternError as error:
            self.dispatcher.set_alert(key, None)
            return _write(self.kube, body, _stalled(str(error)), {})
        if spec.suspend:
            self.dispatcher.set_alert(key, None)
            return Outcome(skipped=True)
        for source in spec.event_sources:
            where = source.namespace or namespace
            refused = self.scope.allowed(namespace, where, source.name, "depend")
            if refused is not None:
                self.dispatcher.set_alert(key, None)
                outcome = Outcome(
                    False,
                    reasons.POLICY_DENIED,
                    f"eventSources {source.kind} {where}/{source.name}: the namespace is not "
                    f"this tenant's and the policy does not allow it ({refused.explain()}); "
                    "this Alert sends nothing until it is allowed or removed",
                    requeue_after=RETRY,
                )
                return _write(self.kube, body, outcome, {})
        self.dispatcher.set_alert(key, found)
        provider = self.kube.get(api.API_VERSION, model.PROVIDER, spec.provider_ref.name, namespace)
        if provider is None:
            outcome = Outcome(
                False,
                PROVIDER_NOT_FOUND,
                f"Provider {namespace}/{spec.provider_ref.name} not found",
            )
            return _write(self.kube, body, outcome, {})
        return _write(self.kube, body, Outcome(True, reasons.SUCCEEDED, "Alert is ready"), {})


class ReceiverReconciler:
    """Gives each Receiver its webhook path; refuses resources it may not trigger."""

    def __init__(self, kube: Kube, scope: Scope) -> None:
        self.kube = kube
        self.scope = scope

    def reconcile(self, key: str) -> Outcome | None:
        namespace, _, name = key.partition("/")
        body = self.kube.get(api.API_VERSION, model.RECEIVER, name, namespace)
        if body is None:
            return None
        try:
            spec = model.ReceiverSpec.of(body)
        except pydantic.ValidationError as error:
            return _write(self.kube, body, _stalled(invalid.describe(error)), {})
        for resource in spec.resources:
            if resource.name == "*" and not resource.match_labels:
                return _write(
                    self.kube,
                    body,
                    _stalled(f"resources {resource.kind} '*' needs matchLabels (as in Flux)"),
                    {"webhookPath": None},
                )
            where = resource.namespace or namespace
            refused = self.scope.allowed(namespace, where, resource.name, "source")
            if refused is not None:
                outcome = Outcome(
                    False,
                    reasons.POLICY_DENIED,
                    f"resources {resource.kind} {where}/{resource.name}: the namespace is not "
                    f"this tenant's and the policy does not allow it ({refused.explain()})",
                    requeue_after=RETRY,
                )
                return _write(self.kube, body, outcome, {"webhookPath": None})
        try:
            token = dispatcher_mod.read_secret(
                self.kube, namespace, spec.secret_ref.name, "spec.secretRef"
            ).get("token")
        except errors.TerminalError as error:
            outcome = Outcome(False, reasons.SECRET_NOT_FOUND, error.message, requeue_after=RETRY)
            return _write(self.kube, body, outcome, {"webhookPath": None})
        if not token:
            outcome = Outcome(
                False,
                reasons.SECRET_NOT_FOUND,
                f"Secret {namespace}/{spec.secret_ref.name} has no `token`",
                requeue_after=RETRY,
            )
            return _write(self.kube, body, outcome, {"webhookPath": None})
        path = model.webhook_path(token, name, namespace)
        if spec.suspend:
            return _write(
                self.kube,
                body,
                Outcome(False, "Suspended", "Receiver is suspended: deliveries are ignored"),
                {"webhookPath": path},
            )
        # Looked at again now and then: a rotated token moves the path, a namespace that
        # changed tenant takes its resources away (a policy change wakes it at once).
        return _write(
            self.kube,
            body,
            Outcome(
                True,
                reasons.SUCCEEDED,
                f"Receiver initialized for path: {path}",
                requeue_after=RECHECK,
            ),
            {"webhookPath": path},
        )


def _stalled(message: str) -> Outcome:
    return Outcome(False, reasons.INVALID_SPEC, message, stalled=True)


OnChange = Callable[[str], None]
