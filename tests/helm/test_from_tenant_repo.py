"""A tenant declares its HelmRepository and HelmRelease in its own repository: installed, listed."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import yaml

from landlord import kube
from landlord.demo import ChartServer, GitServer
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.helm import Releases, config_map_chart
from tests.fixtures.operator import Tenants


def _landlord(kubeconfig: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landlord", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={**os.environ, "KUBECONFIG": str(kubeconfig), "COLUMNS": "250"},
    )


def test_a_release_declared_in_the_tenants_repository_is_installed(
    control_plane: pathlib.Path,
    admin: kube.Kube,
    chart_server: ChartServer,
    git_server: GitServer,
    releases: Releases,
    tenants: Tenants,
) -> None:
    name = tenants.name("selfserve")
    chart_server.publish(name, "settings", "1.0.0", config_map_chart(color="blue"))
    git_server.create(name)
    declared = [
        {
            "apiVersion": "landlord.dev/v1alpha1",
            "kind": "HelmRepository",
            "metadata": {"name": "charts"},
            "spec": {"url": chart_server.url(name), "interval": "1s"},
        },
        {
            "apiVersion": "landlord.dev/v1alpha1",
            "kind": "HelmRelease",
            "metadata": {"name": "web"},
            "spec": {
                "chart": {
                    "spec": {
                        "chart": "settings",
                        "sourceRef": {"kind": "HelmRepository", "name": "charts"},
                    }
                },
                "interval": "1s",
                "values": {"data": {"color": "green"}},
            },
        },
    ]
    git_server.commit(
        name, {"deploy/helm.yaml": yaml.safe_dump_all(declared)}, message="a helm release"
    )
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(name, {"source": {"url": url, "interval": "1s"}, "sync": {"path": "./deploy"}})

    # Applied by the tenant's sync as its own account (admin, with Landlord's kinds
    # aggregated into it), then installed by helm as that account.
    releases.reason(name, "web", "InstallSucceeded", timeout=90)
    assert (admin.get("v1", "ConfigMap", "web-settings", name) or {})["data"] == {"color": "green"}

    listed = _landlord(control_plane, "get", "helmreleases", "-n", name)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if " web " in f" {line} ")
    assert "True" in row
    assert "settings@1.0.0" in row
    assert "web.v1 (deployed)" in row
    repos = _landlord(control_plane, "get", "helmrepositories", "-n", name)
    assert "charts" in repos.stdout
    assert "sha256:" in repos.stdout

    suspended = _landlord(control_plane, "suspend", "helmrelease", "web", "-n", name)
    assert suspended.returncode == 0, suspended.stderr
    assert (releases.get(name, "web").get("spec") or {}).get("suspend") is True
    resumed = _landlord(control_plane, "resume", "helmrelease", "web", "-n", name)
    assert resumed.returncode == 0, resumed.stderr
    reconciled = _landlord(control_plane, "reconcile", "hr", "web", "-n", name)
    assert reconciled.returncode == 0, reconciled.stderr
