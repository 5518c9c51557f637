"""Bench 8 — the onboarding API: commits, lead time to Ready, concurrency, webhooks.

One operator with ``--api`` on a fresh control plane; a pushable platform
repository on the loopback Git server; a platform-admin service-account token.

- create: ``POST /v1/tenants`` without waiting (authenticate, authorize,
  validate, sync, commit, push), one after the other;
- lead time: ``POST /v1/tenants?wait=true``, request to Tenant Ready;
- concurrency: 10 creates at once, wall time, and that all 10 commits landed;
- webhook: a signed GitHub push delivery to the new artifact of the pushed
  GitRepository (polled every 10 ms).
"""

from __future__ import annotations

import base64
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

    commits_before = _commits(git)
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        statuses = list(
            pool.map(
                lambda i: _call(f"{base}/v1/tenants", token, {"name": f"par-{i:02d}", "spec": {}}),
                range(10),
            )
        )
    wall = time.monotonic() - began
    print(
        f"  10 concurrent creates: {wall:.2f}s wall, statuses {sorted(set(statuses))}, "
        f"{_commits(git) - commits_before} commits landed"
    )

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


def _commits(git: GitServer) -> int:
    out = subprocess.run(
        ["git", "-C", str(git.root / "platform.git"), "rev-list", "--count", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip())
