"""Fairness between namespaces, and resyncs that skip what nothing happened to."""

from __future__ import annotations

import asyncio
import threading
import time

from landlord.runtime.controller import Changes, Controller


def test_a_slow_namespace_gets_at_most_its_share_of_workers() -> None:
    running: dict[str, int] = {}
    peak: dict[str, int] = {}
    finished: dict[str, float] = {}
    lock = threading.Lock()
    began = time.monotonic()

    def reconcile(key: str) -> None:
        group = key.partition("/")[0]
        with lock:
            running[group] = running.get(group, 0) + 1
            peak[group] = max(peak.get(group, 0), running[group])
        time.sleep(0.5 if group == "noisy" else 0.01)
        with lock:
            running[group] -= 1
            finished[key] = time.monotonic() - began

    async def scenario() -> None:
        controller = Controller(
            "test", reconcile, workers=4, resync=float("inf"), group_of=lambda k: k.split("/")[0]
        )
        for i in range(8):
            controller.enqueue(f"noisy/k{i}")
        for i in range(20):
            controller.enqueue(f"calm-{i}/k")
        controller.start()
        while len(finished) < 28:
            await asyncio.sleep(0.02)
        await controller.stop()

    asyncio.run(scenario())

    assert peak["noisy"] == 2  # half of the four workers, never more
    calm = [t for key, t in finished.items() if key.startswith("calm")]
    noisy = [t for key, t in finished.items() if key.startswith("noisy")]
    # The 20 quick reconciles do not wait for the slow ones: they are all done
    # before the first pair of slow ones finishes.
    assert max(calm) < min(noisy)


def test_a_resync_skips_keys_nothing_happened_to_until_the_full_interval() -> None:
    changes = Changes(full_every=0.2)
    assert not changes.quiet("a")  # never reconciled
    changes.taken("a")
    assert changes.quiet("a")
    changes.mark("a")  # an event on it or on what it owns
    assert not changes.quiet("a")
    changes.taken("a")
    assert changes.quiet("a")
    time.sleep(0.25)
    assert not changes.quiet("a")  # the full reconcile is due
