"""``dependsOn``: a release waits for the releases it names; another tenant's needs the policy."""

from __future__ import annotations

from landlord import kube
from landlord.demo import ChartServer
from tests.fixtures.helm import Releases, config_map_chart
from tests.fixtures.operator import Tenants


def test_a_release_waits_for_its_dependency_then_installs(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart())
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "app", "settings", "charts", dependsOn=[{"name": "db"}])

    waiting = releases.reason(tenant, "app", "DependencyNotReady")
    assert "dependency HelmRelease" in releases.condition(tenant, "app")["message"]
    assert waiting["status"].get("history") is None
    assert admin.get("v1", "ConfigMap", "app-settings", tenant) is None

    releases.release(tenant, "db", "settings", "charts")
    releases.reason(tenant, "db", "InstallSucceeded")

    # Sooner than the 10 s a waiting release looks again by itself: the dependency's
    # Ready wakes it.
    releases.reason(tenant, "app", "InstallSucceeded", timeout=8)


def test_a_dependency_in_another_tenants_namespace_needs_the_policy(
    admin: kube.Kube,
    chart_server: ChartServer,
    releases: Releases,
    tenant: str,
    tenants: Tenants,
) -> None:
    other = tenants.create(tenants.name("other"))
    tenants.ready(other)
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart())
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(
        tenant, "app", "settings", "charts", dependsOn=[{"name": "db", "namespace": other}]
    )

    releases.reason(tenant, "app", "PolicyDenied")

    message = releases.condition(tenant, "app")["message"]
    assert f"the dependency {other}/db is denied for tenant:{tenant}" in message
    assert f"`p, tenant:{tenant}, depend, {other}/db, allow`" in message
    assert releases.condition(tenant, "app", "Stalled")["status"] == "True"
