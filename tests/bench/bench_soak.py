"""Soak — ordinary trouble for a long while: pushes, drift, operator kills, apiserver restarts.

``LANDLORD_BENCH_SOAK_MINUTES`` (default 5), ``LANDLORD_BENCH_SOAK_TENANTS``
(default 200), ``…_KILL_EVERY`` and ``…_RESTART_EVERY`` (seconds, 300 and 600). During the
run: a push to a random tenant every second (its ConfigMap ``app`` gets a new
``version``), a drift every 2 s (a managed Service deleted, or the Deployment
scaled by hand), the operator SIGKILLed and started again every 5 minutes, the
apiserver restarted every 10. Printed afterwards: pushes lost (the last value
never applied), late (applied more than 30 s after the push), drift repairs
lost, objects under two inventories, push → applied latency, Events and
apiserver requests per minute, and the operator's RSS and open file
descriptors at the start and end of each of its lives (flat is good).
"""

from __future__ import annotations

import collections
import os
import random
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from landlord import kube
from landlord.cluster import controlplane
from landlord.demo import GitServer
from tests.bench import _harness
from tests.faults import harness as faults

MINUTES = float(os.environ.get("LANDLORD_BENCH_SOAK_MINUTES", "5"))
TENANTS = int(os.environ.get("LANDLORD_BENCH_SOAK_TENANTS", "200"))
PUSH_EVERY, DRIFT_EVERY = 1.0, 2.0
KILL_EVERY = float(os.environ.get("LANDLORD_BENCH_SOAK_KILL_EVERY", "300"))
RESTART_EVERY = float(os.environ.get("LANDLORD_BENCH_SOAK_RESTART_EVERY", "600"))
LATE = 30.0
RECOVERY = 120.0  # seconds after a disruption that count as its recovery


def _fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


class Operator:
    """``landlord run`` that can be killed and started again; its lives sampled."""

    def __init__(self, plane: controlplane.ControlPlane, env: dict[str, str]) -> None:
        self.plane, self.env = plane, env
        self.stack = ExitStack()
        self.process: subprocess.Popen[bytes] | None = None
        self.lives: list[list[tuple[float, float, int]]] = []  # (t, RSS MiB, fds) samples

    def start(self) -> None:
        self.process = self.stack.enter_context(
            _harness.operator(self.plane, self.env, log_name=f"operator-{len(self.lives)}.log")
        )
        self.lives.append([])

    def kill(self) -> None:
        assert self.process is not None
        faults.kill(self.process.pid)
        self.process.wait()
        self.start()

    def sample(self, began: float) -> None:
        assert self.process is not None
        pid = self.process.pid
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            return
        rss = next(
            (int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:")), 0.0
        )
        self.lives[-1].append((time.monotonic() - began, rss, _fds(pid)))


def run() -> None:
    rng = random.Random(int(os.environ.get("LANDLORD_DRILL_SEED", "19")))  # noqa: S311 - a schedule
    names = [f"soak-{i:03d}" for i in range(TENANTS)]
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-soak-") as tmp,
        _harness.landlord_cluster() as (plane, client),
    ):
        git = GitServer(Path(tmp) / "git").start()
        operator = Operator(plane, _harness.loopback_env(Path(tmp)))
        try:
            operator.start()
            _harness.four_object_tenants(
                client, git, names, source_interval="10s", sync_interval="1m"
            )
            ready = _harness.wait_ready(client, names, timeout=600)
            print(f"  {len(ready)}/{TENANTS} tenants Ready; soaking for {MINUTES:g} minutes")
            _soak(plane, client, git, operator, names, rng)
        finally:
            operator.stack.close()
            git.stop()


