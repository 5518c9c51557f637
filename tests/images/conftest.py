"""Image automation against a real registry, a real Git server and the operator.

The objects are built here, one helper per kind; a test names only what it changes.
"""

from __future__ import annotations

import subprocess
from typing import Any

from landlord import api, kube
from landlord.api import conditions
from landlord.demo import GitServer, Registry
from tests.helpers import eventually

AUTHOR = {"name": "Image Bot", "email": "bot@example.com"}


def image_repository(
    admin: kube.Kube,
    namespace: str,
    name: str,
    registry: Registry,
    repo: str,
    secrets: tuple[str, str],
    **spec: Any,
) -> None:
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "ImageRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "image": f"{registry.host}/{repo}",
                "interval": "1s",
                "secretRef": {"name": secrets[0]},
                "certSecretRef": {"name": secrets[1]},
                **spec,
            },
        }
    )


def image_policy(
    admin: kube.Kube,
    namespace: str,
    name: str,
    repository: str,
    policy: dict[str, Any],
    **spec: Any,
) -> None:
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "ImagePolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"imageRepositoryRef": {"name": repository}, "policy": policy, **spec},
        }
    )


def automation(admin: kube.Kube, namespace: str, name: str, source: str, **spec: Any) -> None:
    git = spec.pop("git", {})
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "ImageUpdateAutomation",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": source},
                "interval": "1s",
                "git": {"commit": {"author": AUTHOR}, **git},
                "update": {"path": "./deploy", "strategy": "Setters"},
                **spec,
            },
        }
    )


def git_repository(admin: kube.Kube, namespace: str, name: str, url: str) -> None:
    admin.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"url": url, "interval": "1m"},
        }
    )


def ready(admin: kube.Kube, kind: str, namespace: str, name: str, timeout: float = 45) -> Any:
    """The object once Ready=True at its generation."""

    def check() -> Any:
        body = admin.get(api.API_VERSION, kind, name, namespace)
        return body if body and conditions.ready_at_generation(body) else None

    return eventually(check, timeout=timeout, what=f"{kind} {namespace}/{name} to be Ready")


def reported(
    admin: kube.Kube, kind: str, namespace: str, name: str, reason: str, timeout: float = 45
) -> Any:
    """The object once its Ready condition says ``reason``."""

    def check() -> Any:
        body = admin.get(api.API_VERSION, kind, name, namespace)
        found = conditions.get(((body or {}).get("status") or {}).get("conditions") or [], "Ready")
        return body if found and found.get("reason") == reason else None

    return eventually(check, timeout=timeout, what=f"{kind} {namespace}/{name} to say {reason}")


def file_at(server: GitServer, repo: str, path: str, branch: str = "main") -> str:
    """A file of the server's repository, as the tip of ``branch`` has it."""
    return subprocess.run(
        ["git", "-C", str(server.root / f"{repo}.git"), "show", f"{branch}:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def head(server: GitServer, repo: str, branch: str = "main") -> str:
    return subprocess.run(
        ["git", "-C", str(server.root / f"{repo}.git"), "rev-parse", f"refs/heads/{branch}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def message(server: GitServer, repo: str, branch: str = "main") -> str:
    return subprocess.run(
        [
            "git",
            "-C",
            str(server.root / f"{repo}.git"),
            "log",
            "-1",
            "--format=%an <%ae>%n%B",
            branch,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
