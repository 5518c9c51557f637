"""What each Provider type is sent: the URL, the headers and the body of one delivery.

Each shape is the service's documented one (and Flux's where Flux documents
it): Slack's incoming-webhook attachments, a Microsoft Teams Adaptive Card
(Workflows webhooks), Discord's webhook embeds, Alertmanager's ``/api/v2/alerts``
array, GitHub's and GitLab's commit status APIs, and for ``generic`` the event
itself as Flux's notification-controller posts it. Pure: no request is made here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import urllib.parse
from typing import Any

from landlord.notifications.event import Event

SLACK_GOOD, SLACK_DANGER = "good", "danger"
DISCORD_GREEN, DISCORD_RED = 0x2EB886, 0xD63638
CONTROLLER = "landlord"


class PayloadError(ValueError):
    """The Provider cannot send this event (a bad address, a missing token)."""


class NotForThisProviderError(PayloadError):
    """The event is not one this Provider posts (no commit for a commit status): skipped."""


@dataclasses.dataclass(frozen=True)
class Target:
    """Where and as whom: the Provider's spec with its Secret's fields applied."""

    type: str
    address: str
    token: str | None = None
    username: str | None = None
    channel: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class Request:
    """One POST."""

    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def render(target: Target, event: Event) -> Request:
    """The request that delivers ``event`` to ``target`` (PayloadError: it cannot be sent)."""
    renderer = _RENDERERS.get(target.type)
    if renderer is None:
        raise PayloadError(f"provider type {target.type!r} is not supported")
    url, body, headers = renderer(target, event)
    data = json.dumps(body, separators=(",", ":"), sort_keys=False).encode()
    merged = {"Content-Type": "application/json", **dict(target.headers), **headers}
    if target.type == "generic-hmac":
        if not target.token:
            raise PayloadError("a generic-hmac Provider needs a token (its Secret's `token`)")
        digest = hmac.new(target.token.encode(), data, hashlib.sha256).hexdigest()
        merged["X-Signature"] = f"sha256={digest}"
    return Request(url, data, tuple(merged.items()))


def title(event: Event) -> str:
    """``kustomization/team-a.team-a``: Flux's way of naming the object."""
    return f"{event.kind.lower()}/{event.name}.{event.namespace}"


def _generic(target: Target, event: Event) -> tuple[str, Any, dict[str, str]]:
    body = {
        "involvedObject": {
            "kind": event.kind,
            "namespace": event.namespace,
            "name": event.name,
            "uid": event.uid,
            "apiVersion": event.api_version,
        },
        "severity": event.severity,
        "timestamp": event.timestamp,
        "message": event.message,
        "reason": event.reason,
        "metadata": _metadata(event),
        "reportingController": CONTROLLER,
    }
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
    if target.type == "generic-hmac":
        headers = {}  # the token signs; it is not sent
    return target.address, body, headers


def _slack(target: Target, event: Event) -> tuple[str, Any, dict[str, str]]:
    attachment: dict[str, Any] = {
        "color": SLACK_DANGER if event.severity == "error" else SLACK_GOOD,
        "author_name": title(event),
        "text": event.message,
        "mrkdwn_in": ["text"],
    }
    fields = [{"title": k, "value": v, "short": False} for k, v in _metadata(event).items()]
    if fields:
        attachment["fields"] = fields
    body: dict[str, Any] = {"username": target.username or CONTROLLER, "attachments": [attachment]}
    if target.channel:
        body["channel"] = target.channel
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
    return target.address, body, headers


def _msteams(target: Target, event: Event) -> tuple[str, Any, dict[str, str]]:
    facts = [{"title": k, "value": v} for k, v in _metadata(event).items()]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": title(event),
                "weight": "bolder",
                "size": "medium",
                "color": "attention" if event.severity == "error" else "good",
            },
            {"type": "TextBlock", "text": event.message, "wrap": True},
        ],
    }
    if facts:
        card["body"].append({"type": "FactSet", "facts": facts})
    body = {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }
    return target.address, body, {}


