"""A node's eth0 goes into the node's network namespace, never the host's (a start-up race)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from landlord.cluster.realnode import host


def test_attaching_waits_until_the_anchor_has_namespaces_of_its_own() -> None:
    # Like `unshare … containerd` caught before unshare(2) ran: still in our namespaces.
    late = subprocess.Popen(["sh", "-c", "sleep 0.5; exec unshare --net --mount sleep 5"])
    try:
        assert os.readlink(f"/proc/{late.pid}/ns/net") == os.readlink("/proc/self/ns/net")
        began = time.monotonic()
        host.wait_for_namespaces(late.pid)
        assert time.monotonic() - began >= 0.3
        assert os.readlink(f"/proc/{late.pid}/ns/net") != os.readlink("/proc/self/ns/net")
    finally:
        late.kill()
        late.wait()


def test_an_anchor_that_never_leaves_our_namespaces_is_an_error() -> None:
    stays = subprocess.Popen(["sleep", "5"])
    try:
        with pytest.raises(host.RealNodeHostError, match="namespaces of its own"):
            host.wait_for_namespaces(stays.pid, timeout=0.3)
    finally:
        stays.kill()
        stays.wait()
