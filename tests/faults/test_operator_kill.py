"""Drills 1 and 2: the operator killed at the worst moment loses nothing, leaves nothing half-done.

Drill 1 SIGKILLs the operator at random points while it applies and prunes a
500-object revision (every object changes, a quarter is removed and a quarter
added each time), during an offboarding, and while a tenant's namespaces are
being made. After a restart, within one sync interval: the revision is applied
whole, the inventory is what is on the cluster, nothing the revision removed
survives, nothing it keeps is gone, no object is under two inventories, and no
namespace is claimed by a tenant that does not exist.

``LANDLORD_DRILL_KILLS`` sets the number of kills mid-apply (default 6),
``LANDLORD_DRILL_SEED`` repeats a run's schedule (each test prints its seed).
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import time

from landlord import api, kube
from landlord.demo import GitServer
from tests.faults import harness
from tests.faults.conftest import OBJECTS, DrillTenant
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually

KILLS = int(os.environ.get("LANDLORD_DRILL_KILLS", "6"))
GRACE = 30.0  # the chart's terminationGracePeriodSeconds


def _revision(cycle: int) -> harness.Revision:
    """Objects 0–499, 125–624 or 250–749 in turn: each cycle removes and adds some."""
    start = (cycle % 3) * OBJECTS // 4
    return harness.Revision.of(f"r{cycle + 1}", range(start, start + OBJECTS))


def _fetched(admin: kube.Kube, drill: DrillTenant, sha: str) -> None:
    """Wait until the tenant's source serves ``sha`` (the sync starts right after)."""

    def served() -> bool:
        source = admin.get(api.API_VERSION, "GitRepository", drill.name, drill.name) or {}
        artifact = (source.get("status") or {}).get("artifact") or {}
        return bool(artifact.get("revision") == f"main@sha1:{sha}")

    eventually(served, timeout=30, interval=0.02, what=f"the source to fetch {sha[:8]}")


def _phase(admin: kube.Kube, drill: DrillTenant, before: harness.Revision) -> str:
    """Where the operator was when it died, from what it left behind."""
    live = harness.owned(admin, drill.name, drill.name)
    new = drill.revision
    at_new = sum(
        1 for n in new.names if (live.get(n, {}).get("data") or {}).get("rev") == new.value
    )
    leftover = len((before.names - new.names) & set(live))
    if at_new == 0:
        return "dry-runs (before the first write)"
    if at_new < len(new.names):
        return "mid-apply"
    return "mid-prune" if leftover else "after prune"


def test_sigkill_at_random_points_of_apply_and_prune_loses_nothing(
    admin: kube.Kube, drill_tenant: DrillTenant
) -> None:
    rng, seed = harness.seeded("sigkill mid-apply")
    operator = drill_tenant.operator
    # One revision without a kill: how long a sync takes here from the moment its
    # source has the artifact (dry-runs, writes, prune, status): the window to aim at.
    sha = drill_tenant.push(_revision(0))
    _fetched(admin, drill_tenant, sha)
    began = time.monotonic()
    assert drill_tenant.converged(sha) == []
    window = time.monotonic() - began
    phases: collections.Counter[str] = collections.Counter()
    for cycle in range(1, KILLS + 1):
        before = drill_tenant.revision
        sha = drill_tenant.push(_revision(cycle))
        _fetched(admin, drill_tenant, sha)
        delay = rng.uniform(0.0, window)
        time.sleep(delay)
        assert operator.process is not None
        operator.process.kill()
        operator.process.wait(timeout=10)
        phase = _phase(admin, drill_tenant, before)
        phases[phase] += 1
        if cycle % 2 == 0:
            # A push while the operator is down: the killed revision is never
            # finished, and what it had applied that the next one drops must go.
            sha = drill_tenant.push(_revision(cycle + 100))
            phase += ", then a push while down"
        drill_tenant.restart()
        found = drill_tenant.converged(sha)
        assert found == [], f"seed {seed}, kill {cycle} after {delay:.2f}s ({phase}): {found}"
    print(f"kills by phase (window {window:.1f}s): {dict(phases)}")
    assert harness.doubly_owned(admin) == []
    assert sum(phases.values()) == KILLS


