"""The dashboard and the alerts use only what Landlord exports, and each alert has its runbook.

The same queries are held to a running operator's ``/metrics`` in
``tests/controlplane/test_dashboards.py``; here, to the families
:class:`landlord.telemetry.Metrics` declares.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from landlord.api import reasons
from landlord.runtime.outcome import Outcome
from landlord.sync import report
from tests.unit.telemetry import monitoring, promql

# Recorded by `landlord cluster up`, not by the operator or the API: no panel.
NOT_ON_THE_DASHBOARD = {"landlord_controlplane_start_seconds"}
SEVERITIES = {"critical", "warning", "info"}


def families() -> dict[str, str]:
    """Sample name -> the family it belongs to, for every family Metrics() declares."""
    found: dict[str, str] = {}
    for name in monitoring.declared():
        for suffix in ("_bucket", "_count", "_sum", "_created", "_total"):
            if name.endswith(suffix):
                found[name] = name.removesuffix(suffix)
                break
        else:
            found[name] = name
    return found


def test_every_query_names_only_declared_metrics_and_labels() -> None:
    queries = monitoring.shipped_queries()
    assert len(queries) > 40  # every panel's, every variable's, every alert's
    assert monitoring.problems(queries, monitoring.declared()) == []


def test_a_metric_or_label_that_went_away_is_noticed() -> None:
    # The check above can fail: without one family, or one of its labels, it complains.
    queries = monitoring.shipped_queries()
    without = {k: v for k, v in monitoring.declared().items() if "sync_reconcile_seconds" not in k}
    assert any(
        "landlord_sync_reconcile_seconds_bucket: no such metric" in p
        for p in monitoring.problems(queries, without)
    )
    renamed = dict(monitoring.declared())
    renamed["landlord_source_failures_total"] = frozenset({"namespace", "repository", "reason"})
    found = monitoring.problems(queries, renamed)
    assert "alert LandlordSourceFailing: sum by (name): not a label of what it aggregates" in found
    assert any(p.startswith("landlord.json: panel 'Failing sources'") for p in found)


def test_the_dashboard_shows_every_metric_the_operator_and_the_api_export() -> None:
    queries = [
        q
        for name, board in monitoring.dashboards().items()
        for q in monitoring.dashboard_queries(name, board)
    ]
    shown = {families()[m] for m in monitoring.metrics_named(queries, monitoring.declared())}
    declared = set(families().values()) - {"up"}
    assert declared - shown == NOT_ON_THE_DASHBOARD


def _panels() -> list[dict[str, Any]]:
    (board,) = monitoring.dashboards().values()
    return [p for p in monitoring.panels_of(board) if p["type"] != "row"]


def test_the_dashboard_is_a_grafana_dashboard_on_a_chosen_prometheus() -> None:
    (board,) = monitoring.dashboards().values()
    assert board["schemaVersion"] >= 39
    assert board["uid"]
    assert board["title"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"job", "namespace"} <= variables.keys()
    ids = [p["id"] for p in monitoring.panels_of(board)]
    assert len(ids) == len(set(ids))
    for panel in _panels():
        where = panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
        assert panel.get("description"), where
        assert panel["targets"], where
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", where
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, where
        if panel["type"] == "timeseries":
            assert panel["fieldConfig"]["defaults"].get("unit"), where


def test_the_panels_do_not_overlap() -> None:
    taken: set[tuple[int, int]] = set()
    (board,) = monitoring.dashboards().values()
    for panel in monitoring.panels_of(board):
        grid = panel["gridPos"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, panel["title"]
        taken |= cells


def _runbook_anchors() -> dict[str, str]:
    """Heading anchors of docs/runbooks.md as GitHub makes them, by heading."""
    headings = re.findall(r"^#+ (.+)$", monitoring.RUNBOOKS.read_text(), re.MULTILINE)
    return {h: re.sub(r"[^a-z0-9 _-]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_alert_has_a_severity_words_and_a_runbook() -> None:
    anchors = _runbook_anchors()
    names = [rule["alert"] for rule in monitoring.alerts()]
    assert len(names) == len(set(names))
    for rule in monitoring.alerts():
        name = rule["alert"]
        assert name.startswith("Landlord"), name
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), name
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), name
        assert annotations["description"].strip(), name
        assert annotations["runbook_url"] == f"docs/runbooks.md#{anchors[name]}", name
    # ... and every alert section of the runbooks is about an alert that exists.
    assert {h for h in anchors if h.startswith("Landlord")} == set(names)


def test_the_monitoring_page_lists_every_alert_and_every_metric() -> None:
    page = (monitoring.ROOT / "docs" / "monitoring.md").read_text()
    for rule in monitoring.alerts():
        assert f"[{rule['alert']}](runbooks.md#" in page, rule["alert"]
    for family in set(families().values()) - {"up"}:
        assert f"`{family}`" in page or f"`{family}_total`" in page, family


def test_the_rules_file_is_a_prometheus_rules_file() -> None:
    rules = monitoring.rules()
    assert set(rules) == {"groups"}
    for group in rules["groups"]:
        assert set(group) == {"name", "rules"}, group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert promql.analyse(rule["expr"], monitoring.declared()).metrics


@pytest.mark.parametrize(
    ("outcome", "label"),
    [
        (Outcome(True, reasons.SUCCEEDED), "ready"),
        (Outcome(False, reasons.PROGRESSING), "progressing"),
        (Outcome(False, reasons.BUILD_FAILED), "failed"),
        (Outcome(False, reasons.POLICY_DENIED, stalled=True), "stalled"),
    ],
)
def test_a_sync_reconcile_is_observed_by_how_it_ended(outcome: Outcome, label: str) -> None:
    assert report.result_label(outcome) == label
