"""``landlord policy diff --live``: 1,000 tenants' recorded requests, 10,000 policy lines.

A real control plane holds the operator's record as the operator publishes it
(``requests.dump`` into the labelled ConfigMap): each tenant's Git source, the
kinds of its last revision, cross-tenant ``depend`` edges and its owners'
onboarding API requests. ``--from`` is a 10,000-line policy, ``--to`` the same
with some allow lines removed and a deny line added. Prints the CLI's wall time
and peak memory (a fresh process each run, as CI runs it), the size of the
record, and what recording costs the operator per decision.
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from landlord import kube, telemetry
from landlord.api import labels
from landlord.policy import Gate
from landlord.policy import requests as recorded
from landlord.policy.engine import DEFAULTS, Policy
from landlord.settings import PLATFORM_NAMESPACE
from tests.bench._harness import landlord_cluster, percentile, summary
from tests.bench.bench_policy import _policy_text

TENANTS = int(os.environ.get("LANDLORD_BENCH_POLICYDIFF_TENANTS", "1000"))
RUNS = int(os.environ.get("LANDLORD_BENCH_POLICYDIFF_RUNS", "5"))
KINDS = [
    "core/ConfigMap",
    "core/Secret",
    "core/Service",
    "apps/Deployment",
    "networking.k8s.io/Ingress",
    "policy/PodDisruptionBudget",
    "autoscaling/HorizontalPodAutoscaler",
]


def _edges(policy_text: str) -> dict[str, list[str]]:
    """The exact ``depend`` objects each tenant's policy lines allow: its real edges."""
    edges: dict[str, list[str]] = {}
    for line in policy_text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 5 and fields[0] == "p" and fields[2] == "depend" and "*" not in fields[3]:
            edges.setdefault(fields[1].removeprefix("tenant:"), []).append(fields[3])
    return edges


def _record(rng: random.Random, policy_text: str) -> list[recorded.Seen]:
    now = time.time()
    seen: list[recorded.Seen] = []
    edges = _edges(policy_text)

    def add(
        requester: recorded.Requester, subjects: tuple[str, ...], action: str, obj: str
    ) -> None:
        request = recorded.Request(subjects, action, obj, action.partition(":")[0], requester)
        seen.append(recorded.Seen(request, now - rng.uniform(0, 3600), "allow", "policy.csv:1"))

    for i in range(TENANTS):
        t = f"t{i}"
        subject = (f"tenant:{t}",)
        git = recorded.Requester("GitRepository", t, t)
        add(git, subject, "source", f"https://git.example.com/{t}/app")
        ks = recorded.Requester("Kustomization", t, t)
        for kind in rng.sample(KINDS, rng.randint(3, 6)):
            add(ks, subject, "apply", kind)
        for other in edges.get(t, [])[:2]:
            add(ks, subject, "depend", other)
        if i % 10 == 0:
            add(ks, subject, "target", f"clusters/edge-{i % 7}")
        owner = recorded.Requester("Tenant", "", t)
        for who in (f"group:team-{i % 60}", f"user:u{i}"):
            for action in ("api:get", "api:update", "api:delete", "api:reconcile"):
                add(owner, (who, "role:tenant-owner"), action, f"tenants/{t}")
    return seen


def _folders(root: Path, rng: random.Random, text: str) -> tuple[Path, Path]:
    """``text``, and the same without 100 of its exact ``depend`` lines plus one target line."""
    lines = text.splitlines()
    depend = [
        i
        for i, line in enumerate(lines)
        if line.startswith("p,") and ", depend, " in line and "*" not in line
    ]
    removed = set(rng.sample(depend, 100))
    after = [line for i, line in enumerate(lines) if i not in removed]
    after.append("p, role:tenant, target, clusters/edge-3, allow")
    model = (DEFAULTS / "model.conf").read_text()
    folders = []
    for name, body in (("before", text), ("after", "\n".join(after) + "\n")):
        folder = root / name
        folder.mkdir()
        (folder / "model.conf").write_text(model)
        (folder / "policy.csv").write_text(body)
        folders.append(folder)
    return folders[0], folders[1]


