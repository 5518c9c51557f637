"""HelmReleases on the real control plane: installed, upgraded and uninstalled by helm as the tenant."""

from __future__ import annotations

import json
import pathlib

from landlord import kube
from landlord.api import labels
from landlord.demo import ChartServer
from tests.helm.conftest import Releases, config_map_chart, helm_as
from tests.helpers import eventually


def _release_secrets(admin: kube.Kube, namespace: str, release: str) -> list[str]:
    return sorted(
        item["metadata"]["name"]
        for item in admin.list_objects(
            "v1", "Secret", namespace=namespace, label_selector=f"owner=helm,name={release}"
        )
    )


def test_a_release_is_installed_as_the_tenant_and_listed_by_helm_as_the_tenant(
    admin: kube.Kube,
    chart_server: ChartServer,
    releases: Releases,
    tenant: str,
    tenants: object,
    helm_binary: pathlib.Path,
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart(color="blue"))
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "settings", "charts")

    body = releases.reason(tenant, "web", "InstallSucceeded")

    made = admin.get("v1", "ConfigMap", "web-settings", tenant)
    assert made is not None and made["data"] == {"color": "blue"}
    assert made["metadata"]["labels"]["landlord.dev/helmrelease-name"] == "web"
    # Helm wrote it as the tenant's reconciler account, through its own token.
    managers = {entry["manager"] for entry in made["metadata"]["managedFields"]}
    assert managers == {"helm"}
    status = body["status"]
    assert status["history"][0]["status"] == "deployed"
    assert status["history"][0]["chartVersion"] == "1.0.0"
    assert status["lastAttemptedRevision"] == "1.0.0"
    assert _release_secrets(admin, tenant, "web") == ["sh.helm.release.v1.web.v1"]

    listed = helm_as(
        helm_binary,
        admin,
        tenant,
        labels.RECONCILER_SERVICE_ACCOUNT,
        "list",
        "-n",
        tenant,
        "-o",
        "json",
    )
    assert listed.returncode == 0, listed.stderr
    assert [r["name"] for r in json.loads(listed.stdout)] == ["web"]
