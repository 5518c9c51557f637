"""An apiserver that does not answer: one probe with a backoff, workers waiting meanwhile."""

from __future__ import annotations

import asyncio

from landlord import errors
from landlord.runtime import controller
from landlord.runtime.outage import Outage


async def _until_paused(outage: Outage) -> None:
    """The first probe runs on a thread: the pause begins once it found no answer."""
    for _ in range(1000):
        if not outage.answering:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("never paused")


def test_workers_wait_while_one_probe_asks_with_a_backoff() -> None:
    answers = iter([False, False, True])
    back: list[bool] = []

    async def scenario() -> Outage:
        outage = Outage(lambda: next(answers), first=0.01, longest=0.02)
        outage.on_back.append(lambda: back.append(True))
        outage.noticed()
        outage.noticed()  # already probing: one probe loop, not two
        await _until_paused(outage)
        await asyncio.wait_for(outage.wait(), 2)
        return outage

    outage = asyncio.run(scenario())
    assert outage.answering
    assert outage.probes == 3
    assert outage.outages == 1
    assert back == [True]


def test_a_probe_that_raises_is_no_answer_yet() -> None:
    calls = [0]

    def probe() -> bool:
        calls[0] += 1
        if calls[0] == 1:
            raise OSError("refused")
        return True

    async def scenario() -> None:
        outage = Outage(probe, first=0.01)
        outage.noticed()
        await _until_paused(outage)
        await asyncio.wait_for(outage.wait(), 2)

    asyncio.run(scenario())
    assert calls[0] == 2


def test_an_unanswered_request_stops_every_worker_until_the_apiserver_answers() -> None:
    """A controller's failure with no answer makes another controller's worker wait."""
    answering = [False]
    calls: dict[str, int] = {"a": 0, "b": 0}

    def failing(key: str) -> None:
        calls["a"] += 1
        if not answering[0]:
            raise errors.ApiError("no answer", status=503, api_reason=errors.UNANSWERED)

    def counting(key: str) -> None:
        calls["b"] += 1

    async def scenario() -> None:
        outage = Outage(lambda: answering[0], first=0.05, longest=0.05)
        first = controller.Controller("a", failing, workers=1, outage=outage)
        second = controller.Controller("b", counting, workers=1, outage=outage)
        outage.on_back.append(lambda: first.retry_failing_now())
        first.start()
        second.start()
        first.enqueue("x")
        await asyncio.sleep(0.1)
        assert not outage.answering
        second.enqueue("y")
        await asyncio.sleep(0.2)
        assert calls["b"] == 0, "a worker ran while the apiserver did not answer"
        answering[0] = True
        await asyncio.sleep(0.3)
        await first.stop()
        await second.stop()

    asyncio.run(scenario())
    assert calls["b"] == 1
    assert calls["a"] == 2  # failed once, retried at once when the apiserver came back


def test_a_failure_elsewhere_costs_one_probe_and_no_wait() -> None:
    """A registered cluster that is down fails the same way; the operator's apiserver answers."""

    async def scenario() -> Outage:
        outage = Outage(lambda: True, first=0.01)
        outage.noticed()
        await asyncio.sleep(0.1)
        return outage

    outage = asyncio.run(scenario())
    assert outage.answering
    assert outage.outages == 0
    assert outage.probes == 1