def _publish(client: kube.Kube, document: bytes) -> None:
    client.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "landlord-policy-requests",
                "namespace": PLATFORM_NAMESPACE,
                "labels": {labels.POLICY_REQUESTS: "true"},
            },
            "binaryData": {labels.POLICY_REQUESTS_KEY: base64.b64encode(document).decode()},
        },
        field_manager="landlord",
    )


def _recording_cost(seen: list[recorded.Seen]) -> None:
    policy = Policy.from_directory(DEFAULTS)
    calls = [
        (s.request.point, list(s.request.subjects), s.request.object, s.request.action)
        for s in seen
    ]
    for name, gate in (
        ("gate.check, not recording", Gate(policy, metrics=telemetry.Metrics())),
        (
            "gate.check, recording",
            Gate(policy, metrics=telemetry.Metrics(), recorder=recorded.Recorder()),
        ),
    ):
        for point, subjects, obj, action in calls:  # warm the decision cache
            gate.check(point, subjects, obj, action=action)
        micros = []
        for point, subjects, obj, action in calls:
            began = time.perf_counter_ns()
            gate.check(point, subjects, obj, action=action)
            micros.append((time.perf_counter_ns() - began) / 1000)
        p50, p99 = percentile(micros, 50), percentile(micros, 99)
        print(f"  {name:<28} p50 {p50:6.1f} µs  p99 {p99:6.1f} µs")


def run() -> None:
    rng = random.Random(11)  # noqa: S311 - reproducible benchmark data
    policy_text = _policy_text(rng)
    seen = _record(rng, policy_text)
    began = time.perf_counter()
    document = recorded.dump(seen)
    dumped = time.perf_counter() - began
    began = time.perf_counter()
    loaded = list(recorded.load(document))
    read = time.perf_counter() - began
    print(
        f"  record: {TENANTS} tenants, {len(seen)} requests; {len(document) / 1024:.0f} KiB "
        f"compressed; dump {dumped * 1000:.0f} ms, load {read * 1000:.0f} ms"
    )
    assert len(loaded) == len(seen)
    _recording_cost(seen)
    with (
        tempfile.TemporaryDirectory(prefix="landlord-policydiff-") as tmp,
        landlord_cluster() as (
            plane,
            client,
        ),
    ):
        before, after = _folders(Path(tmp), rng, policy_text)
        _publish(client, document)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LANDLORD_")},
            "KUBECONFIG": str(plane.kubeconfig),
        }
        command = [
            sys.executable, "-m", "landlord", "policy", "diff",
            "--from", str(before), "--to", str(after), "--live",
            "--namespace", PLATFORM_NAMESPACE, "-o", "json",
        ]  # fmt: skip
        walls, peaks = [], []
        out = Path(tmp) / "report.json"
        for _ in range(RUNS):
            began = time.perf_counter()
            with out.open("w") as sink:
                process = subprocess.Popen(command, stdout=sink, stderr=subprocess.PIPE, env=env)
                _, status, usage = os.wait4(process.pid, 0)
            walls.append(time.perf_counter() - began)
            peaks.append(usage.ru_maxrss / 1024)
            code = os.waitstatus_to_exitcode(status)
            if code not in (0, 1, 2):
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise SystemExit(f"policy diff failed ({code}): {stderr}")
            if process.stderr:
                process.stderr.close()
            process.returncode = code
        report = json.loads(out.read_text())
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import landlord.cli.main"], env=env, check=True)
        startup = time.perf_counter() - began
        print(
            f"  policies: {report['from']['lines']} → {report['to']['lines']} lines; "
            f"replayed {report['requests']} requests: {len(report['newlyDenied'])} newly denied, "
            f"{len(report['newlyAllowed'])} newly allowed (exit {code})"
        )
        print(f"  policy diff --live wall     {summary(walls)}")
        print(
            f"  of which CLI start-up       {startup:.3f}s (python -c 'import landlord.cli.main')"
        )
        print(f"  peak RSS of the CLI         {max(peaks):.0f} MiB")
