"""Fetches of tenant-chosen URLs against real loopback servers: caps, deadline, redirects."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from landlord.helm import download


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Authorization")))  # type: ignore[attr-defined]
        if self.path.startswith("/slow"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
            return
        if self.path.startswith("/redirect-port"):
            other = self.server.other_port  # type: ignore[attr-defined]
            self._redirect(f"http://127.0.0.1:{other}/file?signature=abc")
            return
        if self.path.startswith("/big"):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * 5000)
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _serve() -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers() -> Iterator[tuple[http.server.ThreadingHTTPServer, http.server.ThreadingHTTPServer]]:
    one, two = _serve(), _serve()
    one.other_port = two.server_address[1]  # type: ignore[attr-defined]
    yield one, two
    for server in (one, two):
        server.shutdown()
        server.server_close()


def _url(server: http.server.ThreadingHTTPServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_a_server_that_drips_is_cut_at_the_deadline(servers: Any) -> None:
    began = time.monotonic()
    with pytest.raises(download.DownloadError, match="took longer than the timeout"):
        download.get(_url(servers[0], "/slow"), check=lambda u: None, max_bytes=10**6, timeout=1)
    assert time.monotonic() - began < 3


def test_a_body_over_the_cap_is_refused(servers: Any) -> None:
    with pytest.raises(download.TooLargeError, match="larger than 100 bytes"):
        download.get(_url(servers[0], "/big"), check=lambda u: None, max_bytes=100, timeout=5)


def test_credentials_never_follow_a_redirect_to_another_port(servers: Any) -> None:
    checked: list[str] = []

    def check(url: str) -> None:
        checked.append(url)

    got = download.get(
        _url(servers[0], "/redirect-port"),
        check=check,
        max_bytes=100,
        timeout=5,
        auth=download.Auth(username="u", password="secret"),
    )

    assert got.body == b"ok"
    assert servers[0].seen[0][1] is not None  # the repository's own server got them
    assert servers[1].seen == [("/file?signature=abc", None)]  # the other port did not
    assert checked[1].endswith("/file?signature=abc")  # every hop is decided


def test_a_refused_hop_stops_the_fetch(servers: Any) -> None:
    def check(url: str) -> None:
        if "signature" in url:
            raise download.DownloadError("refused by the test")

    with pytest.raises(download.DownloadError, match="refused by the test"):
        download.get(_url(servers[0], "/redirect-port"), check=check, max_bytes=100, timeout=5)
    assert servers[1].seen == []


def test_nothing_listening_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(download.DownloadError, match="could not be fetched"):
        download.get(f"http://127.0.0.1:{port}/x", check=lambda u: None, max_bytes=10, timeout=2)
