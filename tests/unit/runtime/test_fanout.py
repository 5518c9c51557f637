"""One caller's fan-out over a shared executor: bounded, ordered, fair to the others."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest

from landlord.runtime.fanout import bounded_map


def test_results_come_back_in_order() -> None:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert bounded_map(pool, lambda n: n * n, range(20), 3) == [n * n for n in range(20)]
        assert bounded_map(pool, lambda n: n, [], 3) == []


def test_no_more_than_limit_in_flight() -> None:
    lock = threading.Lock()
    running = peak = 0

    def task(_: int) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.005)
        with lock:
            running -= 1

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        bounded_map(pool, task, range(60), 4)
    assert peak == 4


def test_a_big_fan_out_does_not_hold_a_small_one_behind_it() -> None:
    """With Executor.map the small caller would wait for all 400 of the big one's tasks."""
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        big = threading.Thread(
            target=bounded_map, args=(pool, lambda _: time.sleep(0.01), range(400), 2)
        )
        big.start()
        time.sleep(0.05)
        started = time.monotonic()
        bounded_map(pool, lambda _: time.sleep(0.01), range(3), 2)
        small = time.monotonic() - started
        big.join()
    assert small < 0.5  # ~0.02 s of its own work; the big one alone takes ~2 s


def test_the_first_failure_stops_submitting_and_is_raised() -> None:
    seen: list[int] = []

    def task(n: int) -> int:
        seen.append(n)
        if n == 2:
            raise ValueError("two")
        return n

    with (
        concurrent.futures.ThreadPoolExecutor(1) as pool,
        pytest.raises(ValueError, match="two"),
    ):
        bounded_map(pool, task, range(100), 1)
    assert seen == [0, 1, 2]
