"""Leader election for ``landlord run``: the Lease store, the elector from settings, and loss."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from collections.abc import Callable

from landlord import kube
from landlord import settings as settings_mod
from landlord.kube import leases
from landlord.runtime import shards
from landlord.runtime.leaderelection import LeaderElector, LeaseRecord, Timing

log = logging.getLogger(__name__)


class LeaseStore:
    """The kube adapter's Lease as leader election's store (the two layers share no type)."""

    def __init__(self, store: leases.LeaseStore) -> None:
        self.store = store

    def get(self) -> LeaseRecord | None:
        found = self.store.get()
        return LeaseRecord(**dataclasses.asdict(found)) if found else None

    def create(self, record: LeaseRecord) -> LeaseRecord:
        made = self.store.create(leases.LeaseRecord(**dataclasses.asdict(record)))
        return LeaseRecord(**dataclasses.asdict(made))

    def update(self, record: LeaseRecord) -> LeaseRecord:
        made = self.store.update(leases.LeaseRecord(**dataclasses.asdict(record)))
        return LeaseRecord(**dataclasses.asdict(made))


def elector_from(config: settings_mod.Settings, kube_client: kube.Kube) -> LeaderElector | None:
    """The leader elector the settings ask for (None: leader election off)."""
    election = config.leader_election
    if not election.enabled:
        return None
    identity = election.identity or socket.gethostname()
    lease = shards.Shard(config.shard.name).lease(election.lease)  # one Lease per shard
    # A request may take at most 1.5 s: a renewal loop that fails keeps to its deadline.
    store = LeaseStore(
        leases.LeaseStore(
            kube_client,
            config.platform_namespace,
            lease,
            timeout=min(1.5, election.retry_period),
        )
    )
    timing = Timing(election.lease_duration, election.renew_deadline, election.retry_period)
    log.info("leader election: %s waits for lease %s", identity, lease)
    return LeaderElector(store, identity, timing)


def exit_on_lost_lease() -> None:
    """Stop now: another replica may lead already.

    Mid-reconcile if need be (applies are idempotent server-side applies); the
    pod restarts as a standby.
    """
    log.critical("leader election: lease lost, exiting")
    logging.shutdown()
    os._exit(1)


def readiness(
    operator_ready: Callable[[], tuple[bool, str]], elector: LeaderElector | None, lease: str
) -> Callable[[], tuple[bool, str]]:
    """The ``/readyz`` check: a waiting standby is ready, the leader once the operator runs.

    A standby must not be restarted for waiting for the Lease.
    """

    def check() -> tuple[bool, str]:
        if elector is not None and not elector.leading:
            if not elector.in_contact():
                return False, f"standby: cannot read lease {lease} (apiserver, RBAC?)"
            return True, f"standby: waiting for lease {lease}"
        ready, reason = operator_ready()
        return ready, ("leader: " if elector is not None else "") + reason

    return check
