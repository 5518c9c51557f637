"""Git push webhooks: verify the delivery, ask the GitRepositories it names to fetch now.

A receiver is a Secret in the platform namespace labelled
``landlord.dev/receiver: "true"``, with a ``token``, a ``type`` (``github``,
``gitlab`` or ``generic``) and ``resources``: the GitRepositories it may
trigger, as a YAML list in the shape of Flux's Receiver ``spec.resources``::

    resources: |
      - kind: GitRepository
        name: app
        namespace: team-a
      - kind: GitRepository
        name: "*"              # every GitRepository of team-b with these labels
        namespace: team-b
        matchLabels: {landlord.dev/webhook: "true"}

``namespace`` defaults to the platform namespace (the receiver's own, as in
Flux), and ``name: "*"`` needs ``matchLabels``. A receiver with no resources
triggers nothing: a delivery never fans out to every source in the cluster.
When the delivery names the pushed repository, only the named GitRepositories
whose URL is that repository's are asked to fetch.

``POST /v1/receivers/<secret name>`` accepts:

- ``github``: ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>``, the delivery
  id ``X-GitHub-Delivery``, events ``push`` (``ping`` is answered and ignored);
- ``gitlab``: ``X-Gitlab-Token: <token>``, the delivery id ``X-Gitlab-Event-UUID`` (or
  ``Idempotency-Key``), events ``Push Hook`` and ``Tag Push Hook``;
- ``generic``: ``X-Timestamp: <unix seconds>`` and
  ``X-Signature: sha256=<HMAC-SHA256 of "<timestamp>." + body>``, optionally with the
  repository's ``url`` (or ``repository.url``) in a JSON body.

Replays are ignored: a delivery id, and the digest of a signed body, are
remembered for ``LANDLORD_API__RECEIVER_REPLAY_WINDOW`` (default 5 min), and a
generic delivery's timestamp must lie within that window of now, so a captured
generic delivery is refused once the window has passed.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

import pydantic
import yaml

from landlord import api, errors, kube, telemetry
from landlord.api import conditions, labels, notification
from landlord.kube import events
from landlord.onboarding.models import ReceiverResult
from landlord.onboarding.webhooks import (
    DEFAULT_WINDOW,
    DELIVERY_HEADERS,
    TYPES,
    Deliveries,
    delivery_ids,
    event_of,
    has_delivery_id,
    is_push,
    normalize,
    refusal,
    repository_urls,
)

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_RESOURCE_FIELDS = {"apiVersion", "kind", "name", "namespace", "matchLabels"}


@dataclasses.dataclass(frozen=True)
class Resource:
    """One entry of a receiver's ``resources`` (Flux's ``CrossNamespaceObjectReference``)."""

    name: str
    namespace: str
    match_labels: tuple[tuple[str, str], ...] = ()
    kind: str = "GitRepository"

    def selects(self, item: Mapping[str, Any]) -> bool:
        """Whether a GitRepository is this entry's (by name, namespace and labels)."""
        metadata = item.get("metadata") or {}
        if metadata.get("namespace") != self.namespace:
            return False
        if self.name != "*" and metadata.get("name") != self.name:
            return False
        found = metadata.get("labels") or {}
        return all(found.get(key) == value for key, value in self.match_labels)

    @property
    def selector(self) -> str | None:
        """The label selector of ``matchLabels`` (None when there are none)."""
        return ",".join(f"{key}={value}" for key, value in self.match_labels) or None


