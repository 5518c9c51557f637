"""Drills 5 and 7: the Git server down or lying, and the artifact store's disk full.

A source keeps its last artifact and says why it cannot fetch; a sync keeps what
it applied (nothing is pruned because a fetch failed); nothing is applied from a
partial or spoiled pack; everything recovers at the next interval once the
server (or the space) is back. ``LANDLORD_DRILL_OUTAGE`` sets the outage in
seconds (default 10: ten source intervals).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from landlord import api, kube
from landlord.api import conditions
from landlord.demo import GitServer
from tests.faults import harness
from tests.faults.conftest import SMALL, small_tenant
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually

OUTAGE = float(os.environ.get("LANDLORD_DRILL_OUTAGE", "10"))


def _source(admin: kube.Kube, name: str) -> dict[str, Any]:
    return (admin.get(api.API_VERSION, "GitRepository", name, name) or {}).get("status") or {}


def _failing(admin: kube.Kube, name: str) -> dict[str, Any] | None:
    ready = conditions.get(_source(admin, name).get("conditions") or [], "Ready") or {}
    return ready if ready.get("status") == "False" else None


def _kept(admin: kube.Kube, name: str, revision: harness.Revision, sha: str) -> None:
    """The source still serves ``sha`` and every object is still there, at ``revision``."""
    assert _source(admin, name)["artifact"]["revision"] == f"main@sha1:{sha}"
    assert harness.problems(admin, name, name, revision) == []


def test_a_git_outage_keeps_the_last_artifact_and_prunes_nothing(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, operator: OperatorProcess
) -> None:
    name, first = small_tenant(git_server, tenants, admin)
    r0 = harness.Revision.of("r0", range(SMALL))
    git_server.stop()
    try:
        # A push while the server is down (its disk takes it; nobody can fetch it).
        r1 = harness.Revision.of("r1", range(SMALL // 2))  # removes half the objects
        sha = git_server.commit(name, r1.files(), message="r1")
        why = eventually(lambda: _failing(admin, name), timeout=30, what="the source to fail")
        time.sleep(OUTAGE)
        _kept(admin, name, r0, first)
        why = _failing(admin, name)
        assert why is not None
        assert why["reason"] == "SourceUnreachable", why
        print(f"source during the outage: {why['reason']}: {why['message']}")
    finally:
        git_server.start()
    began = time.monotonic()
    eventually(lambda: harness.ready_at(admin, name, name, sha), timeout=30, what="r1 applied")
    print(f"recovered {time.monotonic() - began:.1f}s after the server came back")
    assert harness.problems(admin, name, name, r1) == []


@pytest.mark.parametrize("fault", ["truncate", "garbage"])
def test_a_spoiled_pack_applies_nothing(
    fault: str,
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    operator: OperatorProcess,
) -> None:
    name, first = small_tenant(git_server, tenants, admin)
    r0 = harness.Revision.of("r0", range(SMALL))
    git_server.fault = fault
    try:
        r1 = harness.Revision.of("r1", range(SMALL // 2))
        sha = git_server.commit(name, r1.files(), message="r1")
        why = eventually(lambda: _failing(admin, name), timeout=30, what="the source to fail")
        print(f"source with a {fault}d pack: {why['reason']}: {why['message']}")
        assert why["reason"] == "PackInvalid", why
        time.sleep(3)
        _kept(admin, name, r0, first)
    finally:
        git_server.fault = None
    eventually(lambda: harness.ready_at(admin, name, name, sha), timeout=30, what="r1 applied")
    assert harness.problems(admin, name, name, r1) == []


@contextlib.contextmanager
def _tmpfs(where: pathlib.Path, size: str) -> Iterator[pathlib.Path]:
    where.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=False)


def _fill(folder: pathlib.Path) -> pathlib.Path:
    """Write until the file system is full; the file that fills it."""
    filler = folder / "filler"
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * (64 * 1024))
            handle.flush()
    return filler


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)")
def test_a_full_disk_fails_the_fetch_cleanly_and_recovers(
    admin: kube.Kube,
    git_server: GitServer,
    tenants: Tenants,
    operator: OperatorProcess,
    tmp_path: pathlib.Path,
) -> None:
    with _tmpfs(tmp_path / "store", "8m") as store:
        operator.start({"LANDLORD_SOURCES__STORAGE_DIR": str(store)})
        name, first = small_tenant(git_server, tenants, admin)
        r0 = harness.Revision.of("r0", range(SMALL))
        filler = _fill(store)
        # A revision with a megabyte more to store than the disk has left.
        r1 = harness.Revision.of("r1", range(SMALL // 2))
        files = {**r1.files(), "deploy/big.txt": os.urandom(1 << 20).hex()}
        sha = git_server.commit(name, files, message="r1, too big for the disk")
        why = eventually(lambda: _failing(admin, name), timeout=30, what="the fetch to fail")
        print(f"source with a full disk: {why['reason']}: {why['message']}")
        assert why["reason"] == "StorageFull", why
        time.sleep(3)
        _kept(admin, name, r0, first)
        assert operator.process is not None
        assert operator.process.poll() is None, "the operator died of the full disk"
        filler.unlink()
        eventually(lambda: harness.ready_at(admin, name, name, sha), timeout=30, what="r1 applied")
        assert harness.problems(admin, name, name, r1) == []
        tenants.cleanup()
        tenants.created.clear()
        operator.start()  # the default settings again, off the tmpfs before it goes
