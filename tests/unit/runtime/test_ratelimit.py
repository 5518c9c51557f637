"""The token bucket lets a burst through, then paces to the rate."""

from __future__ import annotations

from landlord.runtime.ratelimit import TokenBucket


def test_burst_then_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(rate=10, burst=3, clock=lambda: now[0], sleep=sleep)

    waits = [bucket.take() for _ in range(6)]

    assert waits[:3] == [0.0, 0.0, 0.0]
    assert [round(w, 3) for w in waits[3:]] == [0.1, 0.1, 0.1]
    assert round(now[0], 3) == 0.3


def test_idle_time_refills_up_to_the_burst() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=1, burst=2, clock=lambda: now[0], sleep=lambda s: None)
    bucket.take()
    bucket.take()
    now[0] += 100

    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() > 0
