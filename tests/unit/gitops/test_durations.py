"""Durations a tenant sets are held to the platform's bounds; backoff stays finite."""

from __future__ import annotations

import math

import pytest

from landlord.gitops import durations
from landlord.runtime import workqueue

BOUNDS = durations.Bounds(min_interval=10.0, max_interval=24 * 3600.0, max_timeout=600.0)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("250ms", 0.25)]
)
def test_go_durations_parse(text: str, seconds: float) -> None:
    assert durations.parse(text) == seconds


@pytest.mark.parametrize("text", ["1ms", "0s", "9s", "25h", "9" * 400 + "h"])
def test_an_interval_out_of_bounds_is_refused_naming_field_value_and_range(text: str) -> None:
    with pytest.raises(durations.OutOfBoundsError) as refused:
        durations.interval({"interval": text}, "interval", 600.0, BOUNDS)

    message = str(refused.value)
    assert refused.value.field == "spec.interval"
    assert repr(text) in message
    assert "between 10s and 24h" in message


def test_a_timeout_beyond_the_maximum_is_refused() -> None:
    with pytest.raises(durations.OutOfBoundsError) as refused:
        durations.timeout({"timeout": "10000h"}, "timeout", 60.0, BOUNDS)

    assert "spec.timeout '10000h'" in str(refused.value)
    assert "between 1s and 10m" in str(refused.value)


def test_values_within_bounds_are_returned_unchanged() -> None:
    assert durations.interval({"interval": "10s"}, "interval", 600.0, BOUNDS) == 10.0
    assert durations.interval({"interval": "24h"}, "interval", 600.0, BOUNDS) == 86400.0
    assert durations.timeout({"timeout": "10m"}, "timeout", 60.0, BOUNDS) == 600.0


def test_an_unset_field_takes_its_default_brought_into_the_platform_range() -> None:
    strict = durations.Bounds(min_interval=900.0, max_interval=3600.0, max_timeout=30.0)

    assert durations.interval({}, "interval", 600.0, BOUNDS) == 600.0
    assert durations.interval({}, "interval", 600.0, strict) == 900.0
    assert durations.timeout({"timeout": ""}, "timeout", 60.0, strict) == 30.0


def test_something_that_is_not_a_duration_is_refused_as_out_of_bounds() -> None:
    with pytest.raises(durations.OutOfBoundsError, match=r"spec\.retryInterval 'soon'"):
        durations.interval({"retryInterval": "soon"}, "retryInterval", 30.0, BOUNDS)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(10.0, "10s"), (600.0, "10m"), (86400.0, "24h"), (5400.0, "1h30m"), (0.5, "500ms")],
)
def test_bounds_are_shown_as_durations(seconds: float, text: str) -> None:
    assert durations.format_seconds(seconds) == text


def test_backoff_doubles_up_to_its_ceiling() -> None:
    assert [durations.backoff(1.0, n, 60.0) for n in range(1, 9)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        32.0,
        60.0,
        60.0,
    ]


@pytest.mark.parametrize("failures", [1025, 10_000, 10**9])
def test_a_huge_failure_count_does_not_overflow(failures: int) -> None:
    # 2 ** 10000 as a float raises OverflowError: the exponent must be capped, not the result.
    with pytest.raises(OverflowError):
        _ = 30.0 * 2.0 ** (failures - 1)

    delay = durations.backoff(30.0, failures, 86400.0)

    assert math.isfinite(delay)
    assert delay == 86400.0


def test_the_work_queue_backoff_survives_thousands_of_failures_in_a_row() -> None:
    queue: workqueue.WorkQueue[str] = workqueue.WorkQueue(base_delay=0.5, max_delay=300.0)
    queue._failures["key"] = 5000

    assert queue.retry("key") == 300.0
