"""Every request of the process's Kubernetes clients is counted (the operator's metric)."""

from __future__ import annotations

import contextlib

from kubernetes import client as k8s

from landlord import kube


def test_each_request_is_reported_with_its_method_before_it_is_sent() -> None:
    seen: list[str] = []
    kube.count_requests(seen.append)
    configuration = k8s.Configuration()
    configuration.host = "http://127.0.0.1:9"  # nothing listens: the request fails after counting
    configuration.retries = 0
    client = kube.Kube(configuration)

    with contextlib.suppress(Exception):
        client.core.list_namespace(_request_timeout=1)
    with contextlib.suppress(Exception):
        client.impersonate("alice").core.delete_namespace("x", _request_timeout=1)

    assert seen[-2:] == ["GET", "DELETE"]
