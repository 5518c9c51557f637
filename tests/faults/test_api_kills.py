"""Drill 6: the onboarding API killed mid-request; the client retries with its Idempotency-Key.

A ``landlord api`` process (beside the test's embedded Landlord, which syncs the
platform repository) is SIGKILLed at random points of a create — before its
commit, between commit and push, between push and answer — and started again;
the client sends the same request with the same key until it gets an answer.
Every tenant then has exactly one commit on the branch, its file is whole, and
the answer says which happened: ``replayed`` when the first attempt's commit
had landed, a new commit when it had not. ``LANDLORD_DRILL_API_KILLS`` sets the
number of kills (default 8).
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import pathlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from landlord import kube
from landlord.cluster import ports
from landlord.demo import GitServer
from tests.faults import harness
from tests.fixtures.operator import OperatorProcess
from tests.helpers import eventually
from tests.onboarding.conftest import Api, running_api

KILLS = int(os.environ.get("LANDLORD_DRILL_API_KILLS", "8"))
REPO = "drill-platform"


class ApiProcess:
    """``landlord api`` on its own port, over the embedded Landlord's platform repository."""

    def __init__(self, platform: Api, work: pathlib.Path) -> None:
        self.platform = platform
        self.work = work
        self.port = ports.free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        config = self.platform.config
        log = (self.work / f"api-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "landlord", "api"],
            env={
                **os.environ,
                "KUBECONFIG": str(self.platform.kubeconfig),
                "LANDLORD_API__BIND": f"127.0.0.1:{self.port}",
                "LANDLORD_API__URL": self.url,
                "LANDLORD_API__WORKDIR": str(self.work / "workdir"),
                "LANDLORD_POLICY__PATH": str(config.policy.path),
                "LANDLORD_SOURCES__STORAGE_DIR": str(self.work / "sources"),
                "LANDLORD_SOURCES__ALLOWED_SCHEMES": "https,ssh,http",
                "LANDLORD_SOURCES__ALLOWED_NETWORKS": "127.0.0.1/32",
                "LANDLORD_TELEMETRY__LOG_FORMAT": "text",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        eventually(
            lambda: self.platform.call("GET", "/healthz", None, url=self.url)[0] == 200,
            timeout=30,
            what="landlord api to answer",
        )

    def kill(self) -> None:
        """SIGKILL the API and its ``git`` children (a killed pod takes them along)."""
        assert self.process is not None
        harness.kill_tree(self.process.pid)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def platform(
    control_plane: pathlib.Path,
    admin: kube.Kube,
    installed: None,
    operator_process: OperatorProcess,
    git_server: GitServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    operator_process.stop()  # one operator at a time; the `operator` fixture restarts it
    work = tmp_path_factory.mktemp("api-drill")
    with running_api(control_plane, admin, git_server, work, repo=REPO) as running:
        yield running


def _create(api: Api, url: str, name: str, key: str) -> tuple[int, dict[str, Any]]:
    status, body, _ = api.call(
        "POST",
        "/v1/tenants",
        api.admin_token,
        {"name": name, "spec": {}},
        headers={"Idempotency-Key": key},
        url=url,
    )
    return status, body


def _commits_of(api: Api, name: str) -> list[str]:
    return api._git("log", "--format=%H", "refs/heads/main", "--", f"tenants/{name}.yaml").split()


def test_a_killed_api_loses_or_doubles_nothing_and_the_retry_says_which(
    platform: Api, tmp_path: pathlib.Path
) -> None:
    rng, seed = harness.seeded("api kills")
    server = ApiProcess(platform, tmp_path)
    server.start()
    try:
        # One create without a kill: the window to aim at.
        began = time.monotonic()
        warm = platform.name("warm")
        platform.created.append(warm)
        assert _create(platform, server.url, warm, uuid.uuid4().hex)[0] == 201
        window = time.monotonic() - began
        outcomes: collections.Counter[str] = collections.Counter()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            for kill in range(KILLS):
                name, key = platform.name("killed"), f"drill-{uuid.uuid4().hex[:16]}"
                platform.created.append(name)
                first = pool.submit(_create_quietly, platform, server.url, name, key)
                delay = rng.uniform(0.0, window)
                time.sleep(delay)
                server.kill()
                answered = first.result(timeout=60)
                landed = _settled(platform, name)
                server.start()
                status, body = _create(platform, server.url, name, key)
                where = f"seed {seed}, kill {kill} after {delay:.2f}s"
                assert status == 201, f"{where}: {status} {body}"
                commits = _commits_of(platform, name)
                assert len(commits) == 1, f"{where}: {len(commits)} commits"
                document = yaml.safe_load(platform._git("show", f"main:tenants/{name}.yaml"))
                assert document["metadata"]["name"] == name, where  # whole, not half a file
                if landed:
                    assert body["replayed"] is True, f"{where}: {body}"
                    assert body["commit"] == landed[0] == commits[0], where
                else:
                    assert body["replayed"] is False, f"{where}: {body}"
                    assert body["commit"] == commits[0], where
                outcomes[
                    "answered before the kill"
                    if answered
                    else "pushed, no answer"
                    if landed
                    else "nothing pushed"
                ] += 1
        print(f"API kills (window {window:.2f}s): {dict(outcomes)}")
    finally:
        server.stop()


def _settled(api: Api, name: str) -> list[str]:
    """The branch's commits of ``name`` once no push is still landing.

    A push whose request reached the Git server before the kill is completed by
    the server all the same: wait until the answer stays the same for a while.
    """
    last, since = _commits_of(api, name), time.monotonic()
    deadline = since + 10
    while time.monotonic() - since < 1.0 and time.monotonic() < deadline:
        time.sleep(0.1)
        now = _commits_of(api, name)
        if now != last:
            last, since = now, time.monotonic()
    return last


def _create_quietly(api: Api, url: str, name: str, key: str) -> bool:
    """Whether the first attempt got its 201 (a killed server answers nothing)."""
    try:
        return _create(api, url, name, key)[0] == 201
    except OSError:
        return False
