"""What Landlord ships for monitoring — the Grafana dashboard and the alert rules — as queries.

Shared by the unit test (held to the families :class:`landlord.telemetry.Metrics`
declares) and the control-plane test (held to a running operator's
``/metrics``). Each query comes with the labels it prints (a legend's
``{{label}}``, an annotation's ``$labels.label``), which its result must carry.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
from typing import Any

import yaml
from prometheus_client import metrics as client_metrics
from prometheus_client.parser import text_string_to_metric_families

from landlord import telemetry
from tests.unit.telemetry import promql

ROOT = pathlib.Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "landlord"
DASHBOARDS = CHART / "dashboards"
RULES = CHART / "files" / "prometheus-rules.yaml"
RUNBOOKS = ROOT / "docs" / "runbooks.md"

# Series Prometheus makes itself for each scrape target, with no labels of their own.
SCRAPE_SERIES: dict[str, frozenset[str] | None] = {"up": frozenset()}


@dataclasses.dataclass(frozen=True)
class Query:
    """One PromQL expression we ship, where it is, and the labels it prints."""

    where: str
    expr: str
    prints: frozenset[str] = frozenset()


def dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard the chart ships, by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels_of(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    found: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panels_of(panel))
    return found


def dashboard_queries(name: str, dashboard: dict[str, Any]) -> list[Query]:
    """Each panel target's expression, and each query variable's ``label_values(...)``."""
    queries = [
        Query(
            f"{name}: panel {panel.get('title')!r} target {target.get('refId')}",
            target["expr"],
            frozenset(promql.legend_labels(target.get("legendFormat") or "")),
        )
        for panel in panels_of(dashboard)
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else str(query)
        match = re.fullmatch(r"\s*label_values\((.+),\s*([a-zA-Z_]\w*)\s*\)\s*", text)
        assert match, f"{name}: variable {variable['name']}: only label_values(...) is checked"
        where = f"{name}: variable {variable['name']}"
        queries.append(Query(where, match.group(1), frozenset({match.group(2)})))
    return queries


def rules() -> dict[str, Any]:
    return dict(yaml.safe_load(RULES.read_text()))


def alerts() -> list[dict[str, Any]]:
    return [rule for group in rules()["groups"] for rule in group["rules"] if "alert" in rule]


def rule_queries() -> list[Query]:
    """Each alert's expression, with the labels its annotations print."""
    return [
        Query(
            f"alert {rule['alert']}",
            rule["expr"],
            frozenset(
                label
                for text in (rule.get("annotations") or {}).values()
                for label in promql.annotation_labels(str(text))
            ),
        )
        for rule in alerts()
    ]


def shipped_queries() -> list[Query]:
    """Every query of every dashboard, and every alert's."""
    found = [q for name, board in dashboards().items() for q in dashboard_queries(name, board)]
    return found + rule_queries()


def declared() -> dict[str, frozenset[str] | None]:
    """Sample names and labels of the families ``Metrics()`` declares, and ``up``."""
    catalogue: dict[str, frozenset[str] | None] = dict(SCRAPE_SERIES)
    for metric in vars(telemetry.Metrics()).values():
        if isinstance(metric, client_metrics.MetricWrapperBase):
            (family,) = metric.describe()
            # The label names are only on the wrapper (a family has them once sampled).
            labels = metric._labelnames
            catalogue.update(promql.samples_of(family.name, family.type, labels))
    return catalogue


def exported(exposition: str) -> dict[str, frozenset[str] | None]:
    """Sample names of the families an exposition declares (``# TYPE``), and ``up``.

    A family's labels are known from its samples; a labelled family nothing
    was recorded in yet has none, and its labels are None (unknown).
    """
    catalogue: dict[str, frozenset[str] | None] = dict(SCRAPE_SERIES)
    for family in text_string_to_metric_families(exposition):
        for name in promql.samples_of(family.name, family.type, ()):
            catalogue[name] = None
        for sample in family.samples:
            labels = frozenset(sample.labels)
            known = catalogue.get(sample.name)
            catalogue[sample.name] = labels if known is None else known | labels
    return catalogue


def problems(queries: list[Query], catalogue: promql.Catalogue) -> list[str]:
    """What is wrong with each query, against ``catalogue``: one line per problem."""
    found: list[str] = []
    for query in queries:
        try:
            analysis = promql.analyse(query.expr, catalogue)
        except promql.PromQLError as error:
            found.append(f"{query.where}: {error}")
            continue
        found += [f"{query.where}: {problem}" for problem in analysis.problems]
        for label in sorted(query.prints):
            if not analysis.result.has(label):
                found.append(f"{query.where}: prints {label!r}, which its result does not carry")
    return found


def metrics_named(queries: list[Query], catalogue: promql.Catalogue) -> set[str]:
    """The sample names the queries use."""
    return {name for query in queries for name in promql.analyse(query.expr, catalogue).metrics}
