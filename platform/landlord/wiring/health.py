"""The operator's probes: ``GET /healthz`` (alive) and ``GET /readyz`` (ready to work).

Served from a thread of its own from the start of the process, so a standby
replica blocked waiting for the Lease still answers its liveness probe.
``/readyz`` is 200 once the operator runs (policy loaded, controllers started)
or while it is a standby waiting for the Lease, and 503 with the reason
before that — a replica that will take over must not be killed for waiting.
"""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

# (ready, what to say)
Readiness = Callable[[], tuple[bool, str]]


class HealthServer:
    """``/healthz`` and ``/readyz`` on ``host:port``."""

    def __init__(self, bind: str, readiness: Readiness) -> None:
        host, _, port = bind.rpartition(":")
        self.readiness = readiness
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/healthz":
                    self._answer(200, "ok")
                elif self.path == "/readyz":
                    try:
                        ready, reason = server.readiness()
                    except Exception as error:  # noqa: BLE001 - a probe must answer
                        ready, reason = False, f"readiness check failed: {error}"
                    self._answer(200 if ready else 503, reason)
                else:
                    self._answer(404, "not found: /healthz or /readyz")

            def _answer(self, status: int, text: str) -> None:
                body = (text + "\n").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return  # probes every few seconds: not worth a log line each

        self.httpd = http.server.ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler)  # noqa: S104
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("probes on /healthz and /readyz", extra={"port": self.port})

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def credentials_checked(
    readiness: Readiness, refused_for: Callable[[], float | None], source: str
) -> Readiness:
    """``readiness``, but not ready while the apiserver refuses the operator's credentials."""

    def check() -> tuple[bool, str]:
        seconds = refused_for()
        if seconds is not None:
            return False, (
                f"the apiserver has refused the credentials of {source} for {seconds:.0f}s "
                "(401): rotate them there, they are read again at the next refusal"
            )
        return readiness()

    return check
