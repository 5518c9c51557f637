"""The operator's notifications: the dispatcher, the three reconcilers and their controllers.

Built once by :class:`~landlord.wiring.composition.Operator`; its watch handlers
call :meth:`Notifications.changed`. Every Event the operator posts reaches the
dispatcher through :func:`landlord.kube.events.subscribe` from :meth:`start` on.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from landlord import errors, policy, telemetry
from landlord.api import notification as model
from landlord.git import network
from landlord.kube import Kube, events
from landlord.notifications import reconcilers
from landlord.notifications.dispatcher import Dispatcher
from landlord.notifications.event import Event
from landlord.policy import requests
from landlord.runtime import controller
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome

KINDS = (model.PROVIDER, model.ALERT, model.RECEIVER)
HTTP = ("http", "https")


def checker(
    network_policy: network.NetworkPolicy | None, schemes: tuple[str, ...]
) -> Callable[[str], network.Resolution | None]:
    """Decides one delivery URL: an allowed scheme, then the network deny list."""

    def check(url: str) -> network.Resolution | None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in schemes or not parts.hostname:
            raise errors.TerminalError(f"{parts.scheme}://{parts.hostname or ''}: not allowed")
        if network_policy is None:
            return None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return network_policy.check(url, parts.hostname, port)

    return check


def _unrecorded(may_observe: Callable[[str, str, str], bool]) -> Callable[[str, str, str], bool]:
    """The dispatcher's per-Event check, kept out of the record.

    It runs inside whatever reconcile posted the Event (a Kustomization's, say),
    which must not be credited with the Alert's request; the Alert's own
    reconcile records the edges its ``eventSources`` name.
    """

    def check(home: str, namespace: str, name: str) -> bool:
        with requests.unrecorded():
            return may_observe(home, namespace, name)

    return check


class Notifications:
    """Dispatcher, reconcilers and controllers of Providers, Alerts and Receivers."""

    def __init__(
        self,
        kube: Kube,
        *,
        gate: policy.Gate,
        namespaces: NamespaceLabels,
        platform_namespace: str,
        network_policy: network.NetworkPolicy | None,
        allowed_schemes: tuple[str, ...],
        group_of: Callable[[str], str],
        may_own: Callable[[str], bool],
        metrics: telemetry.Metrics | None = None,
        workers: int = 4,
    ) -> None:
        self.kube = kube
        self.may_own = may_own
        schemes = tuple(s for s in allowed_schemes if s in HTTP) or ("https",)
        self.scope = reconcilers.Scope(kube, gate, namespaces, platform_namespace)
        self.dispatcher = Dispatcher(
            kube,
            check=checker(network_policy, schemes),
            may_observe=_unrecorded(self.scope.may_observe),
            workers=workers,
            metrics=metrics,
            on_provider=lambda key: self._wake(model.PROVIDER, key),
        )
        self.providers = reconcilers.ProviderReconciler(
            kube, self.dispatcher, network_policy=network_policy, schemes=schemes
        )
        self.alerts = reconcilers.AlertReconciler(kube, self.dispatcher, self.scope)
        self.receivers = reconcilers.ReceiverReconciler(kube, self.scope)
        self.controllers: dict[str, controller.Controller] = {
            model.PROVIDER: controller.Controller(
                "provider",
                requests.attributed(model.PROVIDER, self._reconcile_provider, gate.recorder),
                workers=1,
                resync=float("inf"),
                group_of=group_of,
            ),
            model.ALERT: controller.Controller(
                "alert",
                requests.attributed(model.ALERT, self.alerts.reconcile, gate.recorder),
                workers=1,
                resync=float("inf"),
                group_of=group_of,
            ),
            model.RECEIVER: controller.Controller(
                "receiver",
                requests.attributed(model.RECEIVER, self.receivers.reconcile, gate.recorder),
                workers=1,
                resync=float("inf"),
                group_of=group_of,
            ),
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliveries start, and every Event posted from now on is offered to the Alerts."""
        self._loop = loop
        self.dispatcher.start()
        self._unsubscribe = events.subscribe(self._heard)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.dispatcher.stop()

    def _heard(
        self,
        involved: dict[str, Any],
        reason: str,
        message: str,
        warning: bool,
        annotations: dict[str, str],
    ) -> None:
        if not (involved.get("metadata") or {}).get("namespace"):
            return  # a cluster-scoped object's (a Tenant's, a Cluster's): no tenant's Alert
        self.dispatcher.offer(
            Event.of(
                involved, reason=reason, message=message, warning=warning, annotations=annotations
            )
        )

    def changed(self, kind: str, body: Mapping[str, Any], *, deleted: bool) -> None:
        """A watch event of a Provider, an Alert or a Receiver."""
        metadata = body.get("metadata") or {}
        key = f"{metadata.get('namespace')}/{metadata.get('name')}"
        if not self.may_own(key):
            return
        self.controllers[kind].enqueue(key)
        if kind == model.PROVIDER:  # its Alerts say whether it exists
            namespace = metadata.get("namespace")
            for alert in self._alerts_naming(str(namespace), str(metadata.get("name"))):
                self.controllers[model.ALERT].enqueue(alert)

    def _alerts_naming(self, namespace: str, provider: str) -> list[str]:
        found = self.dispatcher.alerts_of(f"{namespace}/{provider}")
        return found

    def _reconcile_provider(self, key: str) -> Outcome | None:
        return self.providers.reconcile(key)

    def _wake(self, kind: str, key: str) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.controllers[kind].enqueue, key, 0.0)
