"""Push deliveries read and judged: signatures, delivery ids, events, pushed URLs, replays.

Pure functions of a delivery's headers and body (no cluster): which format
signed it and whether with the receiver's token (constant-time compares), what
identifies it for replay detection, whether it is a push, and which
repository it names, spelled as :func:`normalize` spells every URL so a
delivery and a GitRepository agree on it. :class:`Deliveries` remembers the
ids seen within the replay window.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from landlord.git import urls

TYPES = ("github", "gitlab", "generic")
DEFAULT_WINDOW = 300.0
MAX_REMEMBERED = 100_000
_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$")
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DELIVERY_HEADERS = {
    "github": ("x-github-delivery",),
    "gitlab": ("x-gitlab-event-uuid", "idempotency-key"),
    "generic": (),
}


def normalize(url: str) -> str:
    """A repository URL as ``host/path``: no scheme, user, port, ``.git`` or case in the host.

    Host and path are spelled as the sources reconciler spells them
    (:func:`urls.normalise`: trailing dots, IDNA, numeric IPv4, dot segments,
    escapes), so a delivery names a GitRepository however either wrote the URL.
    """
    text = url.strip()
    if "://" not in text:
        scp = _SCP.match(text)
        if scp:
            return f"{scp.group(1).lower()}/{scp.group(2).strip('/').removesuffix('.git')}"
        return text.lower()
    try:
        source = urls.normalise(text)
    except urls.InvalidSourceError:  # not fetchable; still compared, roughly
        parts = urllib.parse.urlsplit(text)
        host, path = (parts.hostname or "").lower(), parts.path
    else:
        host, path = source.host, source.path
    return f"{host}/{path.strip('/').removesuffix('.git')}"


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
    for header in DELIVERY_HEADERS[kind]:
        value = headers.get(header, "").strip()
        if value:
            found.append("id:" + value)
            break
    return found


def has_delivery_id(kind: str, headers: Mapping[str, str]) -> bool:
    """Whether a GitHub/GitLab delivery carries its id (generic ones use their timestamp)."""
    names = DELIVERY_HEADERS[kind]
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
