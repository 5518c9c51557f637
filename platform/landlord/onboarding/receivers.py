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
import collections
import dataclasses
import datetime
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from landlord import api, errors, kube, telemetry
from landlord.api import labels
from landlord.onboarding.models import ReceiverResult
from landlord.onboarding.service import Problem

TYPES = ("github", "gitlab", "generic")
DEFAULT_WINDOW = 300.0
MAX_REMEMBERED = 100_000
_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_DELIVERY_HEADERS = {
    "github": ("x-github-delivery",),
    "gitlab": ("x-gitlab-event-uuid", "idempotency-key"),
    "generic": (),
}
_RESOURCE_FIELDS = {"apiVersion", "kind", "name", "namespace", "matchLabels"}


def normalize(url: str) -> str:
    """A repository URL as ``host/path``: no scheme, user, port, ``.git`` or case in the host."""
    text = url.strip()
    if "://" not in text:
        scp = _SCP.match(text)
        if scp:
            return f"{scp.group(1).lower()}/{scp.group(2).strip('/').removesuffix('.git')}"
        return text.lower()
    parts = urllib.parse.urlsplit(text)
    host = (parts.hostname or "").lower()
    return f"{host}/{parts.path.strip('/').removesuffix('.git')}"


def refusal(
    kind: str,
    token: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    window: float = DEFAULT_WINDOW,
) -> str | None:
    """Why the delivery is not the receiver's own (None: it is). Constant-time compares."""
    if kind == "gitlab":
        given = headers.get("x-gitlab-token", "")
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return None
        return "the delivery's X-Gitlab-Token does not match the receiver's token"
    header = "x-hub-signature-256" if kind == "github" else "x-signature"
    given = headers.get(header, "")
    signed = body
    stamp = headers.get("x-timestamp", "").strip()
    if kind == "generic":
        if not stamp.isdigit() or len(stamp) > 12:
            return "a generic delivery needs X-Timestamp (unix seconds) under its signature"
        signed = stamp.encode() + b"." + body
    expected = hmac.new(token.encode(), signed, hashlib.sha256).hexdigest()
    if not given.startswith("sha256=") or not hmac.compare_digest(
        given.removeprefix("sha256=").strip().lower().encode(), expected.encode()
    ):
        return "the delivery's signature does not match the receiver's token"
    if kind == "generic":
        skew = abs((time.time() if now is None else now) - int(stamp))
        if skew > window:
            return f"the delivery's X-Timestamp is {skew:.0f}s from now (at most {window:.0f}s)"
    return None


