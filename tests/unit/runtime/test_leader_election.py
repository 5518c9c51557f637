"""Leader election's decisions, on a fake Lease and a fake clock."""

from __future__ import annotations

import dataclasses

import pytest

from landlord import errors
from landlord.runtime.leaderelection import LeaderElector, LeaseRecord, Timing


class FakeLease:
    """A Lease with a resourceVersion: a write on a stale version is a conflict."""

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.version = 0
        self.fail_reads = False
        self.stale_next_read: LeaseRecord | None = None

    def get(self) -> LeaseRecord | None:
        if self.fail_reads:
            raise errors.ApiError("apiserver away", status=503)
        if self.stale_next_read is not None:
            stale, self.stale_next_read = self.stale_next_read, None
            return stale
        return self.record

    def create(self, record: LeaseRecord) -> LeaseRecord:
        if self.record is not None:
            raise errors.ApiError("exists", status=409)
        return self._store(record)

    def update(self, record: LeaseRecord) -> LeaseRecord:
        if self.record is None or record.version != self.record.version:
            raise errors.ApiError("conflict", status=409)
        return self._store(record)

    def _store(self, record: LeaseRecord) -> LeaseRecord:
        self.version += 1
        self.record = dataclasses.replace(record, version=str(self.version))
        return self.record


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def lease() -> FakeLease:
    return FakeLease()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def elector(lease: FakeLease, clock: Clock, name: str) -> LeaderElector:
    return LeaderElector(lease, name, Timing(15, 10, 2), clock=clock, sleep=clock.sleep)


def test_the_first_replica_creates_the_lease_and_leads(lease: FakeLease, clock: Clock) -> None:
    a = elector(lease, clock, "a")
    assert a.try_acquire_or_renew()
    assert a.leading
    assert lease.record is not None
    assert lease.record.holder == "a"
    assert lease.record.duration == 15


def test_a_standby_waits_while_the_holder_renews_and_takes_over_once_it_expires(
    lease: FakeLease, clock: Clock
) -> None:
    a, b = elector(lease, clock, "a"), elector(lease, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    clock.now += 10
    assert a.try_acquire_or_renew()  # a renews: b's wait starts again from what it saw
    clock.now += 14
    assert not b.try_acquire_or_renew()
    # a stops renewing (it crashed); the lease expires by b's own clock
    clock.now += 16
    assert b.try_acquire_or_renew()
    assert lease.record is not None
    assert lease.record.holder == "b"
    assert lease.record.transitions == 1


def test_an_expired_lease_is_judged_by_the_standbys_clock_not_the_holders_timestamps(
    lease: FakeLease, clock: Clock
) -> None:
    a, b = elector(lease, clock, "a"), elector(lease, clock, "b")
    assert a.try_acquire_or_renew()
    assert lease.record is not None
    # a's clock was far behind: its renewTime looks ancient, but b only just saw it.
    lease.record = dataclasses.replace(lease.record, renewed=0.0)
    assert not b.try_acquire_or_renew()


def test_two_standbys_racing_for_an_expired_lease_cannot_both_win(
    lease: FakeLease, clock: Clock
) -> None:
    a, b, c = (elector(lease, clock, n) for n in "abc")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert not c.try_acquire_or_renew()
    clock.now += 16
    read_by_c = lease.record  # c reads the expired lease …
    assert b.try_acquire_or_renew()  # … b writes first …
    lease.stale_next_read = read_by_c  # … and c writes on what it read
    assert not c.try_acquire_or_renew()
    assert lease.record is not None
    assert lease.record.holder == "b"
    assert b.leading
    assert not c.leading


def test_release_lets_a_standby_take_over_at_once(lease: FakeLease, clock: Clock) -> None:
    a, b = elector(lease, clock, "a"), elector(lease, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    a.release()
    assert not a.leading
    clock.now += 2  # one retry period
    assert b.try_acquire_or_renew()


def test_a_holder_that_cannot_renew_within_the_deadline_has_lost(
    lease: FakeLease, clock: Clock
) -> None:
    a = elector(lease, clock, "a")
    assert a.acquire()
    lease.fail_reads = True
    lost: list[bool] = []
    a.hold(lambda: lost.append(True))
    assert lost == [True]
    assert clock.now - 1000.0 >= 10  # not before the renew deadline
    assert not a.leading


def test_a_holder_that_sees_another_holder_has_lost_at_once(lease: FakeLease, clock: Clock) -> None:
    a = elector(lease, clock, "a")
    assert a.acquire()
    assert lease.record is not None
    lease._store(dataclasses.replace(lease.record, holder="intruder"))
    lost: list[bool] = []
    a.hold(lambda: lost.append(True))
    assert lost == [True]
    assert clock.now - 1000.0 == 2  # one retry period, no wait for the deadline


def test_timings_must_nest() -> None:
    with pytest.raises(ValueError, match="lease_duration > renew_deadline > retry_period"):
        Timing(10, 10, 2)


def test_a_connection_error_counts_as_a_failed_renewal_not_a_dead_thread(
    lease: FakeLease, clock: Clock
) -> None:
    a = elector(lease, clock, "a")
    assert a.acquire()

    def unreachable() -> LeaseRecord | None:
        raise ConnectionResetError("apiserver gone")

    lease.get = unreachable  # type: ignore[method-assign]
    lost: list[bool] = []
    a.hold(lambda: lost.append(True))  # returns (lost), does not raise
    assert lost == [True]
