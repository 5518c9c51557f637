"""``ChartServer``: a Helm chart repository over HTTP on 127.0.0.1, for the demo and the tests.

Each repository is a folder of chart archives and an ``index.yaml``, served as
static files (what ``helm repo index`` and a web server make, as GitHub Pages
serves most public repositories). Charts are packaged by the pinned ``helm``
(``helm package``, ``helm repo index``); hostile archives and indexes can be
put in as raw bytes. Every request is counted, so a test can prove a
repository was never contacted.
"""

from __future__ import annotations

import base64
import collections
import hmac
import http.server
import pathlib
import shutil
import subprocess
import tempfile
import threading
from typing import Any


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:
        charts = self.server.charts
        path = self.path.partition("?")[0]
        repo = path.lstrip("/").split("/", 1)[0]
        charts.record(repo, path)
        if charts.users and not self._authorized():
            self._answer(401, b"unauthorized", {"WWW-Authenticate": 'Basic realm="charts"'})
            return
        target = (charts.root / path.lstrip("/")).resolve()
        if charts.root.resolve() not in target.parents or not target.is_file():
            self._answer(404, b"not found")
            return
        self._answer(200, target.read_bytes())

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        expected = self.server.charts.users.get(user)
        return expected is not None and hmac.compare_digest(expected, password)

    def _answer(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, charts: ChartServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.charts = charts

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that hangs up is not the server's problem


class ChartServer:
    """Chart repositories under ``root``, served on a free loopback port."""

    def __init__(
        self, root: pathlib.Path, *, helm: pathlib.Path, users: dict[str, str] | None = None
    ) -> None:
        self.root = root
        self.helm = helm
        self.users = dict(users or {})
        self.requests: collections.Counter[str] = collections.Counter()
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ChartServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self._server = _HttpServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.port}/{repo}"

    def record(self, repo: str, path: str) -> None:
        with self._lock:
            self.requests[repo] += 1
            self.paths.append(path)

    # -- content -------------------------------------------------------------------

    def publish(self, repo: str, name: str, version: str, files: dict[str, str]) -> pathlib.Path:
        """Package a chart (``Chart.yaml`` is written for you) and refresh the index."""
        folder = self.root / repo
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            chart = pathlib.Path(scratch) / name
            chart.mkdir()
            (chart / "Chart.yaml").write_text(
                f"apiVersion: v2\nname: {name}\nversion: {version}\ntype: application\n"
            )
            for relative, text in files.items():
                path = chart / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            self._helm("package", str(chart), "--destination", str(folder))
        self.reindex(repo)
        return folder / f"{name}-{version}.tgz"

    def put(self, repo: str, filename: str, data: bytes) -> None:
        """A raw file in the repository (a hostile archive, a hand-written index)."""
        folder = self.root / repo
        folder.mkdir(parents=True, exist_ok=True)
        (folder / filename).write_bytes(data)

    def reindex(self, repo: str) -> None:
        """``helm repo index`` over the repository's folder."""
        self._helm("repo", "index", str(self.root / repo), "--url", self.url(repo))

    def remove(self, repo: str) -> None:
        shutil.rmtree(self.root / repo, ignore_errors=True)

    def _helm(self, *args: str) -> None:
        with tempfile.TemporaryDirectory() as home:
            done = subprocess.run(
                [str(self.helm), *args],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                env={
                    "HOME": home,
                    "HELM_CACHE_HOME": f"{home}/cache",
                    "HELM_CONFIG_HOME": f"{home}/config",
                    "HELM_DATA_HOME": f"{home}/data",
                    "PATH": "/usr/bin:/bin",
                },
            )
        if done.returncode != 0:
            raise RuntimeError(f"helm {' '.join(args[:2])} failed: {done.stderr.strip()[-500:]}")
