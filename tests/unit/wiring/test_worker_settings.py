"""Each controller's worker count, and the sync's shared apply pool, come from settings."""

from __future__ import annotations

import pytest

from landlord import settings


def test_worker_counts_are_read_per_controller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDLORD_TENANTS__WORKERS", "2")
    monkeypatch.setenv("LANDLORD_SOURCES__WORKERS", "3")
    monkeypatch.setenv("LANDLORD_SYNC__WORKERS", "5")
    monkeypatch.setenv("LANDLORD_SYNC__APPLY_WORKERS", "12")

    loaded = settings.load()

    assert (loaded.tenants.workers, loaded.sources.workers, loaded.sync.workers) == (2, 3, 5)
    assert loaded.sync.apply_workers == 12


def test_worker_counts_default_to_four() -> None:
    loaded = settings.Settings()

    assert (loaded.tenants.workers, loaded.sources.workers, loaded.sync.workers) == (4, 4, 4)
