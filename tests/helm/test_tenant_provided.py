"""Releases a Tenant's spec provides: made in its home namespace, installed as the tenant."""

from __future__ import annotations

from typing import Any

from landlord import kube
from landlord.api import labels
from landlord.demo import ChartServer
from tests.fixtures.helm import Releases, config_map_chart
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually


def _provided(url: str, **spec: Any) -> dict[str, Any]:
    return {
        "helmRepositories": [{"name": "platform-charts", "url": url, "interval": "1s"}],
        "helmReleases": [
            {
                "name": "shipper",
                "chart": {
                    "spec": {
                        "chart": "settings",
                        "sourceRef": {"kind": "HelmRepository", "name": "platform-charts"},
                    }
                },
                "interval": "1s",
                "values": {"data": {"color": "platform"}},
            }
        ],
        **spec,
    }


def test_a_provided_release_is_installed_and_uninstalled_with_the_tenant(
    admin: kube.Kube,
    chart_server: ChartServer,
    releases: Releases,
    tenants: Tenants,
    operator: OperatorProcess,
) -> None:
    name = tenants.name("provided")
    chart_server.publish(name, "settings", "1.0.0", config_map_chart())
    tenants.create(name, _provided(chart_server.url(name)))
    tenants.ready(name)

    body = releases.reason(name, "shipper", "InstallSucceeded")

    assert body["metadata"]["labels"][labels.TENANT] == name
    made = admin.get("v1", "ConfigMap", "shipper-settings", name) or {}
    assert made["data"] == {"color": "platform"}
    assert {e["manager"] for e in made["metadata"]["managedFields"]} == {"helm"}

    # Offboarding waits for the release to be uninstalled (as the tenant) before the
    # tenant's access and namespace go.
    tenants.delete(name)
    assert admin.get("v1", "Namespace", name) is None
    assert f"helm release {name}/shipper: uninstalled {name}/shipper as the tenant" in (
        operator.log()
    )


def test_an_orphan_tenant_leaves_its_releases_installed(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenants: Tenants
) -> None:
    name = tenants.name("orphan")
    chart_server.publish(name, "settings", "1.0.0", config_map_chart())
    tenants.create(name, _provided(chart_server.url(name), deletionPolicy="Orphan"))
    tenants.ready(name)
    releases.reason(name, "shipper", "InstallSucceeded")

    tenants.delete(name)

    assert admin.get("v1", "Namespace", name) is not None
    assert admin.get("v1", "ConfigMap", "shipper-settings", name) is not None
    eventually(
        lambda: admin.list_objects(
            "v1", "Secret", namespace=name, label_selector="owner=helm,name=shipper"
        ),
        timeout=5,
        what="the release's Helm record to stay",
    )
    admin.delete("v1", "Namespace", name)
