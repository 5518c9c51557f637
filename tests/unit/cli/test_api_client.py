"""``landlord.client``: the onboarding API's refusals become messages with a hint."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from landlord import client, settings
from landlord.client import onboarding


class _Refusing(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return

    def do_POST(self) -> None:
        status = 401 if self.headers.get("Authorization") == "Bearer stale" else 422
        body = json.dumps({"error": "invalid tenant", "fields": {"spec.quota": "bad amount"}})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture
def api_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_field_problems_are_listed(api_url: str) -> None:
    caller = client.Client(api_url, "token", timeout=5)

    with pytest.raises(client.ApiCallError) as raised:
        caller.call("POST", "/v1/tenants", {"name": "x"})

    assert raised.value.message == "422: invalid tenant\n  spec.quota: bad amount"
    assert raised.value.hint is None


def test_a_refused_token_names_the_audience(api_url: str) -> None:
    caller = client.Client(api_url, "stale", timeout=5, audience="landlord-test")

    with pytest.raises(client.ApiCallError) as raised:
        caller.call("POST", "/v1/tenants", {})

    assert "--audience landlord-test" in (raised.value.hint or "")


def test_only_http_urls_are_called() -> None:
    with pytest.raises(client.ApiCallError, match="must start with http"):
        client.Client("file:///etc/passwd", "token", timeout=5).call("GET", "/")


def test_connect_without_any_token_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANDLORD_TOKEN", raising=False)
    monkeypatch.setattr(onboarding.kube, "bearer_token", lambda: None)

    with pytest.raises(client.ApiCallError) as raised:
        client.connect(settings.Settings(), None, None, timeout=5)

    assert "kubectl create token" in (raised.value.hint or "")
