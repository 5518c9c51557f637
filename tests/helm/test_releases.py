"""HelmReleases on the real control plane: installed, upgraded, removed by helm as the tenant."""

from __future__ import annotations

import json
import pathlib
import time

from landlord import kube
from landlord.api import labels
from landlord.demo import ChartServer, GitServer
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.helm import Releases, config_map_chart, helm_as
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
    assert made is not None
    assert made["data"] == {"color": "blue"}
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


def test_values_from_a_tenant_configmap_and_a_new_chart_version_upgrade_the_release(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart(color="blue"))
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web-values", "namespace": tenant},
            "data": {"values.yaml": "data: {color: green}\n"},
        }
    )
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(
        tenant,
        "web",
        "settings",
        "charts",
        chart_spec={"version": "1.x"},
        valuesFrom=[{"kind": "ConfigMap", "name": "web-values"}],
        interval="1h",  # only a request or a new index can bring the upgrades below
    )
    releases.reason(tenant, "web", "InstallSucceeded")
    assert (admin.get("v1", "ConfigMap", "web-settings", tenant) or {})["data"] == {
        "color": "green"
    }

    # A values change in the ConfigMap is not an event of the HelmRelease: a requested
    # reconcile (or the interval) picks it up.
    admin.merge_patch(
        "v1", "ConfigMap", "web-values", {"data": {"values.yaml": "data: {color: red}\n"}}, tenant
    )
    admin.merge_patch(
        "landlord.dev/v1alpha1",
        "HelmRelease",
        "web",
        {"metadata": {"annotations": {labels.REQUESTED_AT: "values"}}},
        tenant,
    )
    eventually(
        lambda: (
            (admin.get("v1", "ConfigMap", "web-settings", tenant) or {}).get("data")
            == {"color": "red"}
        ),
        timeout=60,
        what="the values change to be released",
    )
    body = releases.reason(tenant, "web", "UpgradeSucceeded")
    assert [h["version"] for h in body["status"]["history"]] == [2, 1]
    assert [h["status"] for h in body["status"]["history"]] == ["deployed", "superseded"]

    chart_server.publish(tenant, "settings", "1.1.0", config_map_chart(color="ignored"))
    body = eventually(
        lambda: (
            (b := releases.get(tenant, "web"))
            and b["status"].get("history", [{}])[0].get("chartVersion") == "1.1.0"
            and b
        ),
        timeout=60,
        what="the new chart version to be released",
    )
    assert body["status"]["history"][0]["status"] == "deployed"
    assert _release_secrets(admin, tenant, "web") == [
        "sh.helm.release.v1.web.v1",
        "sh.helm.release.v1.web.v2",
        "sh.helm.release.v1.web.v3",
    ]


def test_a_release_with_nothing_new_runs_no_helm_and_writes_nothing(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str, operator: object
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart())
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "settings", "charts")
    first = releases.reason(tenant, "web", "InstallSucceeded")
    version = first["metadata"]["resourceVersion"]
    secrets = _release_secrets(admin, tenant, "web")

    time.sleep(5)  # five intervals of 1 s

    again = releases.get(tenant, "web")
    assert again["metadata"]["resourceVersion"] == version
    assert _release_secrets(admin, tenant, "web") == secrets == ["sh.helm.release.v1.web.v1"]


def test_deleting_the_release_uninstalls_it_as_the_tenant(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart())
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "settings", "charts")
    releases.reason(tenant, "web", "InstallSucceeded")

    admin.delete("landlord.dev/v1alpha1", "HelmRelease", "web", tenant)

    eventually(
        lambda: admin.get("landlord.dev/v1alpha1", "HelmRelease", "web", tenant) is None,
        timeout=60,
        what="the HelmRelease to be finalized",
    )
    assert admin.get("v1", "ConfigMap", "web-settings", tenant) is None
    assert _release_secrets(admin, tenant, "web") == []


