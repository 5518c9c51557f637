"""What a controller does with a failing reconcile, and on which threads it runs them."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from landlord import errors
from landlord.runtime.controller import Controller
from landlord.runtime.outcome import Outcome


def _run(controller: Controller, until: threading.Event, timeout: float = 5.0) -> None:
    async def scenario() -> None:
        controller.start()
        await asyncio.to_thread(until.wait, timeout)
        await controller.stop()

    asyncio.run(scenario())


def test_a_retryable_error_is_retried_after_its_delay_not_the_backoff() -> None:
    calls: list[float] = []
    done = threading.Event()

    def reconcile(key: str) -> Outcome:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise errors.RetryableError("the remote is down", delay=1.2)
        done.set()
        return Outcome(True)

    controller = Controller("test", reconcile, workers=1, resync=float("inf"))
    controller.enqueue("a")
    _run(controller, done)

    assert len(calls) == 2
    # The generic backoff's first retry would come after 0.5 s.
    assert 1.15 <= calls[1] - calls[0] < 1.6


def test_a_terminal_error_is_not_retried() -> None:
    calls: list[str] = []
    second = threading.Event()

    def reconcile(key: str) -> Outcome:
        calls.append(key)
        if key == "bad":
            raise errors.TerminalError("the spec is wrong")
        second.set()
        return Outcome(True)

    controller = Controller("test", reconcile, workers=1, resync=float("inf"))
    controller.enqueue("bad")
    controller.enqueue("good", 0.1)

    async def scenario() -> None:
        controller.start()
        await asyncio.to_thread(second.wait, 5)
        await asyncio.sleep(1.5)  # a backoff retry of "bad" would have come by now
        await controller.stop()

    asyncio.run(scenario())

    assert calls == ["bad", "good"]
    assert controller.queue.failures("bad") == 0


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("a bug"),
        # Retryable, but without a delay of its own: an apiserver conflict retries
        # soon (the backoff's 0.1 s here, doubling), not after a fixed 5 s.
        errors.ApiError("the object has been modified", status=409),
    ],
    ids=["any-other-error", "retryable-without-delay"],
)
def test_a_failure_without_a_delay_backs_off(failure: Exception) -> None:
    calls: list[float] = []
    done = threading.Event()

    def reconcile(key: str) -> Outcome:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise failure
        done.set()
        return Outcome(True)

    controller = Controller("test", reconcile, workers=1, resync=float("inf"))
    controller.queue.base_delay = 0.1
    controller.enqueue("a")
    _run(controller, done)

    assert len(calls) == 3
    assert calls[1] - calls[0] < 1.0
    assert calls[2] - calls[1] > calls[1] - calls[0]  # doubling


def test_reconciles_run_on_the_controllers_own_bounded_threads() -> None:
    threads: set[str] = set()
    running = 0
    peak = 0
    lock = threading.Lock()
    done = threading.Event()

    def reconcile(key: str) -> None:
        nonlocal running, peak
        with lock:
            threads.add(threading.current_thread().name)
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
            if key == "k19":
                done.set()

    controller = Controller("sources", reconcile, workers=3, resync=float("inf"))
    for i in range(20):
        controller.enqueue(f"k{i}", 0.01 * i)
    _run(controller, done)

    assert peak <= 3
    assert threads
    assert all(name.startswith("sources-worker") for name in threads)
    assert len(threads) <= 3