def parse_resources(raw: str, *, default_namespace: str) -> list[Resource]:
    """A receiver's ``resources`` (YAML or JSON); ValueError saying what is wrong."""
    try:
        loaded = yaml.safe_load(raw) if raw.strip() else []
    except yaml.YAMLError:
        raise ValueError("resources is not YAML") from None
    if isinstance(loaded, dict) and "resources" in loaded:
        loaded = loaded["resources"]
    if not isinstance(loaded, list):
        raise ValueError("resources must be a list of {kind, name, namespace?, matchLabels?}")
    found = []
    for index, entry in enumerate(loaded):
        where = f"resources[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be a mapping")
        unknown = set(entry) - _RESOURCE_FIELDS
        if unknown:
            raise ValueError(f"{where} has unknown fields: {', '.join(sorted(map(str, unknown)))}")
        if entry.get("kind") != "GitRepository":
            raise ValueError(f"{where}.kind must be GitRepository (the only kind a push fetches)")
        version = str(entry.get("apiVersion") or api.API_VERSION)
        if version.partition("/")[0] != api.GROUP:
            raise ValueError(f"{where}.apiVersion must be {api.API_VERSION}")
        name = str(entry.get("name") or "")
        namespace = str(entry.get("namespace") or default_namespace)
        if name != "*" and not _DNS_SUBDOMAIN.match(name):
            raise ValueError(f"{where}.name must be a DNS-1123 name or '*'")
        if not _DNS_SUBDOMAIN.match(namespace) or len(namespace) > 63:
            raise ValueError(f"{where}.namespace must be a DNS-1123 label")
        selector = entry.get("matchLabels") or {}
        if not isinstance(selector, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in selector.items()
        ):
            raise ValueError(f"{where}.matchLabels must map strings to strings")
        if name == "*" and not selector:
            raise ValueError(f"{where}: name '*' needs matchLabels (as in Flux)")
        found.append(Resource(name, namespace, tuple(sorted(selector.items()))))
    return found


@dataclasses.dataclass(frozen=True)
class _Receiver:
    kind: str
    token: str
    resources: list[Resource]
    unusable: str | None = None  # told only to a delivery that proves it holds the token
    # A Receiver's spec.events (empty: its type's push events); unsigned: Flux's `generic`,
    # whose secret path is its only credential.
    events: tuple[str, ...] = ()
    unsigned: bool = False


# Seconds a list of Receivers answers deliveries before it is listed again.
INDEX_TTL = 2.0
# A Receiver's type → how its deliveries are verified (webhooks.refusal's kinds).
RECEIVER_KINDS = {"github": "github", "gitlab": "gitlab", "generic-hmac": "generic", "generic": ""}


