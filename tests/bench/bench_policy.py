"""Policy decisions on the hot path: 1,000 tenants, 10,000 policy lines.

Prints the time to compile the policy and the latency of one decision:
through the index without the decision cache (every request new), the first
request of a subject (its roles resolved), with the cache (the steady state of
a reconcile loop), through the Gate (metric + span event included) — and, for
comparison, Casbin's own enforcer on a sample. Pure CPU: no control plane.
"""

from __future__ import annotations

import random
import time

from landlord import telemetry
from landlord.policy import Gate
from landlord.policy.engine import DEFAULTS, Policy, Snapshot
from tests.bench._harness import percentile

TENANTS = 1_000
LINES = 10_000
REQUESTS = 20_000
CASBIN_SAMPLE = 40


def _policy_text(rng: random.Random) -> str:
    lines = (DEFAULTS / "policy.csv").read_text().splitlines()
    lines += [f"g, user:u{i}, group:team-{i % 50}" for i in range(500)]
    lines += [f"g, group:team-{i}, role:platform-admin" for i in range(3)]
    count = sum(1 for line in lines if line.startswith(("p,", "g,")))
    i = 0
    while count < LINES:
        t = f"t{i % TENANTS}"
        other = f"t{rng.randrange(TENANTS)}"
        kind = i // TENANTS % 6
        if kind == 0:
            lines.append(f"p, tenant:{t}, depend, {other}/db-{rng.randrange(5)}, allow")
        elif kind == 1:
            lines.append(f"p, tenant:{t}, source, https://git.example.com/{t}/**, allow")
        elif kind == 2:
            lines.append(f"p, tenant:{t}, source, {other}/charts, allow")
        elif kind == 3:
            lines.append(f"p, tenant:{t}, target, cluster-{rng.randrange(10)}, allow")
        elif kind == 4:
            lines.append(f"p, tenant:{t}, apply, networking.k8s.io/Ingress, deny")
        else:
            lines.append(f"p, tenant:{t}, depend, {other}/*, allow")
        i += 1
        count += 1
    return "\n".join(lines) + "\n"


def _requests(rng: random.Random, n: int) -> list[tuple[list[str], str, str]]:
    out: list[tuple[list[str], str, str]] = []
    for _ in range(n):
        t = f"t{rng.randrange(TENANTS)}"
        other = f"t{rng.randrange(TENANTS)}"
        point = rng.randrange(6)
        if point == 0:
            out.append(([f"tenant:{t}"], "depend", f"{other}/db-{rng.randrange(5)}"))
        elif point == 1:
            out.append(([f"tenant:{t}"], "source", f"https://git.example.com/{other}/app.git"))
        elif point == 2:
            out.append(([f"tenant:{t}"], "source", f"{other}/charts"))
        elif point == 3:
            kind = rng.choice(["apps/Deployment", "core/ConfigMap", "networking.k8s.io/Ingress"])
            out.append(([f"tenant:{t}"], "apply", kind))
        elif point == 4:
            out.append(([f"tenant:{t}"], "target", f"cluster-{rng.randrange(10)}"))
        else:
            user = rng.randrange(600)
            out.append(([f"user:u{user}", f"group:team-{user % 60}"], "api:create", f"tenants/{t}"))
    return out


def _timed(calls: list[tuple[list[str], str, str]], decide: object) -> list[float]:
    assert callable(decide)
    times = []
    for subjects, action, obj in calls:
        began = time.perf_counter_ns()
        decide(subjects, action, obj)
        times.append((time.perf_counter_ns() - began) / 1000)
    return times


def _row(name: str, micros: list[float]) -> None:
    print(
        f"  {name:<38} p50 {percentile(micros, 50):9.1f} µs   p99 {percentile(micros, 99):9.1f} µs"
        f"   max {max(micros):9.1f} µs   (n={len(micros)})"
    )


def run() -> None:
    rng = random.Random(7)  # noqa: S311 - reproducible benchmark data
    text = _policy_text(rng)
    began = time.perf_counter()
    policy = Policy(Snapshot((DEFAULTS / "model.conf").read_text(), text, "bench"))
    compile_seconds = time.perf_counter() - began
    requests = _requests(rng, REQUESTS)
    print(
        f"  policy: {policy.lines} lines, {TENANTS} tenants; compiled in {compile_seconds:.2f}s; "
        f"indexed={policy.indexed}"
    )

    first = _timed(requests, lambda s, a, o: policy.roles(s[0]) and policy.decide(s, a, o))
    subjects_seen = len({tuple(s) for s, _, _ in requests})
    allowed = sum(policy.decide(s, a, o).allowed for s, a, o in requests)
    uncached = _timed(requests, lambda s, a, o: policy._decide_indexed(tuple(s), a, o))
    cached = _timed(requests, policy.decide)
    gate = Gate(policy, metrics=telemetry.Metrics())
    gated = _timed(requests, lambda s, a, o: gate.check(a.partition(":")[0], s, o, action=a))
    sample = requests[:CASBIN_SAMPLE]
    began = time.perf_counter()
    policy.reference(*[x if isinstance(x, str) else x[0] for x in sample[0]])
    print(f"  Casbin enforcer built in {time.perf_counter() - began:.2f}s (first request included)")
    casbin = _timed(sample, lambda s, a, o: policy.reference(s[0], a, o))

    print(f"  requests: {len(requests)} ({allowed} allowed), {subjects_seen} distinct subjects")
    _row("first pass (roles resolved, cache filling)", first)
    _row("index, no decision cache", uncached)
    _row("index + decision cache", cached)
    _row("Gate.check (metric + span event)", gated)
    _row(f"Casbin enforcer, no index ({CASBIN_SAMPLE} requests)", casbin)
    print(
        f"  index vs Casbin at p50: {percentile(casbin, 50) / percentile(uncached, 50):,.0f}x "
        "faster (target: p99 < 100 µs)"
    )
