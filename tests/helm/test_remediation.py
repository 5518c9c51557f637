"""Failed installs and upgrades: Flux's remediation (retries, rollback, uninstall), with history."""

from __future__ import annotations

from landlord import kube
from landlord.demo import ChartServer
from tests.fixtures.helm import Releases, config_map_chart
from tests.helpers import eventually

# The apiserver refuses this ConfigMap (a data key must be a valid key name): Helm's
# upgrade fails after the render and the checks passed.
BROKEN = {
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n"
        "data:\n  'not a valid key!': x\n"
    )
}


def test_a_failing_upgrade_is_rolled_back_then_stalls_when_retries_run_out(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart(color="blue"))
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "settings", "charts", upgrade={"remediation": {"retries": 1}})
    releases.reason(tenant, "web", "InstallSucceeded")

    chart_server.publish(tenant, "settings", "2.0.0", BROKEN)

    body = releases.reason(tenant, "web", "RetriesExceeded", timeout=90)
    status = body["status"]
    stalled = releases.condition(tenant, "web", "Stalled")
    assert stalled["status"] == "True"
    assert "not a valid key" in releases.condition(tenant, "web")["message"]
    assert status["upgradeFailures"] == 2
    assert status["lastAttemptedRevision"] == "2.0.0"
    remediated = releases.condition(tenant, "web", "Remediated")
    assert (remediated["status"], remediated["reason"]) == ("True", "RollbackSucceeded")
    released = releases.condition(tenant, "web", "Released")
    assert (released["status"], released["reason"]) == ("False", "UpgradeFailed")
    # Helm's own history, newest first: each failed upgrade followed by a rollback to 1.0.0.
    history = [(h["version"], h["chartVersion"], h["status"]) for h in status["history"]]
    assert history[0][1:] == ("1.0.0", "deployed"), history
    assert ("2.0.0", "failed") in [h[1:] for h in history], history
    # The last good objects are what runs.
    assert (admin.get("v1", "ConfigMap", "web-settings", tenant) or {})["data"] == {"color": "blue"}
    events = {e["reason"] for e in admin.list_objects("v1", "Event", namespace=tenant)}
    assert {"UpgradeFailed", "RollbackSucceeded", "RetriesExceeded"} <= events

    # A fixed chart version is a new attempt: the retries count from zero again.
    chart_server.publish(tenant, "settings", "2.0.1", config_map_chart(color="green"))
    body = releases.reason(tenant, "web", "UpgradeSucceeded", timeout=60)
    assert body["status"]["upgradeFailures"] == 0
    assert releases.condition(tenant, "web", "Stalled")["status"] == "False"


def test_a_failing_install_without_retries_stalls_and_leaves_the_failed_release(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(tenant, "broken", "1.0.0", BROKEN)
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "broken", "charts")

    body = releases.reason(tenant, "web", "RetriesExceeded", timeout=60)

    assert body["status"]["installFailures"] == 1
    assert body["status"]["history"][0]["status"] == "failed"
    assert releases.condition(tenant, "web", "Remediated") == {}


def test_a_failing_install_with_retries_is_uninstalled_between_attempts(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(tenant, "broken", "1.0.0", BROKEN)
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(
        tenant,
        "web",
        "broken",
        "charts",
        install={"remediation": {"retries": 1, "remediateLastFailure": True}},
    )

    body = releases.reason(tenant, "web", "RetriesExceeded", timeout=90)

    assert body["status"]["installFailures"] == 2
    remediated = releases.condition(tenant, "web", "Remediated")
    assert (remediated["status"], remediated["reason"]) == ("True", "UninstallSucceeded")
    eventually(
        lambda: (
            not admin.list_objects(
                "v1", "Secret", namespace=tenant, label_selector="owner=helm,name=web"
            )
        ),
        timeout=10,
        what="the failed release to be uninstalled",
    )
