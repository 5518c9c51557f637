"""Bench — hostile tenants next to a quiet one: refusals, the operator's memory, the neighbour.

Four hostile tenants push, again and again, a repository of a few KB whose
tree expands to 4 GiB (one 1 MiB blob under 4,096 paths), a kustomization that
copies ``/etc/passwd``, one that climbs to the operator's kubeconfig, and one
whose base is ``http://127.0.0.1:<apiserver port>``. Printed: each refusal's
reason and message, the operator's peak RSS, the neighbour's push→applied
(p50/p99) alone and while the attacks run, and what one sandboxed build costs
against the same build unconfined.
"""

from __future__ import annotations

import pathlib
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from landlord import api, kube
from landlord.api import conditions
from landlord.cluster import binaries
from landlord.demo import GitServer
from landlord.gitops import sandbox
from landlord.settings import load
from landlord.sync import build
from tests.bench import _harness
from tests.bench.bench_push import _push_and_wait

SAMPLES = 20
BUILD_ROUNDS = 20
BLOB = b"\0" * (1 << 20)
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loot\ndata:\n  a: b\n"


def _attacks(kubeconfig: pathlib.Path, apiserver: str) -> dict[str, Any]:
    climb = "../" * 12 + str(kubeconfig).lstrip("/")
    return {
        "expand-4gib": [("100644", f"deploy/d{i // 64}/f{i}.bin", BLOB) for i in range(4096)],
        "etc-passwd": {
            "deploy/cm.yaml": CM,
            "deploy/kustomization.yaml": "resources: [cm.yaml]\nconfigMapGenerator:\n"
            "- name: loot\n  files: [/etc/passwd]\n",
        },
        "kubeconfig": {
            "deploy/cm.yaml": CM,
            "deploy/kustomization.yaml": "resources: [cm.yaml]\nsecretGenerator:\n"
            f"- name: loot\n  files: [kubeconfig={climb}]\n",
        },
        "apiserver-url": {
            "deploy/cm.yaml": CM,
            "deploy/kustomization.yaml": f"resources:\n- cm.yaml\n- {apiserver}/version\n",
        },
    }


def _push(git: GitServer, name: str, attack: Any, round_: int) -> None:
    if isinstance(attack, list):
        git.commit_tree(name, [*attack, ("100644", "round", str(round_).encode())])
    else:
        git.commit(name, {**attack, "round": str(round_)}, message=f"attack {round_}")


def _refusal(client: kube.Kube, name: str) -> str:
    """The Ready condition of the attacker's source or sync, whichever failed."""
    for kind in ("GitRepository", "Kustomization"):
        body = client.get(api.API_VERSION, kind, name, name) or {}
        ready = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready")
        if ready and ready.get("status") == "False":
            return f"{kind} {ready.get('reason')}: {str(ready.get('message'))[:110]}"
    return "not refused (yet)"


def _neighbour(client: kube.Kube, git: GitServer, version: int) -> tuple[list[float], int]:
    samples = []
    for _ in range(SAMPLES):
        version += 1
        samples.append(_push_and_wait(client, git, "n000", version, webhook=True))
    return samples, version


def _build_cost() -> tuple[float, float]:
    """Milliseconds of one small kustomize build: unconfined, and in the sandbox."""
    config = load()
    kustomize = binaries.find(
        "kustomize", cache_dir=config.cluster.cache_dir, assets_dir=config.cluster.assets_dir
    )
    assert kustomize is not None
    with tempfile.TemporaryDirectory(prefix="landlord-bench-build-") as tmp:
        root = Path(tmp)
        (root / "app").mkdir()
        (root / "app" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
        (root / "app" / "cm.yaml").write_text(CM)
        figures = []
        bare = sandbox.Sandbox(mode="unconfined", bwrap=Path("/nonexistent"))
        for box in (bare, sandbox.Sandbox()):
            build.build(root, "app", kustomize=kustomize, sandbox=box)  # warm the page cache
            began = time.monotonic()
            for _ in range(BUILD_ROUNDS):
                build.build(root, "app", kustomize=kustomize, sandbox=box)
            figures.append((time.monotonic() - began) / BUILD_ROUNDS * 1000)
    return figures[0], figures[1]


def run() -> None:
    unconfined, confined = _build_cost()
    print(
        f"  one kustomize build: {unconfined:.1f} ms unconfined, {confined:.1f} ms in the "
        f"sandbox (+{confined - unconfined:.1f} ms), mean of {BUILD_ROUNDS}"
    )
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-security-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _harness.gitops_operator(plane, Path(tmp)) as operator,
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            apiserver = client.api_client.configuration.host.replace("https://", "http://")
            attacks = _attacks(plane.kubeconfig, apiserver)
            names = ["n000", *attacks]
            _harness.four_object_tenants(client, git, names, source_interval="2s")
            _harness.wait_ready(client, ["n000"], timeout=120)
            time.sleep(2)
            quiet, version = _neighbour(client, git, 1)
            stop = threading.Event()

            def attack() -> None:
                round_ = 0
                while not stop.is_set():
                    round_ += 1
                    for name, body in attacks.items():
                        _push(git, name, body, round_)
                        _harness.stamp(client, "GitRepository", name, name)
                    stop.wait(1.0)

            attacker = threading.Thread(target=attack, daemon=True)
            attacker.start()
            time.sleep(10)  # every attack refused at least once before measuring
            loud, _ = _neighbour(client, git, version)
            stop.set()
            attacker.join()
            for name in attacks:
                print(f"  {name:>14}: {_refusal(client, name)}")
            print(f"  neighbour push→applied, quiet:        {_harness.summary(quiet)}")
            print(f"  neighbour push→applied, under attack: {_harness.summary(loud)}")
            ratio = _harness.percentile(loud, 99) / _harness.percentile(quiet, 99)
            print(f"  p99 under attack / quiet p99: {ratio:.2f}× (target ≤ 2×)")
            print(
                f"  operator peak RSS: {_harness.peak_rss_mib(operator.pid):.0f} MiB "
                "(target < 300 MiB)"
            )
        finally:
            git.stop()
