"""``LANDLORD_LIMITS__*``: the bounds on tenants' durations, as seconds or durations."""

from __future__ import annotations

import pydantic
import pytest

from landlord import settings


def test_the_shipped_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MIN_INTERVAL", "MAX_INTERVAL", "MAX_TIMEOUT"):
        monkeypatch.delenv(f"LANDLORD_LIMITS__{name}", raising=False)

    limits = settings.Settings().limits

    assert (limits.min_interval, limits.max_interval, limits.max_timeout) == (10.0, 86400.0, 600.0)


def test_bounds_read_durations_or_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDLORD_LIMITS__MIN_INTERVAL", "1s")
    monkeypatch.setenv("LANDLORD_LIMITS__MAX_INTERVAL", "2h")
    monkeypatch.setenv("LANDLORD_LIMITS__MAX_TIMEOUT", "90")

    limits = settings.Settings().limits

    assert (limits.min_interval, limits.max_interval, limits.max_timeout) == (1.0, 7200.0, 90.0)


def test_a_minimum_above_the_maximum_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDLORD_LIMITS__MIN_INTERVAL", "2h")
    monkeypatch.setenv("LANDLORD_LIMITS__MAX_INTERVAL", "1h")

    with pytest.raises(pydantic.ValidationError, match="min_interval"):
        settings.Settings()
