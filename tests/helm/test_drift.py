"""Drift of what a release installed: repaired as the tenant, or only reported in ``warn`` mode."""

from __future__ import annotations

import time

from landlord import kube
from landlord.demo import ChartServer
from tests.fixtures.helm import Releases, config_map_chart
from tests.fixtures.operator import OperatorProcess
from tests.helpers import eventually


def _events(admin: kube.Kube, namespace: str, reason: str) -> list[str]:
    return [
        e["message"]
        for e in admin.list_objects("v1", "Event", namespace=namespace)
        if e["reason"] == reason
    ]


def test_a_deleted_or_edited_object_comes_back(
    admin: kube.Kube,
    chart_server: ChartServer,
    releases: Releases,
    tenant: str,
    operator: OperatorProcess,
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart(color="blue"))
    releases.repository(tenant, "charts", chart_server.url(tenant))
    # A long interval: only the watch can bring the repair this fast.
    releases.release(tenant, "web", "settings", "charts", interval="1h")
    releases.reason(tenant, "web", "InstallSucceeded")

    admin.delete("v1", "ConfigMap", "web-settings", tenant)

    back = eventually(
        lambda: admin.get("v1", "ConfigMap", "web-settings", tenant),
        timeout=20,
        what="the deleted ConfigMap to come back",
    )
    assert back["data"] == {"color": "blue"}
    assert any("ConfigMap" in m and "deleted" in m for m in _events(admin, tenant, "DriftRepaired"))

    edited = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-settings", "namespace": tenant},
        "data": {"color": "red"},
    }
    admin.apply(edited, field_manager="kubectl-edit", force=True)
    eventually(
        lambda: (
            (admin.get("v1", "ConfigMap", "web-settings", tenant) or {}).get("data")
            == {"color": "blue"}
        ),
        timeout=20,
        what="the hand edit to be reverted",
    )
    # Repaired by a targeted apply, not a Helm upgrade: still the first release.
    assert releases.get(tenant, "web")["status"]["history"][0]["version"] == 1

    # After a restart the release is rendered again (as the tenant) and watched again.
    operator.start(operator.env)
    time.sleep(3)
    admin.delete("v1", "ConfigMap", "web-settings", tenant)
    eventually(
        lambda: admin.get("v1", "ConfigMap", "web-settings", tenant),
        timeout=60,
        what="the ConfigMap to come back after a restart",
    )


def test_warn_mode_only_reports(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart(color="blue"))
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(
        tenant, "web", "settings", "charts", interval="1h", driftDetection={"mode": "warn"}
    )
    releases.reason(tenant, "web", "InstallSucceeded")

    admin.delete("v1", "ConfigMap", "web-settings", tenant)

    reported = eventually(
        lambda: _events(admin, tenant, "DriftDetected"),
        timeout=20,
        what="the drift to be reported",
    )
    assert "ConfigMap" in reported[0]
    assert "not repaired" in reported[0]
    time.sleep(2)
    assert admin.get("v1", "ConfigMap", "web-settings", tenant) is None
