"""``test.enable``: the chart's Helm tests run after a release; TestSuccess says how they went."""

from __future__ import annotations

from landlord import kube
from landlord.demo import ChartServer
from tests.fixtures.helm import Releases, config_map_chart

# A restricted-PSA container spec (tenant namespaces enforce `restricted`).
CONTAINER = """\
      - name: check
        image: registry.invalid/check:1
        securityContext:
          runAsNonRoot: true
          runAsUser: 1000
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          seccompProfile: {type: RuntimeDefault}
"""

# A Job test hook: the kwok node completes a Job's pod, so this test passes.
PASSING = (
    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-test\n"
    "  annotations: {'helm.sh/hook': test}\nspec:\n  backoffLimit: 0\n  template:\n"
    "    spec:\n      restartPolicy: Never\n      containers:\n" + CONTAINER.replace("  ", "  ", 1)
)
# A bare Pod test hook never completes on a kwok node: the test times out, which fails it.
FAILING = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n"
    "  annotations: {'helm.sh/hook': test}\nspec:\n  restartPolicy: Never\n  containers:\n"
    + "\n".join(line[4:] if line.startswith("    ") else line for line in CONTAINER.splitlines())
    + "\n"
)


def test_passing_helm_tests_are_reported(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(
        tenant, "tested", "1.0.0", {**config_map_chart(), "templates/tests/job.yaml": PASSING}
    )
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "tested", "charts", test={"enable": True})

    releases.reason(tenant, "web", "InstallSucceeded", timeout=90)

    tested = releases.condition(tenant, "web", "TestSuccess")
    assert (tested["status"], tested["reason"]) == ("True", "TestSucceeded")


def test_failing_helm_tests_fail_the_release(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(
        tenant, "tested", "1.0.0", {**config_map_chart(), "templates/tests/pod.yaml": FAILING}
    )
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "tested", "charts", test={"enable": True}, timeout="5s")

    releases.reason(tenant, "web", "RetriesExceeded", timeout=90)

    tested = releases.condition(tenant, "web", "TestSuccess")
    assert (tested["status"], tested["reason"]) == ("False", "TestFailed")
    assert "Helm test failed" in releases.condition(tenant, "web")["message"]