def test_sigterm_mid_apply_finishes_the_reconcile_within_the_grace_period(
    admin: kube.Kube, drill_tenant: DrillTenant
) -> None:
    operator = drill_tenant.operator
    before = drill_tenant.revision
    sha = drill_tenant.push(_revision(1))
    new = drill_tenant.revision

    def applying() -> bool:
        live = harness.owned(admin, drill_tenant.name, drill_tenant.name)
        return any((live.get(n, {}).get("data") or {}).get("rev") == new.value for n in new.names)

    eventually(applying, timeout=30, interval=0.05, what="the apply to begin")
    assert operator.process is not None
    stopped = time.monotonic()
    operator.process.send_signal(signal.SIGTERM)
    code = operator.process.wait(timeout=GRACE + 10)
    took = time.monotonic() - stopped

    assert took <= GRACE, f"stopped after {took:.1f}s"
    assert code == 0, operator.log()[-2000:]
    # The running reconcile was let finish: no stage is left half-applied.
    assert _phase(admin, drill_tenant, before) in ("mid-prune", "after prune")
    drill_tenant.restart()
    assert drill_tenant.converged(sha) == []


def test_sigkill_while_offboarding_or_onboarding_leaves_no_claimed_namespace(
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    operator: OperatorProcess,
) -> None:
    rng, seed = harness.seeded("sigkill mid-offboarding and mid-onboarding")
    for round_ in range(3):
        name = tenants.name("kill")
        git_server.create(name)
        git_server.commit(name, harness.Revision.of("r0", range(20)).files(), message="app")
        url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
        spec = {
            "namespaces": [name, f"{name}-extra"],
            "source": {"url": url, "interval": "1s"},
            "sync": {"path": "./deploy", "interval": "1m"},
        }
        # Mid-onboarding: namespaces, accounts and bindings half made.
        tenants.create(name, spec)
        delay = rng.uniform(0.0, 1.0)
        time.sleep(delay)
        assert operator.process is not None
        operator.process.kill()
        operator.process.wait(timeout=10)
        operator.start(operator.env)
        tenants.ready(name, timeout=60)
        for namespace in (name, f"{name}-extra"):
            labelled = (admin.get("v1", "Namespace", namespace) or {}).get("metadata") or {}
            assert (labelled.get("labels") or {}).get("landlord.dev/tenant") == name, (
                f"seed {seed}, round {round_}: {namespace} after a kill at {delay:.2f}s"
            )
        eventually(
            lambda n=name: len(harness.owned(admin, n, n)) == 20,
            timeout=60,
            what=f"{name}'s objects",
        )
        # Mid-offboarding: finalizers, prune and namespace deletion half done.
        admin.delete(api.API_VERSION, "Tenant", name)
        delay = rng.uniform(0.0, 1.5)
        time.sleep(delay)
        operator.process.kill()
        operator.process.wait(timeout=10)
        operator.start(operator.env)
        eventually(
            lambda n=name: tenants.get(n) is None,
            timeout=90,
            what=f"{name} offboarded after a kill at {delay:.2f}s (seed {seed})",
        )
        assert harness.orphan_claims(admin) == [], f"seed {seed}, round {round_}"
    assert harness.doubly_owned(admin) == []


def test_a_revision_killed_before_its_status_and_replaced_while_down_leaves_nothing_behind(
    admin: kube.Kube, drill_tenant: DrillTenant
) -> None:
    """The case the write-ahead inventory is for, hit on purpose rather than by chance:
    a leader killed after its writes, before its status; a push; a standby takes over."""
    operator = drill_tenant.operator
    adding = harness.Revision.of("adds", range(OBJECTS // 4, OBJECTS + OBJECTS // 4))
    last = max(adding.names - drill_tenant.revision.names)  # written last (names sort)
    drill_tenant.push(adding)

    def written() -> bool:
        live = admin.get("v1", "ConfigMap", last, drill_tenant.name) or {}
        return (live.get("data") or {}).get("rev") == adding.value

    eventually(written, timeout=60, interval=0.01, what=f"{last} to be written")
    assert operator.process is not None
    operator.process.kill()
    operator.process.wait(timeout=10)
    body = admin.get(api.API_VERSION, "Kustomization", drill_tenant.name, drill_tenant.name)
    status = (body or {}).get("status") or {}
    left = harness.owned(admin, drill_tenant.name, drill_tenant.name)
    print(
        f"killed with {len(left)} objects on the cluster, "
        f"{len((status.get('inventory') or {}).get('entries') or [])} in the inventory, "
        f"last applied {status.get('lastAppliedRevision')}"
    )
    # While it is down, a revision that no longer has what the killed one added; the
    # replica that takes over has its own, empty storage (an emptyDir on another
    # node): it never sees the killed revision's artifact, only the new one.
    sha = drill_tenant.push(harness.Revision.of("drops", range(OBJECTS)))
    shutil.rmtree(operator.log_dir / "sources")
    drill_tenant.restart()

    assert drill_tenant.converged(sha) == []
    assert harness.doubly_owned(admin) == []
