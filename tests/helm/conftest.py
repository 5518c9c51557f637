"""A chart repository on loopback, tenants, and helpers to declare and watch HelmReleases."""

from __future__ import annotations

import pathlib
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from landlord import api, kube, settings
from landlord.api import conditions
from landlord.cluster import binaries
from landlord.demo import ChartServer
from tests.fixtures.operator import Tenants
from tests.helpers import eventually


@pytest.fixture(scope="session")
def helm_binary() -> pathlib.Path:
    found = binaries.find("helm", cache_dir=settings.load().cluster.cache_dir)
    assert found is not None, "helm is built by `make binaries` (landlord cluster build)"
    return found


@pytest.fixture(scope="session")
def chart_server(
    tmp_path_factory: pytest.TempPathFactory, helm_binary: pathlib.Path
) -> Iterator[ChartServer]:
    server = ChartServer(tmp_path_factory.mktemp("charts"), helm=helm_binary).start()
    yield server
    server.stop()


def config_map_chart(**data: str) -> dict[str, str]:
    """A chart's files: one ConfigMap named after the release, its data from values."""
    return {
        "values.yaml": yaml.safe_dump({"data": data or {"color": "blue"}}),
        "templates/configmap.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n"
            "data:\n{{ toYaml .Values.data | indent 2 }}\n"
        ),
    }


class Releases:
    """Declares HelmRepositories and HelmReleases (as the platform would) and waits on them."""

    def __init__(self, admin: kube.Kube) -> None:
        self.admin = admin

    def repository(self, namespace: str, name: str, url: str, **spec: Any) -> None:
        self.admin.create(
            {
                "apiVersion": api.API_VERSION,
                "kind": "HelmRepository",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"url": url, "interval": "1s", **spec},
            }
        )

    def release(self, namespace: str, name: str, chart: str, repository: str, **spec: Any) -> None:
        self.admin.create(
            {
                "apiVersion": api.API_VERSION,
                "kind": "HelmRelease",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "chart": {
                        "spec": {
                            "chart": chart,
                            "sourceRef": {"kind": "HelmRepository", "name": repository},
                            **spec.pop("chart_spec", {}),
                        }
                    },
                    "interval": "1s",
                    "timeout": "60s",
                    **spec,
                },
            }
        )

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        return self.admin.get(api.API_VERSION, "HelmRelease", name, namespace) or {}

    def condition(self, namespace: str, name: str, type_: str = "Ready") -> dict[str, Any]:
        status = self.get(namespace, name).get("status") or {}
        return conditions.get(status.get("conditions") or [], type_) or {}

    def reason(
        self, namespace: str, name: str, reason: str, timeout: float = 60, type_: str = "Ready"
    ) -> dict[str, Any]:
        """Wait for the condition to carry ``reason`` at the current generation."""

        def check() -> dict[str, Any] | None:
            body = self.get(namespace, name)
            found = self.condition(namespace, name, type_)
            at = found.get("observedGeneration") == body.get("metadata", {}).get("generation")
            return body if found.get("reason") == reason and at else None

        return eventually(
            check,
            timeout=timeout,
            what=f"HelmRelease {namespace}/{name} {type_} reason {reason} "
            f"(last: {self.condition(namespace, name, type_)})",
        )

    def ready(self, namespace: str, name: str, timeout: float = 60) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            body = self.get(namespace, name)
            found = self.condition(namespace, name)
            at = found.get("observedGeneration") == body.get("metadata", {}).get("generation")
            return body if found.get("status") == "True" and at else None

        return eventually(
            check,
            timeout=timeout,
            what=f"HelmRelease {namespace}/{name} Ready (last: {self.condition(namespace, name)})",
        )


@pytest.fixture
def releases(admin: kube.Kube) -> Releases:
    return Releases(admin)


@pytest.fixture
def tenant(tenants: Tenants) -> str:
    """A provisioned tenant (namespace and reconciler account), no sync of its own."""
    name = tenants.create(tenants.name("helm"))
    tenants.ready(name)
    return name


def helm_as(
    helm: pathlib.Path, admin: kube.Kube, namespace: str, account: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run helm on the host with a token of ``namespace/account`` (what a tenant would do)."""
    server, ca, _verify = admin.endpoint()
    token = admin.service_account_token(namespace, account, seconds=600)
    with tempfile.TemporaryDirectory() as home:
        config = pathlib.Path(home) / "kubeconfig"
        cluster: dict[str, Any] = {"server": server}
        if ca:
            import base64

            cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
        config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "c", "cluster": cluster}],
                    "users": [{"name": "u", "user": {"token": token}}],
                    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "x",
                }
            )
        )
        return subprocess.run(
            [str(helm), *args, "--kubeconfig", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"HOME": home, "PATH": "/usr/bin:/bin"},
        )
