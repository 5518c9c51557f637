"""The chart's monitoring parts, rendered by the real helm: the dashboards and the alerts.

Both are the files the unit tests check (``dashboards/*.json``,
``files/prometheus-rules.yaml``), carried as they are.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
from typing import Any

import pytest

from landlord import settings
from landlord.cluster import binaries
from tests.chart.test_chart import CHART, KUBE_VERSION, render
from tests.unit.telemetry import monitoring

ON = ("metrics.prometheusRule.enabled=true", "metrics.dashboards.enabled=true")
RUNBOOKS = "https://git.example/landlord/blob/main/docs/runbooks.md"


@pytest.fixture(scope="module")
def helm() -> pathlib.Path:
    return binaries.resolve(["helm"], cache_dir=settings.load().cluster.cache_dir)["helm"]


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _names(docs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(d["kind"], d["metadata"]["name"]) for d in docs}


def test_off_by_default_and_without_metrics(helm: pathlib.Path) -> None:
    monitoring_parts = {("PrometheusRule", "landlord"), ("ConfigMap", "landlord-dashboards")}
    assert not _names(render(helm)) & monitoring_parts
    assert not _names(render(helm, *ON, "metrics.enabled=false")) & monitoring_parts
    assert _names(render(helm, *ON)) >= monitoring_parts


def test_the_dashboards_configmap_carries_each_dashboard_for_grafanas_sidecar(
    helm: pathlib.Path,
) -> None:
    config_map = _one(render(helm, *ON), "ConfigMap", "landlord-dashboards")
    metadata = config_map["metadata"]
    assert metadata["namespace"] == "landlord-system"
    assert metadata["labels"]["grafana_dashboard"] == "1"  # a string, as the sidecar matches it
    assert "annotations" not in metadata
    shipped = monitoring.dashboards()
    assert set(config_map["data"]) == set(shipped) == {"landlord.json"}
    for name, board in shipped.items():
        assert json.loads(config_map["data"][name]) == board


def test_the_dashboards_configmap_goes_where_grafana_looks(helm: pathlib.Path) -> None:
    docs = render(
        helm,
        *ON,
        "metrics.dashboards.namespace=monitoring",
        "metrics.dashboards.labels.team=platform",
        "metrics.dashboards.annotations.grafana_folder=Landlord",
    )
    metadata = _one(docs, "ConfigMap", "landlord-dashboards")["metadata"]
    assert metadata["namespace"] == "monitoring"
    assert metadata["labels"]["team"] == "platform"
    assert metadata["labels"]["grafana_dashboard"] == "1"
    assert metadata["annotations"] == {"grafana_folder": "Landlord"}


def test_the_prometheus_rule_is_the_rules_file(helm: pathlib.Path) -> None:
    rule = _one(render(helm, *ON), "PrometheusRule", "landlord")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["namespace"] == "landlord-system"
    # As the file is: `.Files.Get` leaves its `{{ $labels.x }}` to Prometheus.
    assert rule["spec"] == monitoring.rules()
    alerts = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    assert len(alerts) == len(monitoring.alerts()) > 10


def test_the_runbook_address_and_the_rule_selectors_labels_are_the_users(
    helm: pathlib.Path,
) -> None:
    docs = render(
        helm,
        *ON,
        f"metrics.prometheusRule.runbookURL={RUNBOOKS}",
        "metrics.prometheusRule.labels.release=kube-prometheus-stack",
    )
    rule = _one(docs, "PrometheusRule", "landlord")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["metadata"]["labels"]["app.kubernetes.io/name"] == "landlord"
    rendered = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    for ours, shipped in zip(rendered, monitoring.alerts(), strict=True):
        anchor = shipped["annotations"]["runbook_url"].removeprefix("docs/runbooks.md#")
        assert ours["annotations"]["runbook_url"] == f"{RUNBOOKS}#{anchor}"
        # Nothing else changed: the expression, labels and words are the file's.
        assert {**ours, "annotations": None} == {**shipped, "annotations": None}
        assert {k: v for k, v in ours["annotations"].items() if k != "runbook_url"} == {
            k: v for k, v in shipped["annotations"].items() if k != "runbook_url"
        }


def test_the_service_monitor_keeps_landlords_namespace_label(helm: pathlib.Path) -> None:
    docs = render(helm, "metrics.serviceMonitor.enabled=true")
    (endpoint,) = _one(docs, "ServiceMonitor", "landlord")["spec"]["endpoints"]
    assert endpoint["honorLabels"] is True  # else it would become exported_namespace


def test_lint_is_clean_with_the_monitoring_parts_on(helm: pathlib.Path) -> None:
    done = subprocess.run(
        [
            str(helm),
            "lint",
            str(CHART),
            "--strict",
            "--kube-version",
            KUBE_VERSION,
            "--set",
            "image.tag=x,metrics.serviceMonitor.enabled=true," + ",".join(ON),
            "--set",
            f"metrics.prometheusRule.runbookURL={RUNBOOKS}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("metrics.prometheusRule.runbookURL=https://x/runbooks.md#a", "does not match pattern"),
        ("metrics.prometheusRule.runbookURL=docs/runbooks.md", "does not match pattern"),
        ("metrics.prometheusRule.labels.bad key=1", "does not match pattern"),
        ("metrics.dashboards.namespace=Not_A_Namespace", "does not match pattern"),
        ("metrics.dashboards.folder=x", "additional properties"),
    ],
)
def test_the_schema_refuses_bad_monitoring_values(
    helm: pathlib.Path, value: str, complaint: str
) -> None:
    args = ["template", "x", str(CHART), "--kube-version", KUBE_VERSION, "--set", "image.tag=x"]
    done = subprocess.run(
        [str(helm), *args, "--set", value], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert complaint in done.stderr.lower()
