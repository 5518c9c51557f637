"""``Client``: JSON over HTTP to the onboarding API, with a bearer token."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from landlord import errors, kube
from landlord.settings import API_AUDIENCE, Settings


class ApiCallError(errors.TerminalError):
    """The onboarding API refused a request (its error and field problems)."""


class Client:
    """A small JSON client for the onboarding API."""

    def __init__(self, url: str, token: str, timeout: float, audience: str = API_AUDIENCE) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.audience = audience  # named in the hint when the API refuses the token

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, **query: Any
    ) -> tuple[int, dict[str, Any]]:
        """Send one request; return (HTTP status, JSON body) or raise :class:`ApiCallError`."""
        params = {k: str(v).lower() if isinstance(v, bool) else v for k, v in query.items() if v}
        target = self.url + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        if not target.startswith(("http://", "https://")):
            raise ApiCallError(f"the API URL {self.url!r} must start with http:// or https://")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            target,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                problem = json.loads(error.read() or b"{}")
            except ValueError:
                problem = {}
            fields = problem.get("fields") or {}
            message = problem.get("error") or f"HTTP {error.code}"
            if fields:
                message += "\n" + "\n".join(f"  {field}: {why}" for field, why in fields.items())
            hint = (
                "the API accepts only tokens issued for its audience: "
                f"`kubectl create token <service-account> --audience {self.audience}`"
                if error.code == 401
                else None
            )
            raise ApiCallError(f"{error.code}: {message}", hint=hint) from None
        except urllib.error.URLError as error:
            raise ApiCallError(
                f"cannot reach the onboarding API at {self.url}: {error.reason}",
                hint="is `landlord run --api` (or `landlord api`) running? see --api-url",
            ) from None


def connect(settings: Settings, api_url: str | None, token: str | None, timeout: float) -> Client:
    """A client for ``api_url`` (default ``LANDLORD_API__URL``) with the first token found.

    The token: ``token``, else ``LANDLORD_TOKEN``, else the kubeconfig user's.
    """
    found = token or os.environ.get("LANDLORD_TOKEN") or kube.bearer_token()
    if not found:
        raise ApiCallError(
            "no bearer token: the kubeconfig's user has none",
            hint="pass --token (or set LANDLORD_TOKEN), e.g. "
            f"`kubectl create token <service-account> --audience {settings.api.audiences[0]}`",
        )
    return Client(api_url or settings.api.url, found, timeout, settings.api.audiences[0])
