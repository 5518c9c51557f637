"""One reconcile's fan-out does not hold another's behind it on the shared apply executor."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any, cast

from landlord.kube import Kube
from landlord.sync.steps.apply import Applier


class Tenant:
    """Every object absent; each dry-run and apply takes a few milliseconds."""

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        return None

    def list_objects(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return []

    def apply(self, manifest: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        time.sleep(0.005)
        return manifest


def _configmaps(count: int, namespace: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{n}", "namespace": namespace},
            "data": {"n": str(n)},
        }
        for n in range(count)
    ]


def test_a_small_apply_is_not_queued_behind_a_large_one() -> None:
    """With Executor.map the three objects would wait for 800 dry-runs and applies (~1 s)."""
    tenant = cast(Kube, Tenant())
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        applier = Applier(pool, write_rate=1e6, write_burst=1000, in_flight=2)
        big = threading.Thread(target=applier.apply, args=(tenant, _configmaps(400, "big"), False))
        big.start()
        time.sleep(0.05)
        started = time.monotonic()
        applied = applier.apply(tenant, _configmaps(3, "small"), False)
        small = time.monotonic() - started
        big.join()
    assert len(applied) == 3
    assert small < 0.3  # ~0.03 s of its own work


def test_no_more_than_the_cap_of_one_reconcile_is_in_flight() -> None:
    lock = threading.Lock()
    running = peak = 0

    class Counting(Tenant):
        def apply(self, manifest: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.002)
            with lock:
                running -= 1
            return manifest

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        applier = Applier(pool, write_rate=1e6, write_burst=1000, in_flight=3)
        applier.apply(cast(Kube, Counting()), _configmaps(40, "a"), False)
    assert peak == 3
