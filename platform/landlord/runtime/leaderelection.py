"""Leader election on a Lease, as client-go's leaderelection does it.

One replica holds the Lease and reconciles; the others wait. The holder
renews every ``retry_period``; if it cannot renew within ``renew_deadline``
it has lost (it must stop at once: another replica may take over as soon as
``lease_duration`` has passed since the last renewal it wrote). A standby
takes the Lease only once it has expired by the standby's own clock; every
write carries the ``resourceVersion`` read, so two standbys racing for an
expired Lease cannot both win. On a clean shutdown the holder releases the
Lease, and a standby takes over within one ``retry_period``.

The defaults are controller-runtime's: 15 s, 10 s, 2 s.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from landlord import errors

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class LeaseRecord:
    """What a Lease says, with times as seconds since the epoch."""

    holder: str | None
    duration: float
    acquired: float
    renewed: float
    transitions: int
    version: str = ""  # the resourceVersion read


class LeaseStore(Protocol):
    """Reads and writes one Lease; writes are refused (ConflictError) on a stale version."""

    def get(self) -> LeaseRecord | None: ...

    def create(self, record: LeaseRecord) -> LeaseRecord: ...

    def update(self, record: LeaseRecord) -> LeaseRecord: ...


@dataclasses.dataclass(frozen=True)
class Timing:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ValueError(
                "leader election needs lease_duration > renew_deadline > retry_period > 0 "
                f"(got {self.lease_duration}, {self.renew_deadline}, {self.retry_period})"
            )


class LeaderElector:
    """Acquire, hold and release one Lease as ``identity``."""

    def __init__(
        self,
        store: LeaseStore,
        identity: str,
        timing: Timing | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.store = store
        self.identity = identity
        self.timing = timing or Timing()
        self.clock = clock  # wall time: only for the times written into the Lease
        # Elapsed time (expiry, the renew deadline): never stepped by NTP.
        self.monotonic = monotonic or (time.monotonic if clock is time.time else clock)
        self.sleep = sleep
        self.last_contact: float | None = None  # monotonic time of the last Lease read
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0  # our clock when the record last changed
        self._stop = threading.Event()

    @property
    def leading(self) -> bool:
        record = self._observed
        return record is not None and record.holder == self.identity

    def try_acquire_or_renew(self) -> bool:
        """One attempt: True if we hold the Lease afterwards."""
        try:
            current = self.store.get()
        except Exception as error:  # noqa: BLE001 - any failure is "not renewed", never a dead thread
            log.warning("leader election: reading the lease failed: %s", error)
            return False
        now, seen = self.clock(), self.monotonic()  # after the read: expiry never starts early
        self.last_contact = seen
        mine = LeaseRecord(
            holder=self.identity,
            duration=self.timing.lease_duration,
            acquired=now,
            renewed=now,
            transitions=0,
        )
        try:
            if current is None:
                self._see(self.store.create(mine), seen)
                return True
            if current != self._observed:
                self._see(current, seen)  # someone wrote: its duration counts from now, our clock
            held_by_other = current.holder not in (None, "", self.identity)
            if held_by_other and seen < self._observed_at + current.duration:
                return False
            if current.holder == self.identity:
                mine = dataclasses.replace(
                    mine,
                    acquired=current.acquired,
                    transitions=current.transitions,
                    version=current.version,
                )
            else:
                mine = dataclasses.replace(
                    mine, transitions=current.transitions + 1, version=current.version
                )
            self._see(self.store.update(mine), seen)
            return True
        except errors.ApiError as error:
            if not error.conflict:
                log.warning("leader election: writing the lease failed: %s", error)
            return False  # another replica wrote first (409) or the apiserver is away
        except Exception as error:  # noqa: BLE001 - a connection error must not end hold()
            log.warning("leader election: writing the lease failed: %s", error)
            return False

    def _see(self, record: LeaseRecord, now: float) -> None:
        self._observed = record
        self._observed_at = now

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Block until we hold the Lease (True) or ``stop`` is set (False)."""
        stop = stop or self._stop
        while not stop.is_set():
            if self.try_acquire_or_renew():
                log.info("leader election: %s leads", self.identity)
                return True
            self.sleep(self.timing.retry_period)
        return False

    def hold(self, on_lost: Callable[[], None]) -> None:
        """Renew until :meth:`release` (or loss: then ``on_lost``); run on a thread of its own."""
        last_renewed = self.monotonic()
        while not self._stop.is_set():
            self.sleep(self.timing.retry_period)
            if self._stop.is_set():
                return
            if self.try_acquire_or_renew():
                last_renewed = self.monotonic()
            elif self.monotonic() - last_renewed >= self.timing.renew_deadline or (
                self._observed is not None and self._observed.holder != self.identity
            ):
                log.error("leader election: %s lost the lease", self.identity)
                self._observed = None
                on_lost()
                return

    def release(self) -> None:
        """Stop renewing and hand the Lease back so a standby takes over at once."""
        self._stop.set()
        if self._observed is None or self._observed.holder != self.identity:
            return
        for _ in range(3):  # a renewal in flight may have moved the version: read again
            try:
                record = self.store.get()
                if record is None or record.holder != self.identity:
                    break
                self.store.update(
                    dataclasses.replace(record, holder=None, duration=1.0, renewed=self.clock())
                )
                break
            except Exception as error:  # noqa: BLE001 - best effort: the Lease expires anyway
                log.warning("leader election: releasing the lease failed: %s", error)
        self._observed = None

    def in_contact(self) -> bool:
        """Whether the Lease was read within one lease duration (a standby's readiness)."""
        last = self.last_contact
        return last is not None and self.monotonic() - last < self.timing.lease_duration