class Receivers:
    """Deliveries to the receivers defined in the platform namespace."""

    def __init__(
        self,
        kube_client: kube.Kube,
        *,
        platform_namespace: str,
        replay_window: float = DEFAULT_WINDOW,
        metrics: telemetry.Metrics | None = None,
    ) -> None:
        self.kube = kube_client
        self.platform_namespace = platform_namespace
        self.replay_window = replay_window
        self.metrics = metrics
        self.deliveries = Deliveries(replay_window)
        self._warned: set[str] = set()
        self._index: tuple[float, list[dict[str, Any]]] | None = None
        self._index_lock = threading.Lock()

    def deliver(self, name: str, headers: Mapping[str, str], body: bytes) -> ReceiverResult:
        """A delivery to a labelled-Secret receiver (deprecated: the Receiver kind replaces it)."""
        receiver = self._receiver(name)
        result = self._deliver(name, receiver, headers, body)
        self._deprecated(name)  # only for a delivery that proved it holds the token
        return result

    def deliver_hook(self, digest: str, headers: Mapping[str, str], body: bytes) -> ReceiverResult:
        """A delivery to a Receiver's ``/hook/<digest>``."""
        name, receiver = self._hook_receiver(notification.HOOK_PREFIX + digest)
        return self._deliver(name, receiver, headers, body)

    def _deliver(
        self, name: str, receiver: _Receiver, headers: Mapping[str, str], body: bytes
    ) -> ReceiverResult:
        """Verify and act on one delivery; NotFound, Unauthenticated or Malformed otherwise."""
        if not receiver.unsigned:
            why = refusal(receiver.kind, receiver.token, headers, body, window=self.replay_window)
            if why is not None:
                self._count(name, "unauthorized")
                raise errors.UnauthenticatedError(f"{why} (receiver {name})")
        if receiver.unusable is not None:
            self._count(name, "invalid")
            raise errors.NotFoundError(f"receiver {name} is not usable: {receiver.unusable}")
        event = event_of(receiver.kind, headers) if not receiver.unsigned else "generic"
        wanted_events = {e.lower() for e in receiver.events}
        if (wanted_events and event.lower() not in wanted_events) or (
            not wanted_events and not receiver.unsigned and not is_push(receiver.kind, event)
        ):
            self._count(name, "ignored")
            return ReceiverResult(receiver=name, event=event, matched=[])
        if receiver.unsigned:
            # Flux's generic Receiver: the unguessable path is the credential; the body
            # is not read, and a repeated delivery only asks for a fetch again.
            matched = self._request_fetch(receiver.resources, set(), name)
            self._count(name, "accepted" if matched else "unmatched")
            return ReceiverResult(receiver=name, event=event, matched=matched)
        if not has_delivery_id(receiver.kind, headers):
            self._count(name, "invalid")
            names = " or ".join(h.title() for h in DELIVERY_HEADERS[receiver.kind])
            raise errors.MalformedError(
                f"the delivery has no id ({names}): replays could not be told"
            )
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            self._count(name, "invalid")
            raise errors.MalformedError("the delivery's body is not JSON") from None
        if not isinstance(payload, dict):
            self._count(name, "invalid")
            raise errors.MalformedError("the delivery's body is not a JSON object")
        wanted = repository_urls(receiver.kind, payload)
        if not wanted and receiver.kind != "generic":
            self._count(name, "invalid")
            raise errors.MalformedError(
                "the delivery names no repository URL", fields={"repository.url": "missing"}
            )
        ids = [f"{name}/{key}" for key in delivery_ids(receiver.kind, headers, body)]
        if not self.deliveries.claim(ids):
            self._count(name, "replayed")
            return ReceiverResult(receiver=name, event=event, matched=[], replayed=True)
        try:
            matched = self._request_fetch(receiver.resources, wanted, name)
        except BaseException:
            self.deliveries.release(ids)
            raise
        self._count(name, "accepted" if matched else "unmatched")
        return ReceiverResult(receiver=name, event=event, matched=matched)

    def _receiver(self, name: str) -> _Receiver:
        secret = None
        if _DNS_SUBDOMAIN.match(name) and len(name) <= 253:
            secret = self.kube.get("v1", "Secret", name, self.platform_namespace)
        if (
            secret is None
            or (secret["metadata"].get("labels") or {}).get(labels.RECEIVER) != "true"
        ):
            self._count(name, "unknown")
            raise errors.NotFoundError(f"there is no receiver {name}")
        data = secret.get("data") or {}

        def text(key: str) -> str:
            return base64.b64decode(data.get(key) or "").decode(errors="replace").strip()

        token, kind = text("token"), text("type") or "generic"
        if not token or kind not in TYPES:
            raise errors.NotFoundError(
                f"receiver {name} is not usable: its Secret needs a 'token' and a 'type' "
                f"({', '.join(TYPES)})",
            )
        try:
            resources = parse_resources(
                text("resources"), default_namespace=self.platform_namespace
            )
        except ValueError as error:
            return _Receiver(kind, token, [], str(error))
        if not resources:
            return _Receiver(
                kind,
                token,
                [],
                "its Secret names no 'resources' (the GitRepositories it may trigger, as in "
                "Flux's Receiver); it triggers nothing",
            )
        return _Receiver(kind, token, resources)

    def _hook_receiver(self, path: str) -> tuple[str, _Receiver]:
        """The Receiver whose status names ``path``, Ready at its generation; its token."""
        found = [
            item
            for item in self._receivers()
            if (item.get("status") or {}).get("webhookPath") == path
        ]
        if len(found) != 1:
            self._count("<unknown>", "unknown")
            raise errors.NotFoundError("there is no receiver at this path")
        item = found[0]
        namespace, name = item["metadata"]["namespace"], item["metadata"]["name"]
        shown = f"{namespace}/{name}"
        try:
            spec = notification.ReceiverSpec.of(item)
        except pydantic.ValidationError:
            self._count(shown, "invalid")
            raise errors.NotFoundError(
                f"receiver {shown} is not usable: its spec is invalid"
            ) from None
        # Its status is the operator's, from the spec it checked: a spec changed since
        # (resources another tenant's) waits for the operator before it can be used.
        if spec.suspend or not conditions.ready_at_generation(item):
            self._count(shown, "invalid")
            raise errors.NotFoundError(
                f"receiver {shown} is not ready (suspended, or changed and not checked yet)"
            )
        tenant = self.kube.as_service_account(namespace, labels.RECONCILER_SERVICE_ACCOUNT)
        try:
            secret = tenant.get("v1", "Secret", spec.secret_ref.name, namespace)
        except errors.ApiError:
            secret = None
        token = ""
        if secret is not None:
            raw = (secret.get("data") or {}).get("token") or ""
            token = base64.b64decode(raw).decode(errors="replace").strip()
        if not token or notification.webhook_path(token, name, namespace) != path:
            self._count("<unknown>", "unknown")  # a rotated token: the old path is gone
            raise errors.NotFoundError("there is no receiver at this path")
        resources = [
            Resource(
                r.name,
                r.namespace or namespace,
                tuple(sorted((r.match_labels or {}).items())),
                r.kind,
            )
            for r in spec.resources
        ]
        kind = RECEIVER_KINDS[spec.type]
        return shown, _Receiver(
            kind or "generic", token, resources, events=spec.events or (), unsigned=not kind
        )

    def _receivers(self) -> list[dict[str, Any]]:
        """Every Receiver, listed at most once every few seconds (deliveries are not LISTs)."""
        with self._index_lock:
            now = time.monotonic()
            if self._index is None or now - self._index[0] > INDEX_TTL:
                self._index = (
                    now,
                    self.kube.list_objects(api.API_VERSION, notification.RECEIVER),
                )
            return self._index[1]

    def _deprecated(self, name: str) -> None:
        """Once per receiver and process: an Event on its Secret saying what replaces it."""
        if name in self._warned:
            return
        self._warned.add(name)
        events.record(
            self.kube,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": self.platform_namespace},
            },
            reason="DeprecatedReceiver",
            message=(
                "labelled-Secret receivers are deprecated and go in the next release: create a "
                "Receiver (kind Receiver, docs/notifications.md) and point the webhook at its "
                "status.webhookPath"
            ),
            warning=True,
        )

    def _selected(self, resources: list[Resource]) -> list[dict[str, Any]]:
        """The GitRepositories the receiver names or selects (each once)."""
        found: dict[tuple[str, str, str], dict[str, Any]] = {}
        for resource in resources:
            if resource.name == "*":
                items = self.kube.list_objects(
                    api.API_VERSION,
                    resource.kind,
                    namespace=resource.namespace,
                    label_selector=resource.selector,
                )
            else:
                item = self.kube.get(
                    api.API_VERSION, resource.kind, resource.name, resource.namespace
                )
                items = [item] if item is not None else []
            for item in items:
                if resource.selects(item):
                    metadata = item["metadata"]
                    found[(resource.kind, metadata["namespace"], metadata["name"])] = {
                        **item,
                        "kind": resource.kind,
                    }
        return list(found.values())

    def _request_fetch(
        self, resources: list[Resource], wanted: set[str], receiver: str
    ) -> list[str]:
        now = datetime.datetime.now(datetime.UTC).isoformat()
        patch = {"metadata": {"annotations": {labels.REQUESTED_AT: now}}}
        matched = []
        for item in self._selected(resources):
            url = normalize(str((item.get("spec") or {}).get("url") or ""))
            if wanted and item["kind"] == "GitRepository" and url not in wanted:
                continue
            namespace, name = item["metadata"]["namespace"], item["metadata"]["name"]
            try:
                self.kube.merge_patch(api.API_VERSION, item["kind"], name, patch, namespace)
            except errors.ApiError as error:
                if error.not_found:
                    continue
                raise
            matched.append(f"{namespace}/{name}")
        telemetry.add_event(
            "landlord.receiver", {"receiver": receiver, "matched": ", ".join(matched)}
        )
        return sorted(matched)

    def _count(self, name: str, result: str) -> None:
        if self.metrics is not None:
            # Unknown names are attacker-chosen: one label value for all of them.
            shown = name if result != "unknown" else "<unknown>"
            self.metrics.receiver_events_total.labels(receiver=shown, result=result).inc()
