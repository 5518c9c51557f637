"""``landlord cluster up | status | down`` and ``landlord up`` as a user runs them.

Each test starts its own small control plane (no nodes) from the CLI, so these
also measure the warm start the README promises.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.controlplane


def _landlord(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landlord", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _pid_alive(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_up_status_down_leaves_nothing_behind(tmp_path: pathlib.Path) -> None:
    state_dir = tmp_path / "cluster"

    up = _landlord("cluster", "up", "--nodes", "0", "--state-dir", str(state_dir))
    assert up.returncode == 0, up.stderr
    assert "control plane ready" in up.stdout
    assert (state_dir / "kubeconfig").is_file()
    pids = [
        item["pid"] for item in json.loads((state_dir / "state.json").read_text())["components"]
    ]
    assert len(pids) == 3
    assert all(_pid_alive(pid) for pid in pids)

    status = _landlord("cluster", "status", "--state-dir", str(state_dir))
    assert status.returncode == 0, status.stdout
    for component in ("etcd", "kube-apiserver", "kube-controller-manager"):
        assert component in status.stdout

    again = _landlord("cluster", "up", "--nodes", "0", "--state-dir", str(state_dir))
    assert again.returncode == 1
    assert "already runs" in again.stderr

    down = _landlord("cluster", "down", "--state-dir", str(state_dir))
    assert down.returncode == 0, down.stderr
    assert not any(_pid_alive(pid) for pid in pids)
    assert _landlord("cluster", "status", "--state-dir", str(state_dir)).returncode == 1


def test_demo_runs_until_interrupted_and_stops_cleanly(tmp_path: pathlib.Path) -> None:
    state_dir = tmp_path / "demo"
    demo = subprocess.Popen(
        [sys.executable, "-m", "landlord", "up", "--nodes", "0", "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert demo.stdout is not None
        output: list[str] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Ctrl-C stops the demo" in line:
                break
        assert any("control plane ready" in line for line in output), "".join(output)
        # One more tenant onboarded through the API: a commit by the demo's admin account.
        assert any("onboarded self-service" in line and "Ready" in line for line in output), (
            "".join(output)
        )
        for tenant in ("sandbox", "payments", "storefront", "self-service"):
            row = next((line for line in output if line.startswith(tenant)), "")
            assert " True " in row, "".join(output)
        # storefront has a source: the demo pushed a repository and Landlord fetched it.
        source_row = next(
            (line for line in output if re.match(r"storefront\s+storefront\s", line)), ""
        )
        assert " True " in source_row, "".join(output)
        assert "main@sha1:" in source_row
        # storefront's repository declares a HelmRelease: installed by helm as storefront.
        assert any(
            "release storefront/welcome-chart.v1 (welcome@1.0.0) installed by helm as "
            "system:serviceaccount:storefront:landlord-reconciler" in line
            for line in output
        ), "".join(output)
        # storefront's repository holds a SOPS-encrypted Secret: decrypted with its own key.
        assert any(
            "Secret storefront/db-credentials (password, username) committed SOPS-encrypted, "
            "decrypted with storefront's own age key" in line
            for line in output
        ), "".join(output)
        # storefront's repository holds image automation: a tag pushed to the registry
        # becomes a commit to that repository, which the sync applies.
        assert any("picked it → Landlord committed the bump" in line for line in output), "".join(
            output
        )
        assert any("Deployment storefront/app applied with :1.1.0" in line for line in output), (
            "".join(output)
        )
        # The operator reads its policy from the platform repository the demo pushed.
        assert any("policies/ of the platform repository" in line for line in output), "".join(
            output
        )
        # The status page: its URL and a token to sign in with, which it accepts.
        at = next(i for i, line in enumerate(output) if "status page: http://" in line)
        url = re.search(r"(http://\S+/ui)", output[at]).group(1)  # type: ignore[union-attr]
        token = output[at + 1].split()[-1]
        assert _signed_in_page(url, token).count("self-service") >= 1
        pids = [
            item["pid"] for item in json.loads((state_dir / "state.json").read_text())["components"]
        ]

    except BaseException:
        # A failed assertion must not leave the demo (and its control plane) running.
        demo.send_signal(signal.SIGINT)
        demo.communicate(timeout=60)
        raise

    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=60)

    assert demo.returncode == 0, "".join(output) + rest
    assert "stopped." in rest
    assert not any(_pid_alive(pid) for pid in pids)


def _signed_in_page(url: str, token: str) -> str:
    """Sign in to the status page at ``url`` with ``token``; the overview's HTML."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    form = urllib.parse.urlencode({"token": token}).encode()
    with opener.open(urllib.request.Request(url + "/login", data=form), timeout=30) as response:
        assert response.url.endswith("/ui"), response.url  # redirected to the overview
        return str(response.read().decode())
