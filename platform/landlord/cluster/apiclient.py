"""A minimal HTTPS client for the control plane's own bring-up checks.

Starting the control plane needs only a handful of requests (``/readyz``, a
ServiceAccount, a ClusterRole, Nodes); plain ``urllib`` with the admin's client
certificate keeps this package free of the Kubernetes client.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from landlord.cluster import pki as pki_mod


class ApiClient:
    """Admin requests to one apiserver."""

    def __init__(self, server: str, pki: pki_mod.Pki) -> None:
        self.server = server.rstrip("/")
        self._ssl = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._ssl.load_cert_chain(
            str(pki.client_cert(pki_mod.ADMIN)), str(pki.client_key(pki_mod.ADMIN))
        )

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        timeout: float = 5.0,
    ) -> tuple[int, bytes]:
        """Send one request; return (status, body) for any HTTP status."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)  # noqa: S310
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=timeout) as resp:  # noqa: S310
                return int(resp.status), bytes(resp.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())

    def get_json(self, path: str) -> dict[str, Any] | None:
        """GET ``path`` as JSON; None when it does not exist (404)."""
        status, body = self.request("GET", path)
        if status == 404:
            return None
        if status != 200:
            raise urllib.error.URLError(f"GET {path}: HTTP {status}: {body[:200]!r}")
        result: dict[str, Any] = json.loads(body)
        return result
