"""Bench — image automation's loop: a tag pushed to the registry → the Deployment applied with it.

Each of a few tenants syncs a repository holding a Deployment whose image is
marked for an ImagePolicy, and the ImageRepository, ImagePolicy and
ImageUpdateAutomation that keep it current (their intervals 1 s: the loop's own
cost, not an interval's wait, is what shows). The tenant's source polls only
every hour: Landlord fetches the commit it pushed at once. A
sample pushes a new tag of one tenant's image to the loopback registry (TLS,
basic auth) and times, polling every 20 ms: the ImagePolicy's ``latestImage``
moving, the automation's commit landing in the tenant's repository, and the
Deployment's image changing in the apiserver.
"""

from __future__ import annotations

import base64
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from landlord import api, errors, kube, settings
from landlord.cluster import binaries
from landlord.demo import GitServer, Registry
from tests.bench import _harness

TENANTS = int(os.environ.get("LANDLORD_BENCH_IMAGES_TENANTS", "5"))
SAMPLES = int(os.environ.get("LANDLORD_BENCH_IMAGES_SAMPLES", "10"))
USER, PASSWORD = "bench", "bench-registry-password-7c41"


def _repository_files(registry: Registry, name: str) -> dict[str, str]:
    image = f"{registry.host}/{name}/app"
    deployment = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 0
  selector:
    matchLabels: {{app: app}}
  template:
    metadata:
      labels: {{app: app}}
    spec:
      containers:
        - name: app
          image: {image}:1.0.0 # {{"$imagepolicy": "{name}:app"}}
"""
    automation: list[dict[str, Any]] = [
        {
            "apiVersion": api.API_VERSION,
            "kind": "ImageRepository",
            "metadata": {"name": "app"},
            "spec": {
                "image": image,
                "interval": "1s",
                "secretRef": {"name": "registry-auth"},
                "certSecretRef": {"name": "registry-ca"},
            },
        },
        {
            "apiVersion": api.API_VERSION,
            "kind": "ImagePolicy",
            "metadata": {"name": "app"},
            "spec": {
                "imageRepositoryRef": {"name": "app"},
                "policy": {"semver": {"range": ">=1.0.0"}},
            },
        },
        {
            "apiVersion": api.API_VERSION,
            "kind": "ImageUpdateAutomation",
            "metadata": {"name": "app"},
            "spec": {
                "interval": "1s",
                "sourceRef": {"kind": "GitRepository", "name": name},
                "git": {
                    "checkout": {"ref": {"branch": "main"}},
                    "commit": {"author": {"name": "bench", "email": "bench@example.invalid"}},
                    "push": {"branch": "main"},
                },
                "update": {"path": "./deploy", "strategy": "Setters"},
            },
        },
    ]
    return {"deploy/app.yaml": deployment, "deploy/images.yaml": _harness.dump(automation)}


def _secrets(client: kube.Kube, registry: Registry, namespace: str) -> None:
    def encoded(value: bytes) -> str:
        return base64.b64encode(value).decode()

    for name, data in (
        ("registry-auth", {"username": USER.encode(), "password": PASSWORD.encode()}),
        ("registry-ca", {"ca.crt": registry.ca_pem}),
    ):
        client.apply(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": namespace},
                "data": {key: encoded(value) for key, value in data.items()},
            },
            field_manager="landlord-bench",
        )


def _image(client: kube.Kube, namespace: str) -> str:
    deployment = client.get("apps/v1", "Deployment", "app", namespace) or {}
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers")
    return str((containers or [{}])[0].get("image") or "")


def _head(git: GitServer, name: str) -> str:
    bare = git.root / f"{name}.git"
    return subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", "refs/heads/main"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def _latest(client: kube.Kube, namespace: str) -> str:
    policy = client.get(api.API_VERSION, "ImagePolicy", "app", namespace) or {}
    return str((policy.get("status") or {}).get("latestImage") or "")


def _sample(
    client: kube.Kube, registry: Registry, git: GitServer, name: str, version: str
) -> tuple[float, float, float]:
    """Seconds from the push to: the policy's pick, the commit, the applied Deployment."""
    wanted = f"{registry.host}/{name}/app:{version}"
    head = _head(git, name)
    began = time.monotonic()
    registry.push_image(f"{name}/app", version)
    picked = committed = applied = 0.0
    while time.monotonic() - began < 120 and not applied:
        now = time.monotonic() - began
        if not picked and _latest(client, name) == wanted:
            picked = now
        if not committed and _head(git, name) != head:
            committed = now
        if _image(client, name) == wanted:
            applied = now
        time.sleep(0.02)
    return picked or float("nan"), committed or float("nan"), applied or float("nan")


def run() -> None:
    rng = random.Random(23)  # noqa: S311 - reproducible benchmark data
    config = settings.load()
    found = binaries.find("registry", cache_dir=config.cluster.cache_dir)
    assert found is not None, "the registry is built by `landlord cluster build`"
    with tempfile.TemporaryDirectory(prefix="landlord-bench-images-") as tmp:
        registry = Registry(Path(tmp) / "registry", binary=found, users={USER: PASSWORD}).start()
        git = GitServer(Path(tmp) / "git").start()
        try:
            with (
                _harness.landlord_cluster() as (plane, client),
                _harness.gitops_operator(plane, Path(tmp)),
            ):
                names = [f"img{index:02d}" for index in range(TENANTS)]
                for name in names:
                    registry.push_image(f"{name}/app", "1.0.0")
                    git.create(name, pushable=True)
                    git.commit(name, _repository_files(registry, name))
                    _harness.create_tenant(
                        client, name, git.url(name), source_interval="1h", sync_interval="1h"
                    )
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    try:
                        for name in names:
                            _secrets(client, registry, name)
                        break
                    except errors.ApiError:
                        time.sleep(0.5)  # the tenants' namespaces are still being made
                ready = _harness.wait_ready(client, names, timeout=300)
                print(
                    f"  {len(ready)}/{TENANTS} tenants Ready; scans and automations every 1 s, "
                    "sources every 1 h"
                )
                versions = {name: 0 for name in names}
                picks, commits, applies = [], [], []
                for _ in range(SAMPLES):
                    name = rng.choice(names)
                    versions[name] += 1
                    picked, committed, applied = _sample(
                        client, registry, git, name, f"1.{versions[name]}.0"
                    )
                    picks.append(picked)
                    commits.append(committed)
                    applies.append(applied)
                print(f"  registry push → ImagePolicy latestImage: {_harness.summary(picks)}")
                print(f"  registry push → commit in the tenant's repo: {_harness.summary(commits)}")
                print(f"  registry push → Deployment image applied:  {_harness.summary(applies)}")
        finally:
            git.stop()
            registry.stop()
