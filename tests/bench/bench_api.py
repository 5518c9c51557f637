"""Bench 8 — the onboarding API: commits, lead time to Ready, concurrency, webhooks.

One operator with ``--api`` on a fresh control plane; a pushable platform
repository on the loopback Git server; a platform-admin service-account token.

- create: ``POST /v1/tenants`` without waiting (authenticate, authorize,
  validate, sync, commit, push), one after the other;
- lead time: ``POST /v1/tenants?wait=true``, request to Tenant Ready;
- concurrency: 10, 100 and 1,000 creates at once (the last with 200 repeated
  names): wall time, per-request p50/p99, and that nothing was lost or duplicated —
  every 201 names a commit that landed, every 409 a name created once;
- webhook: a signed GitHub push delivery to the new artifact of the pushed
  GitRepository (polled every 10 ms).
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import hashlib
import hmac
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from landlord import api, kube
from landlord.cluster import ports
from landlord.demo import GitServer
from landlord.installer import bootstrap
from landlord.settings import API_AUDIENCE, PLATFORM_NAMESPACE
from tests.bench import _harness

REPO_POLICIES = Path(__file__).parents[2] / "policies"
SEQUENTIAL = 20
WAITED = 10
WEBHOOKS = 20
# (requests at once, distinct names): the surplus are repeats, each must get a 409.
CONCURRENT = [(10, 10), (100, 100), (1000, 800)]
TOKEN = "bench-webhook-token"


def _call(url: str, token: str | None, body: Any, headers: dict[str, str] | None = None) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, method="POST", data=data)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)
    except urllib.error.URLError:
        return 0  # not listening (yet)


def _revision(client: kube.Kube, namespace: str) -> str:
    body = client.get(api.API_VERSION, "GitRepository", "app", namespace) or {}
    return str(((body.get("status") or {}).get("artifact") or {}).get("revision") or "")


def run() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="landlord-bench-api-") as tmp,
        _harness.landlord_cluster() as (plane, client),
    ):
        work = Path(tmp)
        policies = work / "policies"
        shutil.copytree(REPO_POLICIES, policies, ignore=shutil.ignore_patterns("tests"))
        with (policies / "policy.csv").open("a") as policy:
            policy.write("\ng, group:system:serviceaccounts:bench, role:platform-admin\n")
        git = GitServer(work / "git").start()
        git.create("platform", pushable=True)
        git.commit("platform", {"tenants/README.md": "bench\n"})
        bootstrap.bootstrap(
            client,
            url=git.url("platform"),
            branch="main",
            path="tenants",
            platform_namespace=PLATFORM_NAMESPACE,
        )
        client.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}},
            field_manager="bench",
        )
        client.apply(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "admin", "namespace": "bench"},
            },
            field_manager="bench",
        )
        token = client.service_account_token(
            "bench", "admin", seconds=7200, audiences=[API_AUDIENCE]
        )
        bind = f"127.0.0.1:{ports.free_ports(1)[0]}"
        base = f"http://{bind}"
        env = {
            "LANDLORD_API__BIND": bind,
            "LANDLORD_API__WORKDIR": str(work / "api"),
            "LANDLORD_POLICY__PATH": str(policies),
        }
        try:
            with _harness.gitops_operator(plane, work, env, args=("run", "--api")):
                deadline = time.monotonic() + 60
                while _call(f"{base}/v1/tenants", token, {}) not in (201, 422, 403):
                    if time.monotonic() > deadline:
                        raise RuntimeError("the API did not come up")
                    time.sleep(0.2)
                _measure(client, git, base, token)
        finally:
            git.stop()


def _measure(client: kube.Kube, git: GitServer, base: str, token: str) -> None:
    created = []
    for index in range(SEQUENTIAL):
        began = time.monotonic()
        status = _call(f"{base}/v1/tenants", token, {"name": f"seq-{index:02d}", "spec": {}})
        created.append(time.monotonic() - began)
        assert status == 201, status
    print(f"  create (commit + push, no wait): {_harness.summary(created)}")

    waited = []
    for index in range(WAITED):
        began = time.monotonic()
        status = _call(
            f"{base}/v1/tenants?wait=true", token, {"name": f"wait-{index:02d}", "spec": {}}
        )
        waited.append(time.monotonic() - began)
        assert status == 201, status
    print(f"  create ?wait=true, request → Tenant Ready: {_harness.summary(waited)}")

    for count, distinct in CONCURRENT:
        _concurrent(git, base, token, count, distinct)

    client.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "hook",
                "namespace": PLATFORM_NAMESPACE,
                "labels": {"landlord.dev/receiver": "true"},
            },
            "data": {
                "token": base64.b64encode(TOKEN.encode()).decode(),
                "type": base64.b64encode(b"github").decode(),
                "resources": base64.b64encode(
                    b"- {kind: GitRepository, name: app, namespace: hooked}\n"
                ).decode(),
            },
        },
        field_manager="bench",
    )
    # Labelled as a tenant's namespace: the shipped policy lets tenants use their sources.
    client.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "hooked", "labels": {"landlord.dev/tenant": "hooked"}},
        },
        field_manager="bench",
    )
    git.create("hooked")
    git.commit("hooked", {"deploy/a.yaml": "kind: ConfigMap\n"})
    client.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": "hooked"},
            "spec": {"url": git.url("hooked"), "interval": "1h"},
        },
        field_manager="bench",
    )
    deadline = time.monotonic() + 60
    while not _revision(client, "hooked") and time.monotonic() < deadline:
        time.sleep(0.1)
    if not _revision(client, "hooked"):
        raise RuntimeError("the hooked GitRepository was never fetched")
    delivered = []
    for index in range(WEBHOOKS):
        sha = git.commit("hooked", {"deploy/a.yaml": f"kind: ConfigMap\n# {index}\n"})
        # Each push is its own delivery (id and body): a repeated one is a replay, ignored.
        payload = json.dumps(
            {"after": sha, "repository": {"clone_url": git.url("hooked")}}
        ).encode()
        signature = "sha256=" + hmac.new(TOKEN.encode(), payload, hashlib.sha256).hexdigest()
        began = time.monotonic()
        status = _call(
            f"{base}/v1/receivers/hook",
            None,
            payload,
            {
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": f"bench-{index}-{sha[:12]}",
                "X-Hub-Signature-256": signature,
            },
        )
        assert status == 200, status
        while sha not in _revision(client, "hooked") and time.monotonic() - began < 10:
            time.sleep(0.01)
        delivered.append(time.monotonic() - began)
    print(f"  signed push webhook → new artifact: {_harness.summary(delivered)}")


def _create(base: str, token: str, name: str) -> tuple[int, str | None, float]:
    """``POST /v1/tenants`` (no wait): status, the commit a 201 names, seconds."""
    request = urllib.request.Request(
        f"{base}/v1/tenants",
        method="POST",
        data=json.dumps({"name": name, "spec": {}}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            body = json.loads(response.read() or b"{}")
            return int(response.status), body.get("commit"), time.monotonic() - began
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code), None, time.monotonic() - began


def _concurrent(git: GitServer, base: str, token: str, count: int, distinct: int) -> None:
    """``count`` creates at once over ``distinct`` names: each name must land exactly once."""
    names = [f"c{count}-{index % distinct:04d}" for index in range(count)]
    before = _git(git, "rev-parse", "main").strip()
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        results = list(pool.map(lambda name: _create(base, token, name), names))
    wall = time.monotonic() - began
    statuses = collections.Counter(status for status, _, _ in results)
    landed = _git(git, "rev-list", f"{before}..main").split()
    tree = set(_git(git, "ls-tree", "--name-only", "main", "tenants/").split())
    created = collections.Counter(
        name for name, (s, _, _) in zip(names, results, strict=True) if s == 201
    )
    unbacked = [sha for s, sha, _ in results if s == 201 and sha not in landed]
    lost = [n for n in set(names) if created[n] == 0 or f"tenants/{n}.yaml" not in tree]
    duplicated = [n for n, c in created.items() if c > 1]
    conflicts = [n for n, (s, _, _) in zip(names, results, strict=True) if s == 409]
    unexplained = [n for n in conflicts if created[n] != 1]
    print(
        f"  {count} concurrent creates over {distinct} names: {wall:.2f}s wall "
        f"({count / wall:.0f} requests/s), each {_harness.summary([t for _, _, t in results])}, "
        f"first answer after {min(t for _, _, t in results):.2f}s"
    )
    print(
        f"    statuses {dict(sorted(statuses.items()))}; {len(landed)} commits landed; "
        f"lost {len(lost)}, duplicated {len(duplicated)}, 201 without its commit "
        f"{len(unbacked)}, 409 without a created name {len(unexplained)}"
    )


def _git(git: GitServer, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(git.root / "platform.git"), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