def _discord(target: Target, event: Event) -> tuple[str, Any, dict[str, str]]:
    embed: dict[str, Any] = {
        "title": title(event),
        "description": event.message[:4096],
        "color": DISCORD_RED if event.severity == "error" else DISCORD_GREEN,
        "timestamp": event.timestamp,
    }
    fields = [{"name": k, "value": v[:1024], "inline": False} for k, v in _metadata(event).items()]
    if fields:
        embed["fields"] = fields[:25]
    body = {"username": target.username or CONTROLLER, "embeds": [embed]}
    return target.address, body, {}


def _alertmanager(target: Target, event: Event) -> tuple[str, Any, dict[str, str]]:
    labels = {
        "alertname": f"Landlord{event.kind}{event.reason}",
        "severity": event.severity,
        "reason": event.reason,
        "kind": event.kind,
        "name": event.name,
        "namespace": event.namespace,
    }
    metadata = _metadata(event)
    annotations = {"message": event.message}
    if "summary" in metadata:
        annotations["summary"] = metadata.pop("summary")
    for key, value in metadata.items():
        labels.setdefault(_label(key), value)
    body = [
        {
            "status": "firing",
            "labels": labels,
            "annotations": annotations,
            "startsAt": event.timestamp,
        }
    ]
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
    return target.address, body, headers


def _github(target: Target, event: Event) -> tuple[str, Any, dict[str, str]]:
    sha = _commit(event)
    host, path = _repository(target.address, "github")
    scheme = urllib.parse.urlsplit(target.address).scheme
    api = "https://api.github.com" if host == "github.com" else f"{scheme}://{host}/api/v3"
    body = {
        "state": _state(event, {"success": "success", "failure": "failure", "pending": "pending"}),
        "context": _context(event),
        "description": event.message[:140],
    }
    headers = {"Accept": "application/vnd.github+json"}
    if target.token:
        headers["Authorization"] = f"Bearer {target.token}"
    return f"{api}/repos/{path}/statuses/{sha}", body, headers


def _gitlab(target: Target, event: Event) -> tuple[str, Any, dict[str, str]]:
    sha = _commit(event)
    host, path = _repository(target.address, "gitlab")
    scheme = urllib.parse.urlsplit(target.address).scheme
    project = urllib.parse.quote(path, safe="")
    body = {
        "state": _state(event, {"success": "success", "failure": "failed", "pending": "running"}),
        "name": _context(event),
        "description": event.message[:255],
    }
    headers = {"PRIVATE-TOKEN": target.token} if target.token else {}
    return f"{scheme}://{host}/api/v4/projects/{project}/statuses/{sha}", body, headers


_RENDERERS = {
    "generic": _generic,
    "generic-hmac": _generic,
    "slack": _slack,
    "msteams": _msteams,
    "discord": _discord,
    "alertmanager": _alertmanager,
    "github": _github,
    "gitlab": _gitlab,
}


def _metadata(event: Event) -> dict[str, str]:
    found = dict(event.metadata)
    if event.revision:
        found["revision"] = event.revision  # an Alert's eventMetadata does not replace it
    return found


def _commit(event: Event) -> str:
    sha = event.commit
    if sha is None:
        raise NotForThisProviderError(
            f"{title(event)}: event {event.reason} names no commit (revision "
            f"{event.revision or 'none'}); a commit status needs one"
        )
    return sha


def _repository(address: str, kind: str) -> tuple[str, str]:
    """(host with port, ``owner/repo``) of a repository URL (``.git`` dropped)."""
    parts = urllib.parse.urlsplit(address)
    path = parts.path.strip("/").removesuffix(".git")
    if parts.scheme not in ("http", "https") or not parts.hostname or path.count("/") < 1:
        raise PayloadError(
            f"a {kind} Provider's address is the repository's URL "
            f"(https://{kind}.com/<owner>/<repository>), not {address!r}"
        )
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return host, path


def _state(event: Event, names: dict[str, str]) -> str:
    if event.severity == "error":
        return names["failure"]
    if event.reason == "Progressing":
        return names["pending"]
    return names["success"]


def _context(event: Event) -> str:
    """One status per object: ``kustomization/<name>/<first 5 of the uid's sha>`` (Flux's)."""
    short = hashlib.sha256(event.uid.encode()).hexdigest()[:5]
    return f"{event.kind.lower()}/{event.name}/{short}"


def _label(key: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in key)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"