def test_another_tenant_cannot_list_or_read_the_release(
    admin: kube.Kube,
    chart_server: ChartServer,
    releases: Releases,
    tenant: str,
    tenants: object,
    helm_binary: pathlib.Path,
) -> None:
    from tests.fixtures.operator import Tenants

    assert isinstance(tenants, Tenants)
    other = tenants.create(tenants.name("other"))
    tenants.ready(other)
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart())
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "settings", "charts")
    releases.reason(tenant, "web", "InstallSucceeded")

    listed = helm_as(
        helm_binary, admin, other, labels.RECONCILER_SERVICE_ACCOUNT, "list", "-n", tenant
    )

    assert listed.returncode != 0
    assert "forbidden" in listed.stderr


def test_post_renderers_patch_what_is_installed(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart(color="blue"))
    releases.repository(tenant, "charts", chart_server.url(tenant))
    patch = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\ndata:\n  size: large\n"
    )
    releases.release(
        tenant,
        "web",
        "settings",
        "charts",
        postRenderers=[
            {"kustomize": {"patches": [{"patch": patch, "target": {"kind": "ConfigMap"}}]}}
        ],
    )

    releases.reason(tenant, "web", "InstallSucceeded")

    made = admin.get("v1", "ConfigMap", "web-settings", tenant) or {}
    assert made["data"] == {"color": "blue", "size": "large"}


def test_a_chart_folder_of_a_git_repository_is_released_and_follows_new_commits(
    admin: kube.Kube,
    git_server: GitServer,
    releases: Releases,
    tenant: str,
) -> None:
    files = {f"charts/web/{path}": text for path, text in config_map_chart(color="blue").items()}
    files["charts/web/Chart.yaml"] = "apiVersion: v2\nname: web-chart\nversion: 0.1.0\n"
    git_server.create(f"{tenant}-charts")
    git_server.commit(f"{tenant}-charts", files, message="chart")
    url = git_server.url(f"{tenant}-charts").replace("http://", f"http://{USER}:{PASSWORD}@")
    admin.create(
        {
            "apiVersion": "landlord.dev/v1alpha1",
            "kind": "GitRepository",
            "metadata": {"name": "charts-git", "namespace": tenant},
            "spec": {"url": url, "interval": "1s"},
        }
    )
    admin.create(
        {
            "apiVersion": "landlord.dev/v1alpha1",
            "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": tenant},
            "spec": {
                "chart": {
                    "spec": {
                        "chart": "./charts/web",
                        "sourceRef": {"kind": "GitRepository", "name": "charts-git"},
                    }
                },
                "interval": "1h",
            },
        }
    )

    body = releases.reason(tenant, "web", "InstallSucceeded", timeout=60)
    assert body["status"]["helmChart"] == "web-chart@0.1.0"
    assert (admin.get("v1", "ConfigMap", "web-settings", tenant) or {})["data"] == {"color": "blue"}

    # A commit that changes the chart (not its version) is a new archive: upgraded at once.
    git_server.commit(
        f"{tenant}-charts",
        {"charts/web/values.yaml": "data: {color: green}\n"},
        message="green",
    )
    eventually(
        lambda: (
            (admin.get("v1", "ConfigMap", "web-settings", tenant) or {}).get("data")
            == {"color": "green"}
        ),
        timeout=60,
        what="the new commit's chart to be released",
    )


def test_a_new_release_name_uninstalls_the_old_release(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart())
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "settings", "charts")
    releases.reason(tenant, "web", "InstallSucceeded")

    admin.merge_patch(
        "landlord.dev/v1alpha1", "HelmRelease", "web", {"spec": {"releaseName": "site"}}, tenant
    )

    releases.reason(tenant, "web", "InstallSucceeded")
    assert admin.get("v1", "ConfigMap", "site-settings", tenant) is not None
    assert admin.get("v1", "ConfigMap", "web-settings", tenant) is None
    assert _release_secrets(admin, tenant, "web") == []
