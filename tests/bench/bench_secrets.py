"""Bench — encrypted Secrets and alerts: what SOPS and notifications cost a sync.

Two groups of tenants (LANDLORD_BENCH_SECRETS_TENANTS each, default 10) sync the
same ten Secrets: one group's are committed SOPS-encrypted (each tenant its own
age key), the other's in plaintext. Figures: time from creation to Ready for
each group (p50/p99/max), the CPU sops and its sandbox took per encrypted file,
the operator's CPU and peak RSS. Then every encrypted tenant gets a generic
Provider (a recording server on loopback) and an Alert, and pushes a broken
revision: figures are the time from the push to the failure's alert arriving
(p50/p99/max) and how many alerts came (target: one per tenant).
Knobs: LANDLORD_BENCH_SECRETS_TENANTS (10), LANDLORD_BENCH_SECRETS_FILES (10).
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from landlord import api, errors, settings
from landlord.cluster import binaries
from landlord.demo import GitServer
from landlord.gitops import sandbox as sandbox_mod
from landlord.gitops import sops as sops_mod
from landlord.tenants import sopskeys
from tests.bench import _harness
from tests.fixtures.notify import Recorder
from tests.fixtures.sops import AgeKey, SopsTools

TENANTS = int(os.environ.get("LANDLORD_BENCH_SECRETS_TENANTS", "10"))
FILES = int(os.environ.get("LANDLORD_BENCH_SECRETS_FILES", "10"))


def _secret(index: int) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"s{index:02d}"},
            "type": "Opaque",
            "stringData": {"password": f"value-{index:02d}-of-the-bench", "user": "bench"},
        }
    )


def _store_keys(client: Any, keys: dict[str, AgeKey]) -> None:
    pending = set(keys)
    began = time.monotonic()
    while pending and time.monotonic() - began < 120:
        for name in sorted(pending):
            if client.get("v1", "Namespace", name) is None:
                continue
            client.apply(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": sopskeys.SECRET, "namespace": name},
                    "data": {
                        sopskeys.ENTRY: base64.b64encode(keys[name].private.encode()).decode()
                    },
                },
                field_manager="bench",
            )
            with contextlib.suppress(errors.ApiError):  # not made yet: it reads the key first
                _harness.stamp(client, "Kustomization", name, name)
            pending.discard(name)
        time.sleep(0.2)


def _decrypt_cost(tools: SopsTools, key: AgeKey, runs: int = 50) -> tuple[float, float]:
    """Wall seconds of one ``Sops.decrypt`` in the sandbox, and the CPU it took (children)."""
    runner = sops_mod.Sops(tools.sops, sandbox_mod.from_settings(settings.load().sandbox))
    encrypted = tools.encrypt(_secret(0), key).encode()
    keys = sops_mod.Keys("bench", key.private)
    before = os.times()
    began = time.monotonic()
    for _ in range(runs):
        runner.decrypt(encrypted, "yaml", keys, shown="bench")
    wall = (time.monotonic() - began) / runs
    after = os.times()
    cpu = (
        after.children_user + after.children_system - before.children_user - before.children_system
    ) / runs
    return wall, cpu


def run() -> None:
    cache = settings.load().cluster.cache_dir
    found = binaries.resolve(["sops", "age-keygen"], cache_dir=cache)
    tools = SopsTools(found["sops"], found["age-keygen"])
    recorder = Recorder()
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-secrets-") as tmp,
        _harness.landlord_cluster() as (plane, client),
        _harness.gitops_operator(plane, Path(tmp)) as operator,
    ):
        git = GitServer(Path(tmp) / "git").start()
        try:
            plain = [f"plain{index:02d}" for index in range(TENANTS)]
            sealed = [f"sealed{index:02d}" for index in range(TENANTS)]
            keys: dict[str, AgeKey] = {name: tools.key() for name in sealed}
            specs: dict[str, dict[str, Any]] = {}
            for name in plain + sealed:  # repositories first: the Tenants then all at once
                git.create(name)
                files = {
                    f"deploy/s{i:02d}.yaml": (
                        tools.encrypt(_secret(i), keys[name]) if name in keys else _secret(i)
                    )
                    for i in range(FILES)
                }
                git.commit(name, files)
                spec: dict[str, Any] = {
                    "source": {"url": git.url(name), "interval": "1h"},
                    "sync": {"path": "./deploy", "interval": "1h"},
                }
                if name in keys:
                    spec["sync"]["decryption"] = {
                        "provider": "sops",
                        "secretRef": {"name": sopskeys.SECRET},
                    }
                specs[name] = spec
            began = time.monotonic()
            for name, spec in specs.items():
                client.create(
                    {
                        "apiVersion": api.API_VERSION,
                        "kind": "Tenant",
                        "metadata": {"name": name},
                        "spec": spec,
                    }
                )
            cpu = _harness.cpu_seconds(operator.pid)
            children = _harness.children_cpu_seconds(operator.pid)
            # The keys go in as soon as each namespace exists (as `landlord sops keygen`
            # would), on a thread of their own while readiness is timed.
            keys_in = threading.Thread(target=_store_keys, args=(client, keys), daemon=True)
            keys_in.start()
            ready = _harness.wait_ready(client, plain + sealed, timeout=600)
            keys_in.join(timeout=5)
            spent = _harness.cpu_seconds(operator.pid) - cpu
            tool_cpu = _harness.children_cpu_seconds(operator.pid) - children
            wall, cpu_each = _decrypt_cost(tools, next(iter(keys.values())))
            for label, names in (("plaintext", plain), ("SOPS-encrypted", sealed)):
                took = [ready[n] - began for n in names if n in ready]
                print(
                    f"  {len(took)}/{len(names)} {label} tenants ({FILES} Secrets each) Ready: "
                    f"{_harness.summary(took)}"
                )
            print(
                f"  operator CPU {spent:.1f}s, its tools {tool_cpu:.1f}s; operator peak RSS "
                f"{_harness.peak_rss_mib(operator.pid):.0f} MiB; one sops decrypt in the "
                f"sandbox (50 runs here): {wall * 1000:.0f} ms wall, {cpu_each * 1000:.0f} ms CPU"
            )

            for name in sealed:
                for kind, spec in (
                    ("Provider", {"type": "generic", "address": recorder.url(f"/{name}")}),
                    (
                        "Alert",
                        {
                            "providerRef": {"name": "bench"},
                            "eventSources": [{"kind": "Kustomization", "name": "*"}],
                            "eventSeverity": "error",
                        },
                    ),
                ):
                    client.apply(
                        {
                            "apiVersion": api.API_VERSION,
                            "kind": kind,
                            "metadata": {"name": "bench", "namespace": name},
                            "spec": spec,
                        },
                        field_manager="bench",
                    )
            time.sleep(3)  # the Providers and Alerts checked
            pushed: dict[str, float] = {}
            for name in sealed:
                git.commit(name, {"deploy/broken.yaml": "a: [\n"})
                _harness.stamp(client, "GitRepository", name, name)
                pushed[name] = time.monotonic()
            arrived: dict[str, float] = {}
            deadline = time.monotonic() + 120
            while len(arrived) < len(sealed) and time.monotonic() < deadline:
                for name in sealed:
                    if name not in arrived and recorder.at(f"/{name}"):
                        arrived[name] = time.monotonic()
                time.sleep(0.05)
            time.sleep(2)
            sent = sum(len(recorder.at(f"/{name}")) for name in sealed)
            took = [arrived[n] - pushed[n] for n in arrived]
            print(
                f"  alerts: {len(arrived)}/{len(sealed)} failures alerted, push → alert "
                f"{_harness.summary(took)}; {sent} alerts sent in all (target {len(sealed)})"
            )
        finally:
            git.stop()
            recorder.stop()
