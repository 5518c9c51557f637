"""Waits from a wall-clock stamp: the wall clock read once, then the monotonic clock."""

from __future__ import annotations

import datetime

from landlord.runtime.stopwatch import ClockSteps, Stopwatch

STAMP = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)


class Clocks:
    def __init__(self) -> None:
        self.wall_now = STAMP + datetime.timedelta(seconds=10)
        self.mono = 1000.0

    def stopwatch(self) -> Stopwatch:
        return Stopwatch(wall=lambda: self.wall_now, monotonic=lambda: self.mono, remembered=2)

    def tick(self, seconds: float) -> None:
        self.wall_now += datetime.timedelta(seconds=seconds)
        self.mono += seconds

    def step_wall(self, seconds: float) -> None:
        self.wall_now += datetime.timedelta(seconds=seconds)


def test_a_wait_counts_the_age_of_its_stamp_then_real_time() -> None:
    clocks = Clocks()
    watch = clocks.stopwatch()

    assert watch.elapsed(STAMP, 60) == 10
    clocks.tick(20)
    assert watch.elapsed(STAMP, 60) == 30
    assert watch.left(STAMP, 60) == 30


def test_a_clock_stepped_forward_after_the_first_sighting_ends_nothing_early() -> None:
    clocks = Clocks()
    watch = clocks.stopwatch()
    watch.elapsed(STAMP, 60)

    clocks.step_wall(3600)
    clocks.tick(5)

    assert watch.left(STAMP, 60) == 45


def test_a_clock_stepped_back_stretches_no_wait() -> None:
    clocks = Clocks()
    watch = clocks.stopwatch()
    watch.elapsed(STAMP, 60)

    clocks.step_wall(-3600)
    clocks.tick(51)

    assert watch.left(STAMP, 60) <= 0


def test_a_step_before_the_first_sighting_counts_at_most_the_whole_wait() -> None:
    clocks = Clocks()
    clocks.step_wall(-3600)  # a stamp from the future: not begun yet, waits its length
    watch = clocks.stopwatch()
    assert watch.elapsed(STAMP, 60) == 0

    clocks.step_wall(7200)
    later = STAMP + datetime.timedelta(seconds=1)
    assert watch.elapsed(later, 60) == 60  # an hour old: over, not an hour over


def test_only_the_latest_stamps_are_remembered() -> None:
    clocks = Clocks()
    watch = clocks.stopwatch()
    for seconds in (1, 2, 3):
        watch.elapsed(STAMP + datetime.timedelta(seconds=seconds), 60)
    clocks.step_wall(-5)

    # The first was forgotten: read from the (stepped) wall clock again.
    assert watch.elapsed(STAMP + datetime.timedelta(seconds=1), 60) == 4
    assert watch.elapsed(STAMP + datetime.timedelta(seconds=3), 60) == 7


def test_a_stepped_wall_clock_is_noticed_once() -> None:
    wall, mono = [5000.0], [10.0]
    steps = ClockSteps(wall=lambda: wall[0], monotonic=lambda: mono[0])

    wall[0] += 1.0
    mono[0] += 1.0
    assert steps.check() == 0.0  # both moved on: no step
    wall[0] += 3600.0
    assert steps.check() == 3600.0
    assert steps.check() == 0.0  # said once
    wall[0] -= 0.5  # NTP slewing, within tolerance
    assert steps.check() == 0.0
