"""Git push webhooks: verify the signature, find the GitRepositories, ask them to fetch now.

A receiver is a Secret in the platform namespace labelled
``landlord.dev/receiver: "true"``, with a ``token`` and a ``type``
(``github``, ``gitlab`` or ``generic``). ``POST /v1/receivers/<secret name>``
accepts:

- ``github``: ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body with the token>``,
  events ``push`` (``ping`` is answered and ignored);
- ``gitlab``: ``X-Gitlab-Token: <token>``, events ``Push Hook`` and ``Tag Push Hook``;
- ``generic``: ``X-Signature: sha256=<HMAC-SHA256 of the body>``, a JSON body with the
  repository's ``url`` (or ``repository.url``).

Every GitRepository (in any namespace) whose URL is the pushed repository's gets
``landlord.dev/requested-at``; its source controller fetches at once.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from landlord import api, errors, kube, telemetry
from landlord.api import labels
from landlord.onboarding.models import ReceiverResult
from landlord.onboarding.service import Problem

TYPES = ("github", "gitlab", "generic")
_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$")


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


def verify(kind: str, token: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether the delivery carries the receiver's signature (constant-time compares)."""
    if kind == "gitlab":
        given = headers.get("x-gitlab-token", "")
        return bool(given) and hmac.compare_digest(given.encode(), token.encode())
    header = "x-hub-signature-256" if kind == "github" else "x-signature"
    given = headers.get(header, "")
    if not given.startswith("sha256="):
        return False
    expected = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.removeprefix("sha256=").lower().encode(), expected.encode())


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


class Receivers:
    """Deliveries to the receivers defined in the platform namespace."""

    def __init__(
        self,
        kube_client: kube.Kube,
        *,
        platform_namespace: str,
        metrics: telemetry.Metrics | None = None,
    ) -> None:
        self.kube = kube_client
        self.platform_namespace = platform_namespace
        self.metrics = metrics

    def deliver(self, name: str, headers: Mapping[str, str], body: bytes) -> ReceiverResult:
        """Verify and act on one delivery; :class:`Problem` 404/401/400 otherwise."""
        kind, token = self._receiver(name)
        if not verify(kind, token, headers, body):
            self._count(name, "unauthorized")
            raise Problem(401, f"the delivery's signature does not match receiver {name}'s token")
        event = event_of(kind, headers)
        if not is_push(kind, event):
            self._count(name, "ignored")
            return ReceiverResult(receiver=name, event=event, matched=[])
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            self._count(name, "invalid")
            raise Problem(400, "the delivery's body is not JSON") from None
        if not isinstance(payload, dict):
            self._count(name, "invalid")
            raise Problem(400, "the delivery's body is not a JSON object")
        wanted = repository_urls(kind, payload)
        if not wanted:
            self._count(name, "invalid")
            raise Problem(
                400, "the delivery names no repository URL", {"repository.url": "missing"}
            )
        matched = self._request_fetch(wanted, name)
        self._count(name, "accepted" if matched else "unmatched")
        return ReceiverResult(receiver=name, event=event, matched=matched)

    def _receiver(self, name: str) -> tuple[str, str]:
        secret = None
        if re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) and len(name) <= 253:
            secret = self.kube.get("v1", "Secret", name, self.platform_namespace)
        if (
            secret is None
            or (secret["metadata"].get("labels") or {}).get(labels.RECEIVER) != "true"
        ):
            self._count(name, "unknown")
            raise Problem(404, f"there is no receiver {name}")
        data = secret.get("data") or {}
        token = base64.b64decode(data.get("token") or "").decode(errors="replace").strip()
        kind = (
            base64.b64decode(data.get("type") or "").decode(errors="replace").strip() or "generic"
        )
        if not token or kind not in TYPES:
            raise Problem(
                404,
                f"receiver {name} is not usable: its Secret needs a 'token' and a 'type' "
                f"({', '.join(TYPES)})",
            )
        return kind, token

    def _request_fetch(self, wanted: set[str], receiver: str) -> list[str]:
        now = datetime.datetime.now(datetime.UTC).isoformat()
        patch = {"metadata": {"annotations": {labels.REQUESTED_AT: now}}}
        matched = []
        for item in self.kube.list_objects(api.API_VERSION, "GitRepository"):
            if normalize(str((item.get("spec") or {}).get("url") or "")) not in wanted:
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
