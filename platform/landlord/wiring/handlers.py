"""The kopf handlers of the operator: thin, each calls one method of :class:`Operator`.

The switched-off features register nothing: no watch runs for their kinds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from landlord import api, errors, kube
from landlord.runtime.leaderelection import LeaderElector
from landlord.wiring import images as images_part
from landlord.wiring.composition import Operator

log = logging.getLogger(__name__)
# Seconds between two logins while the apiserver refuses the operator's credentials.
LOGIN_RETRY = 3.0


async def _acquire(elector: LeaderElector) -> None:
    """Wait for the Lease on a daemon thread: a standby stopped by SIGTERM exits at once.

    (``asyncio.to_thread`` would keep the process alive until the waiting thread
    gave up, which it never does.)
    """
    loop = asyncio.get_running_loop()
    acquired: asyncio.Future[bool] = loop.create_future()

    def settle(result: bool) -> None:
        if not acquired.done():
            acquired.set_result(result)

    def wait() -> None:
        result = elector.acquire()
        with contextlib.suppress(RuntimeError):  # the loop closed: we are shutting down
            loop.call_soon_threadsafe(settle, result)

    threading.Thread(target=wait, name="leader-election-wait", daemon=True).start()
    try:
        await acquired
    except asyncio.CancelledError:
        elector.release()  # stops the waiting loop; nothing is held yet
        raise


def _stop_if_failed(on_lost: Callable[[], None] | None) -> Callable[[asyncio.Task[None]], None]:
    """A leader that cannot start its controllers stops (a standby may do better)."""

    def check(task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.error("the operator could not start after it took the Lease", exc_info=task.exception())
        if on_lost is not None:
            on_lost()

    return check


def registry_of(
    operator: Operator,
    *,
    elector: LeaderElector | None = None,
    on_lost: Callable[[], None] | None = None,
) -> kopf.OperatorRegistry:
    """A kopf registry whose handlers feed ``operator``'s controllers.

    With an ``elector`` the watches start at once — a standby keeps its caches
    warm (bodies, namespace labels, queued keys) but writes nothing — and the
    controllers start only once it holds the Lease, with everything already
    known; ``on_lost`` runs the moment it cannot renew it.
    """
    registry = kopf.OperatorRegistry()
    features = operator.features
    leading: list[asyncio.Task[None]] = []
    acquired = threading.Event()

    async def lead(elector: LeaderElector) -> None:
        await _acquire(elector)
        acquired.set()
        threading.Thread(
            target=elector.hold,
            args=(on_lost or (lambda: None),),
            name="leader-election",
            daemon=True,
        ).start()
        await operator.start()

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # Landlord posts its own Events
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.networking.error_backoffs = [1, 2, 5]
        if elector is None:
            await operator.start()
        else:  # the watches start now; the controllers once it leads
            task = asyncio.create_task(lead(elector), name="leader-election")
            task.add_done_callback(_stop_if_failed(on_lost))
            leading.append(task)

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        if leading and not leading[0].done():  # a standby, or a leader still starting
            leading[0].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leading[0]
            if acquired.is_set() and elector is not None:
                await operator.stop()  # whatever started of it
                await asyncio.to_thread(elector.release)  # hand it back all the same
            return
        await operator.stop()
        if elector is not None:
            await asyncio.to_thread(elector.release)  # a standby takes over at once

    logins = [0]

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        """The watches use the connection the reconcilers use (the same kubeconfig).

        kopf logs in again after the apiserver refused its credentials (401). The
        connection is asked first (one GET, which reads a rotated kubeconfig again):
        refused still, the watches wait and kopf asks again; accepted, kopf gets them,
        marked as a new login (kopf sets aside credentials it saw refused, even when
        the apiserver accepts them again).
        """
        logins[0] += 1
        if logins[0] > 1:
            try:
                operator.kube.raw_get("/api")
            except errors.ApiError as error:
                if error.status == 401:
                    raise kopf.TemporaryError(
                        "the apiserver refuses the operator's credentials (401); the "
                        "watches wait for rotated ones",
                        delay=LOGIN_RETRY,
                    ) from error
        connection = operator.kube.configuration
        token = kube.token_of(connection)  # a pod's rotated token is re-read here
        return kopf.ConnectionInfo(
            server=connection.host,
            ca_path=connection.ssl_ca_cert,
            insecure=not connection.verify_ssl,
            certificate_path=connection.cert_file,
            private_key_path=connection.key_file,
            scheme="Bearer" if token else None,
            token=token,
            priority=logins[0],
        )

    @kopf.on.event(api.GROUP, api.VERSION, "tenants", registry=registry)
    async def tenant_event(
        name: str, labels: Mapping[str, str], event: Mapping[str, Any], **_: Any
    ) -> None:
        body = event.get("object") or {}
        metadata = body.get("metadata") or {}
        deleted = event.get("type") == "DELETED"
        # All a reconcile acts on; a status-only write leaves it as it was.
        fingerprint = (
            None
            if deleted
            else json.dumps(
                [
                    metadata.get("generation"),
                    metadata.get("labels"),
                    metadata.get("annotations"),
                    metadata.get("finalizers"),
                    metadata.get("deletionTimestamp"),
                    body.get("spec"),
                ],
                sort_keys=True,
            )
        )
        operator.tenant_changed(name, labels=labels, fingerprint=fingerprint, deleted=deleted)

    if features.sources:

        @kopf.on.event(api.GROUP, api.VERSION, "gitrepositories", registry=registry)
        async def source_event(event: Mapping[str, Any], **_: Any) -> None:
            operator.source_changed(event["object"], deleted=event.get("type") == "DELETED")

        @kopf.on.event(api.GROUP, api.VERSION, "ocirepositories", registry=registry)
        async def oci_source_event(event: Mapping[str, Any], **_: Any) -> None:
            operator.oci_source_changed(event["object"], deleted=event.get("type") == "DELETED")

    if features.sync:

        @kopf.on.event(api.GROUP, api.VERSION, "kustomizations", registry=registry)
        async def sync_event(event: Mapping[str, Any], **_: Any) -> None:
            operator.sync_changed(event["object"], deleted=event.get("type") == "DELETED")

    if features.sources:

        @kopf.on.event(api.GROUP, api.VERSION, "helmrepositories", registry=registry)
        async def helm_repository_event(event: Mapping[str, Any], **_: Any) -> None:
            operator.helm_repository_changed(
                event["object"], deleted=event.get("type") == "DELETED"
            )

    if features.sync:

        @kopf.on.event(api.GROUP, api.VERSION, "helmreleases", registry=registry)
        async def helm_release_event(event: Mapping[str, Any], **_: Any) -> None:
            operator.helm_release_changed(event["object"], deleted=event.get("type") == "DELETED")

    for plural, kind in (("providers", "Provider"), ("alerts", "Alert"), ("receivers", "Receiver")):

        @kopf.on.event(api.GROUP, api.VERSION, plural, id=f"{plural}_event", registry=registry)
        async def notification_event(event: Mapping[str, Any], _kind: str = kind, **_: Any) -> None:
            operator.notifications.changed(
                _kind, event["object"], deleted=event.get("type") == "DELETED"
            )

    if operator.images is not None:
        for kind, plural in images_part.PLURALS.items():

            @kopf.on.event(api.GROUP, api.VERSION, plural, id=f"{plural}_event", registry=registry)
            async def image_event(event: Mapping[str, Any], _kind: str = kind, **_: Any) -> None:
                if operator.images is not None:
                    operator.images.changed(
                        _kind, event["object"], deleted=event.get("type") == "DELETED"
                    )

    @kopf.on.event(api.GROUP, api.VERSION, "clusters", registry=registry)
    async def cluster_event(name: str, event: Mapping[str, Any], **_: Any) -> None:
        metadata = (event.get("object") or {}).get("metadata") or {}
        fingerprint = (
            metadata.get("generation"),
            tuple(sorted((metadata.get("annotations") or {}).items())),
            metadata.get("deletionTimestamp"),
        )
        operator.cluster_changed(name, fingerprint, deleted=event.get("type") == "DELETED")

    @kopf.on.event("", "v1", "namespaces", registry=registry)
    async def namespace_event(
        name: str, labels: Mapping[str, str], event: Mapping[str, Any], **_: Any
    ) -> None:
        operator.namespace_changed(name, labels, deleted=event.get("type") == "DELETED")

    return registry
