"""A kubeconfig's credentials, read again when the apiserver refuses them.

client-go re-reads a pod's projected token as the kubelet rotates it, and so
does Landlord (:func:`landlord.kube.client.token_of`). A kubeconfig file is
another matter: the Python client reads it once, so after its token or client
certificate was rotated (and the old one revoked) every request would be
refused (401) until the process restarts. Here a refusal makes the connection
read its kubeconfig again (at most every :data:`RECHECK` seconds); new
credentials replace the old ones in every client made from it (the connection
and each impersonated identity), and new connection pools are made so a new
client certificate is presented. Unchanged credentials are said to be refused,
once, with what to do; nothing else changes: a refused request fails as any
failed request does, and what it would have written or deleted is not.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import pathlib
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from kubernetes import client as k8s
from kubernetes.client import rest

log = logging.getLogger(__name__)

# Seconds between two readings of the kubeconfig after refusals.
RECHECK = 2.0
# What a configuration holds of the identity it presents (the server's CA too:
# a rotation may bring a new one).
ATTRIBUTES = (
    "api_key",
    "api_key_prefix",
    "refresh_api_key_hook",
    "cert_file",
    "key_file",
    "ssl_ca_cert",
    "username",
    "password",
)

# Seconds the old connection pools stay open for the requests in flight on them.
RETIRE_AFTER = 60.0

Loader = Callable[[k8s.Configuration], None]
# Makes a client's REST layer again (its wrappers included) for a configuration.
RestMaker = Callable[[k8s.Configuration], Any]


def _file_digest(path: object) -> str:
    if not path:
        return ""
    try:
        return hashlib.sha256(pathlib.Path(str(path)).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def fingerprint(configuration: k8s.Configuration) -> str:
    """A digest of the credentials ``configuration`` presents (files by their content)."""
    digest = hashlib.sha256()
    for attribute in ATTRIBUTES:
        value = getattr(configuration, attribute, None)
        if attribute in ("cert_file", "key_file", "ssl_ca_cert"):
            value = _file_digest(value)
        elif attribute == "refresh_api_key_hook":
            value = value is not None
        elif isinstance(value, dict):
            value = sorted(value.items())
        digest.update(f"{attribute}={value!r};".encode())
    return digest.hexdigest()


class Credentials:
    """Where a connection's credentials come from, and every client that presents them."""

    def __init__(self, source: str, load: Loader, configuration: k8s.Configuration) -> None:
        """``source``: the kubeconfig, as the messages name it; ``load`` reads it again."""
        self.source = source
        self._load = load
        self._lock = threading.Lock()
        self._fingerprint = fingerprint(configuration)
        self._configurations: weakref.WeakSet[k8s.Configuration] = weakref.WeakSet()
        self._configurations.add(configuration)
        self._clients: weakref.WeakKeyDictionary[k8s.ApiClient, RestMaker] = (
            weakref.WeakKeyDictionary()
        )
        self._checked = float("-inf")
        self.refused_since: float | None = None  # monotonic time of the first refusal
        self.reloads = 0
        # Called (on the thread that read them) once new credentials are in use.
        self.on_change: list[Callable[[], None]] = []

    def follow(self, configuration: k8s.Configuration) -> None:
        """``configuration`` (an impersonated identity's copy) gets new credentials too."""
        with self._lock:
            self._configurations.add(configuration)

    def track(self, api_client: k8s.ApiClient, make_rest: RestMaker) -> None:
        """``api_client`` gets a new REST layer (new pools) when the credentials change."""
        with self._lock:
            self._clients[api_client] = make_rest

    def accepted(self) -> None:
        """A request went through: the credentials work (again)."""
        if self.refused_since is not None:
            with self._lock:
                if self.refused_since is not None:
                    log.warning(
                        "the apiserver accepts the credentials of %s again after %.0fs",
                        self.source,
                        time.monotonic() - self.refused_since,
                    )
                    self.refused_since = None

    def refused(self) -> bool:
        """A request was refused (401): read the kubeconfig again; True if it changed."""
        now = time.monotonic()
        with self._lock:
            first = self.refused_since is None
            if first:
                self.refused_since = now
            if now - self._checked < RECHECK:
                return False
            self._checked = now
        changed = self.reload()
        if not changed and first:
            log.error(
                "the apiserver refuses the credentials of %s (401 Unauthorized); nothing "
                "is written or deleted while it does. Rotate them there: Landlord reads "
                "the file again at the next refusal (every %.0fs at most)",
                self.source,
                RECHECK,
            )
        return changed

    def reload(self) -> bool:
        """Read the kubeconfig again; if its credentials differ, use them (True)."""
        fresh = k8s.Configuration()
        try:
            self._load(fresh)
        except Exception as error:  # noqa: BLE001 - a half-written file is read again later
            log.warning("reading %s again failed: %s", self.source, str(error)[:300])
            return False
        new = fingerprint(fresh)
        with self._lock:
            if new == self._fingerprint:
                return False
            self._fingerprint = new
            self.reloads += 1
            for configuration in list(self._configurations):
                for attribute in ATTRIBUTES:
                    setattr(configuration, attribute, copy.copy(getattr(fresh, attribute)))
            clients = list(self._clients.items())
        for api_client, make_rest in clients:
            # Requests in flight finish on the old pool; new ones present the new identity.
            old = api_client.rest_client
            api_client.rest_client = make_rest(api_client.configuration)
            closing = threading.Timer(RETIRE_AFTER, _retire, args=(old,))
            closing.daemon = True
            closing.start()
        log.warning("%s holds new credentials: the connection uses them now", self.source)
        for callback in self.on_change:
            callback()
        return True


def refusals(rest_client: rest.RESTClientObject, credentials: Credentials) -> None:
    """Have ``rest_client`` tell ``credentials`` of each refusal (401) and each success."""
    inner = rest_client.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        try:
            response = inner(method, url, *args, **kwargs)
        except k8s.ApiException as error:  # clients that raise at this layer
            _answered(credentials, error.status)
            raise
        _answered(credentials, getattr(response, "status", 0))
        return response

    rest_client.request = request  # type: ignore[method-assign]


def _answered(credentials: Credentials, status: object) -> None:
    if status == 401:
        credentials.refused()
    elif status:  # authenticated, whatever came of it
        credentials.accepted()


def _retire(rest_client: Any) -> None:
    """Close an old REST layer's pools (a watch still on them reconnects, as the new one)."""
    with contextlib.suppress(Exception):
        rest_client.pool_manager.clear()
