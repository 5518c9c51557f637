"""The work queue coalesces, serialises per key, delays and backs off."""

from __future__ import annotations

import asyncio
import time

import pytest

from landlord.runtime.workqueue import ShutDownError, WorkQueue


def _run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_adds_of_a_waiting_key_coalesce() -> None:
    async def scenario() -> list[str]:
        queue: WorkQueue[str] = WorkQueue()
        for key in ("a", "b", "a", "a"):
            queue.add(key)
        got = [await queue.get(), await queue.get()]
        assert len(queue) == 0
        return got

    assert _run(scenario()) == ["a", "b"]


def test_a_key_added_while_processing_runs_again_after() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue()
        queue.add("a")
        key = await queue.get()
        queue.add("a")  # an event arrives mid-reconcile
        assert len(queue) == 0  # not handed to a second worker meanwhile
        queue.done(key)
        assert await asyncio.wait_for(queue.get(), 1) == "a"

    _run(scenario())


def test_delayed_keys_come_in_due_order() -> None:
    async def scenario() -> tuple[list[str], float]:
        queue: WorkQueue[str] = WorkQueue()
        began = time.monotonic()
        queue.add("late", 0.2)
        queue.add("early", 0.05)
        got = [await queue.get(), await queue.get()]
        return got, time.monotonic() - began

    got, waited = _run(scenario())  # type: ignore[misc]
    assert got == ["early", "late"]
    assert waited >= 0.2


def test_an_earlier_add_wins_over_a_later_due_time() -> None:
    async def scenario() -> str:
        queue: WorkQueue[str] = WorkQueue()
        queue.add("a", 30)
        queue.add("a", 0)
        return await asyncio.wait_for(queue.get(), 1)

    assert _run(scenario()) == "a"


def test_retries_back_off_exponentially_until_forgotten() -> None:
    queue: WorkQueue[str] = WorkQueue(base_delay=0.5, max_delay=3)

    delays = [queue.retry("a") for _ in range(5)]
    queue.forget("a")

    assert delays == [0.5, 1.0, 2.0, 3, 3]
    assert queue.failures("a") == 0


def test_shutdown_wakes_waiting_workers() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue()
        waiter = asyncio.create_task(queue.get())
        await asyncio.sleep(0.01)
        queue.shut_down()
        with pytest.raises(ShutDownError):
            await waiter

    _run(scenario())


def test_keys_that_are_not_eligible_wait_without_losing_their_place() -> None:
    async def scenario() -> list[str]:
        queue: WorkQueue[str] = WorkQueue()
        for key in ("busy/a", "busy/b", "calm/c"):
            queue.add(key)
        first = await queue.get()
        got = [first, await queue.get(lambda k: not k.startswith("busy/"))]
        waiter = asyncio.ensure_future(queue.get(lambda k: not k.startswith("busy/")))
        await asyncio.sleep(0.05)
        assert not waiter.done()  # busy/b is due, but not eligible
        got.append(await queue.get())  # an unrestricted worker takes it
        waiter.cancel()
        return got

    assert _run(scenario()) == ["busy/a", "calm/c", "busy/b"]


def test_keys_in_backoff_can_all_be_made_due_now() -> None:
    async def scenario() -> list[str]:
        queue: WorkQueue[str] = WorkQueue(base_delay=60)
        queue.retry("a")
        queue.retry("b")
        queue.add("c", 60)  # waiting, not failing: keeps its time
        assert queue.retry_failing_now() == 2
        taken = [await asyncio.wait_for(queue.get(), 1) for _ in range(2)]
        assert queue.failures("a") == queue.failures("b") == 0
        return sorted(taken)

    assert _run(scenario()) == ["a", "b"]