def verify(kind: str, token: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether the delivery carries the receiver's signature (and, generic, a fresh timestamp)."""
    return refusal(kind, token, headers, body) is None


def delivery_ids(kind: str, headers: Mapping[str, str], body: bytes) -> list[str]:
    """What identifies this delivery for replay detection: its id header and signed content.

    GitHub and GitLab sign nothing but the body (GitLab not even that), so the
    id header alone would let a replay through with a fresh id: the body's
    digest is remembered too. A generic delivery's signature covers its
    timestamp, so the signature identifies it.
    """
    if kind == "generic":
        return ["signature:" + headers.get("x-signature", "").strip().lower()]
    found = ["body:" + hashlib.sha256(body).hexdigest()]
    for header in _DELIVERY_HEADERS[kind]:
        value = headers.get(header, "").strip()
        if value:
            found.append("id:" + value)
            break
    return found


def has_delivery_id(kind: str, headers: Mapping[str, str]) -> bool:
    """Whether a GitHub/GitLab delivery carries its id (generic ones use their timestamp)."""
    names = _DELIVERY_HEADERS[kind]
    return not names or any(_DELIVERY_ID.match(headers.get(name, "")) for name in names)


def event_of(kind: str, headers: Mapping[str, str]) -> str:
    """The delivery's event name (``push`` for the generic format)."""
    if kind == "github":
        return headers.get("x-github-event", "")
    if kind == "gitlab":
        return headers.get("x-gitlab-event", "")
    return "push"


def is_push(kind: str, event: str) -> bool:
    if kind == "github":
        return event == "push"
    if kind == "gitlab":
        return event in ("Push Hook", "Tag Push Hook")
    return True


def repository_urls(kind: str, payload: Mapping[str, Any]) -> set[str]:
    """The pushed repository's URLs, normalized."""
    keys: tuple[str, ...]
    if kind == "github":
        repo = payload.get("repository") or {}
        keys = ("clone_url", "git_url", "ssh_url", "html_url", "url")
    elif kind == "gitlab":
        repo = payload.get("project") or payload.get("repository") or {}
        keys = ("git_http_url", "git_ssh_url", "web_url", "http_url", "url")
    else:
        repo = payload.get("repository") or payload
        keys = ("url",)
    if not isinstance(repo, Mapping):
        return set()
    return {normalize(str(repo[key])) for key in keys if isinstance(repo.get(key), str)}


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


class Deliveries:
    """Delivery ids seen in the last ``window`` seconds (at most ``limit`` of them).

    :meth:`claim` marks an id as taken before the delivery is acted on and
    :meth:`release` frees it if acting failed, so a sender's retry of a
    delivery that failed still counts, while a replay of one that worked does
    not. Kept in memory: per process, and forgotten on restart.
    """

    def __init__(
        self,
        window: float,
        *,
        limit: int = MAX_REMEMBERED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.limit = limit
        self.clock = clock
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._lock = threading.Lock()

    def claim(self, ids: list[str]) -> bool:
        """Take every id; False (and nothing taken) when one of them was seen."""
        now = self.clock()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) <= now:
                self._seen.popitem(last=False)
            if any(key in self._seen for key in ids):
                return False
            for key in ids:
                self._seen[key] = now + self.window
            while len(self._seen) > self.limit:
                self._seen.popitem(last=False)
            return True

    def release(self, ids: list[str]) -> None:
        with self._lock:
            for key in ids:
                self._seen.pop(key, None)


@dataclasses.dataclass(frozen=True)
class _Receiver:
    kind: str
    token: str
    resources: list[Resource]
    unusable: str | None = None  # told only to a delivery that proves it holds the token


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

    def deliver(self, name: str, headers: Mapping[str, str], body: bytes) -> ReceiverResult:
        """Verify and act on one delivery; :class:`Problem` 404/401/400 otherwise."""
        receiver = self._receiver(name)
        why = refusal(receiver.kind, receiver.token, headers, body, window=self.replay_window)
        if why is not None:
            self._count(name, "unauthorized")
            raise Problem(401, f"{why} (receiver {name})")
        if receiver.unusable is not None:
            self._count(name, "invalid")
            raise Problem(404, f"receiver {name} is not usable: {receiver.unusable}")
        event = event_of(receiver.kind, headers)
        if not is_push(receiver.kind, event):
            self._count(name, "ignored")
            return ReceiverResult(receiver=name, event=event, matched=[])
        if not has_delivery_id(receiver.kind, headers):
            self._count(name, "invalid")
            names = " or ".join(h.title() for h in _DELIVERY_HEADERS[receiver.kind])
            raise Problem(400, f"the delivery has no id ({names}): replays could not be told")
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            self._count(name, "invalid")
            raise Problem(400, "the delivery's body is not JSON") from None
        if not isinstance(payload, dict):
            self._count(name, "invalid")
            raise Problem(400, "the delivery's body is not a JSON object")
        wanted = repository_urls(receiver.kind, payload)
        if not wanted and receiver.kind != "generic":
            self._count(name, "invalid")
            raise Problem(
                400, "the delivery names no repository URL", {"repository.url": "missing"}
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
            raise Problem(404, f"there is no receiver {name}")
        data = secret.get("data") or {}

        def text(key: str) -> str:
            return base64.b64decode(data.get(key) or "").decode(errors="replace").strip()

        token, kind = text("token"), text("type") or "generic"
        if not token or kind not in TYPES:
            raise Problem(
                404,
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

    def _selected(self, resources: list[Resource]) -> list[dict[str, Any]]:
        """The GitRepositories the receiver names or selects (each once)."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for resource in resources:
            if resource.name == "*":
                items = self.kube.list_objects(
                    api.API_VERSION,
                    "GitRepository",
                    namespace=resource.namespace,
                    label_selector=resource.selector,
                )
            else:
                item = self.kube.get(
                    api.API_VERSION, "GitRepository", resource.name, resource.namespace
                )
                items = [item] if item is not None else []
            for item in items:
                if resource.selects(item):
                    metadata = item["metadata"]
                    found[(metadata["namespace"], metadata["name"])] = item
        return list(found.values())

    def _request_fetch(
        self, resources: list[Resource], wanted: set[str], receiver: str
    ) -> list[str]:
        now = datetime.datetime.now(datetime.UTC).isoformat()
        patch = {"metadata": {"annotations": {labels.REQUESTED_AT: now}}}
        matched = []
        for item in self._selected(resources):
            url = normalize(str((item.get("spec") or {}).get("url") or ""))
            if wanted and url not in wanted:
                continue
            namespace, name = item["metadata"]["namespace"], item["metadata"]["name"]
            try:
                self.kube.merge_patch(api.API_VERSION, "GitRepository", name, patch, namespace)
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
