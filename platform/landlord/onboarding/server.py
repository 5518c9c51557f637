"""Serve the onboarding API with uvicorn, in the foreground or beside the operator."""

from __future__ import annotations

import threading

import uvicorn
from fastapi import FastAPI


def _server(app: FastAPI, bind: str) -> uvicorn.Server:
    host, _, port = bind.rpartition(":")
    config = uvicorn.Config(
        app,
        host=host or "127.0.0.1",
        port=int(port),
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
    return uvicorn.Server(config)


def serve(app: FastAPI, bind: str) -> None:
    """Serve until interrupted (``landlord api``)."""
    _server(app, bind).run()


class Background:
    """The API on a thread of its own (``landlord run --api``, and the tests)."""

    def __init__(self, app: FastAPI, bind: str) -> None:
        self.server = _server(app, bind)
        self.server.config.install_signal_handlers = False  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.run, name="onboarding-api", daemon=True)

    def start(self, timeout: float = 10.0) -> Background:
        self.thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout / 0.05)):
            if self.server.started:
                return self
            if not self.thread.is_alive():
                break
            deadline.wait(0.05)
        config = self.server.config
        raise RuntimeError(f"the onboarding API did not start on {config.host}:{config.port}")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
