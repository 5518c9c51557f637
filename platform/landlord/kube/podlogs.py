"""A pod container's log through the apiserver: read once, or followed as it grows.

Lines come back as text, each prefixed with the kubelet's RFC 3339 timestamp
(``timestamps=True``) so that the logs of several replicas can be merged by time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from landlord.kube.client import Kube, _translated


def read(
    kube: Kube,
    namespace: str,
    pod: str,
    *,
    container: str | None = None,
    since_seconds: int | None = None,
) -> list[str]:
    """The container's log lines so far (since ``since_seconds`` ago), timestamped."""
    options: dict[str, Any] = {"timestamps": True}
    if container:
        options["container"] = container
    if since_seconds:
        options["since_seconds"] = since_seconds
    with _translated():
        text = kube.core.read_namespaced_pod_log(pod, namespace, **options)
    return str(text or "").splitlines()


def follow(
    kube: Kube,
    namespace: str,
    pod: str,
    *,
    container: str | None = None,
    since_seconds: int | None = None,
) -> Iterator[str]:
    """The container's log lines as they are written (from ``since_seconds`` ago), timestamped.

    Ends when the apiserver closes the stream (the container stopped); the caller
    stops early by closing the iterator.
    """
    options: dict[str, Any] = {"timestamps": True, "follow": True}
    if container:
        options["container"] = container
    if since_seconds:
        options["since_seconds"] = since_seconds
    with _translated():
        # Not preloaded: the raw HTTP response, read as it streams.
        response: Any = kube.core.read_namespaced_pod_log(
            pod, namespace, _preload_content=False, _request_timeout=None, **options
        )
    pending = b""
    try:
        with _translated():
            for chunk in response.stream(4096, decode_content=True):
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line.decode(errors="replace")
        if pending:
            yield pending.decode(errors="replace")
    finally:
        with contextlib.suppress(Exception):
            response.release_conn()