def _soak(
    plane: controlplane.ControlPlane,
    client: kube.Kube,
    git: GitServer,
    operator: Operator,
    names: list[str],
    rng: random.Random,
) -> None:
    pushed: dict[str, tuple[int, float]] = {}  # tenant → (last version, pushed at)
    latencies: list[float] = []
    applied: list[tuple[float, float]] = []  # (pushed at, latency)
    disruptions: list[float] = []  # when the operator was killed or the apiserver restarted
    versions = dict.fromkeys(names, 1)
    drifts: list[tuple[str, str, float]] = []
    seen_lock = threading.Lock()
    stop = threading.Event()

    def watch_applied() -> None:
        while not stop.is_set():
            try:
                items = client.list_objects("v1", "ConfigMap")
            except Exception:  # noqa: BLE001 - the apiserver is restarting: look again soon
                stop.wait(0.5)
                continue
            for item in items:
                name = item["metadata"]["namespace"]
                if item["metadata"]["name"] != "app" or name not in versions:
                    continue
                value = int((item.get("data") or {}).get("version") or 0)
                with seen_lock:
                    last = pushed.get(name)
                    if last is not None and value >= last[0]:
                        latencies.append(time.monotonic() - last[1])
                        applied.append((last[1], latencies[-1]))
                        del pushed[name]
            stop.wait(0.5)

    watcher = threading.Thread(target=watch_applied, daemon=True)
    watcher.start()
    # The apiserver's counters start again at each restart: add them up between restarts.
    requests = collections.Counter[str]()
    requests_before = _harness.requests_by_verb(client)
    events_before = len(client.list_objects("v1", "Event"))
    began = time.monotonic()
    next_push = next_drift = began
    next_kill, next_restart, next_sample = began + KILL_EVERY, began + RESTART_EVERY, began
    kills = restarts = 0
    end = began + MINUTES * 60
    while (now := time.monotonic()) < end:
        if now >= next_push:
            name = rng.choice(names)
            versions[name] += 1
            index = names.index(name)
            git.commit(
                name,
                {
                    "deploy/app.yaml": _harness.dump(
                        _harness.four_objects(index, version=versions[name])
                    )
                },
            )
            with seen_lock:
                if name not in pushed:
                    pushed[name] = (versions[name], time.monotonic())
                else:
                    pushed[name] = (versions[name], pushed[name][1])
            next_push += PUSH_EVERY
        if now >= next_drift:
            name = rng.choice(names)
            if rng.random() < 0.5:
                _quietly(lambda n=name: client.delete("v1", "Service", "app", n))
                drifts.append((name, "deleted Service", time.monotonic()))
            else:
                _quietly(
                    lambda n=name: client.merge_patch(
                        "apps/v1", "Deployment", "app", {"spec": {"replicas": 2}}, n
                    )
                )
                drifts.append((name, "scaled Deployment", time.monotonic()))
            next_drift += DRIFT_EVERY
        if now >= next_kill:
            operator.kill()
            disruptions.append(time.monotonic())
            kills += 1
            next_kill += KILL_EVERY
        if now >= next_restart:
            requests += _harness.requests_by_verb(client) - requests_before
            disruptions.append(time.monotonic())
            controlplane.stop_component(plane.state_dir, "kube-apiserver")
            time.sleep(2)
            controlplane.start_component(plane.state_dir, "kube-apiserver")
            requests_before = _wait_for_counters(client)
            restarts += 1
            next_restart += RESTART_EVERY
        if now >= next_sample:
            operator.sample(began)
            next_sample += 30
        time.sleep(0.05)
    minutes = (time.monotonic() - began) / 60
    # Everything pushed or drifted must be applied or repaired within a while.
    deadline = time.monotonic() + 120
    while pushed and time.monotonic() < deadline:
        time.sleep(1)
    stop.set()
    watcher.join()
    lost_drift = [d for d in drifts[-200:] if not _repaired(client, d[0])]
    delta = requests + (_harness.requests_by_verb(client) - requests_before)
    events = len(client.list_objects("v1", "Event")) - events_before
    late = sum(1 for value in latencies if value > LATE)
    print(
        f"  {minutes:.1f} minutes: {sum(versions.values()) - len(names)} pushes, {len(drifts)} "
        f"drifts, {kills} operator kills, {restarts} apiserver restarts"
    )
    print(
        f"    pushes lost {len(pushed)}, late (> {LATE:.0f}s) {late}; "
        f"push → applied {_harness.summary(latencies)}"
    )
    # A push made shortly before or after a kill or a restart waits for the recovery.
    near = [
        latency
        for at, latency in applied
        if any(d - LATE <= at <= d + RECOVERY for d in disruptions)
    ]
    calm = [
        latency
        for at, latency in applied
        if not any(d - LATE <= at <= d + RECOVERY for d in disruptions)
    ]
    print(
        f"    pushed within {LATE:.0f}s before or {RECOVERY:.0f}s after a kill or restart: "
        f"{len(near)}, late {sum(1 for v in near if v > LATE)}, "
        f"{_harness.summary(near) if near else '-'}"
    )
    print(
        f"    pushed at other times: {len(calm)}, late {sum(1 for v in calm if v > LATE)}, "
        f"{_harness.summary(calm) if calm else '-'}"
    )
    print(f"    drift repairs lost {len(lost_drift)} (of the last {min(200, len(drifts))} checked)")
    print(f"    objects under two inventories: {len(faults.doubly_owned(client))}")
    print(
        f"    per minute: {sum(delta.values()) / minutes:.0f} apiserver requests "
        f"({_harness.verbs(delta)}), {events / minutes:.0f} Events (kept ones)"
    )
    for life, samples in enumerate(operator.lives):
        if len(samples) >= 2:
            (t0, rss0, fd0), (t1, rss1, fd1) = samples[0], samples[-1]
            print(
                f"    operator life {life}: {t0 / 60:.1f}–{t1 / 60:.1f} min, RSS {rss0:.0f} → "
                f"{rss1:.0f} MiB, open fds {fd0} → {fd1}"
            )


def _wait_for_counters(client: kube.Kube) -> collections.Counter[str]:
    """The apiserver's request counters once it answers again after a restart."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return _harness.requests_by_verb(client)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _quietly(call: Any) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - the apiserver may be restarting: that drift is skipped
        return


def _repaired(client: kube.Kube, namespace: str) -> bool:
    service = client.get("v1", "Service", "app", namespace)
    deployment = client.get("apps/v1", "Deployment", "app", namespace) or {}
    return service is not None and (deployment.get("spec") or {}).get("replicas") == 0
