"""The PromQL checker finds what would leave a panel or an alert silently empty."""

from __future__ import annotations

import pytest

from tests.unit.telemetry import promql

CATALOGUE: dict[str, frozenset[str] | None] = {
    **promql.samples_of("requests_total", "counter", ["route", "status"]),
    **promql.samples_of("duration_seconds", "histogram", ["route"]),
    **promql.samples_of("ready", "gauge", []),
    "declared_only_total": None,  # declared, nothing recorded yet: labels unknown
    "up": frozenset(),
}


def problems(query: str) -> list[str]:
    return promql.analyse(query, CATALOGUE).problems


@pytest.mark.parametrize(
    "query",
    [
        'sum by (route, status) (rate(requests_total{job=~"$job", status=~"5.."}'
        "[$__rate_interval]))",
        "histogram_quantile(0.95, sum by (le, route) (rate(duration_seconds_bucket[5m])))",
        "sum(rate(requests_total[5m])) / sum(rate(requests_total[5m])) > 0.05",
        "ready == 0 and on (job, instance) (sum by (job, instance) (requests_total) > 0)",
        'absent(up{job="x"} == 1)',
        "count(sum by (route) (increase(requests_total[15m])) > 0) >= 5",
        "sum without (status) (requests_total)"
        " + on (route) group_left sum by (route) (duration_seconds_count)",
        "topk(3, sum by (route) (rate(requests_total[1h:5m] offset 1d)))",
        "-ready ^ 2 ^ 3 % 4",
        "sum(rate(duration_seconds_count[5m])) by (route)",
        'sum by (kind) (declared_only_total{kind="x"})',
        "vector(1) or ready",
    ],
)
def test_sound_queries_have_no_problems(query: str) -> None:
    assert problems(query) == []


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("rate(request_total[5m])", "request_total: no such metric"),
        ("duration_seconds_total", "duration_seconds_total: no such metric"),
        ('requests_total{namespace="a"}', "requests_total{namespace}: no such label"),
        ("sum by (namespace) (requests_total)", "sum by (namespace): not a label"),
        ("sum by (status) (sum by (route) (requests_total))", "sum by (status): not a label"),
        (
            "histogram_quantile(0.9, sum by (route) (rate(duration_seconds_bucket[5m])))",
            "no 'le' label",
        ),
        ("histogram_quantile(0.9, rate(duration_seconds_count[5m]))", "no 'le' label"),
        ("rate(requests_total)", "wants a range"),
        ("ready and on (route) requests_total", "on (route): not a label of both sides"),
        ('{__name__="ready"}', "a selector without"),
        ('ready{__name__="ready"}', "do not match __name__"),
        ("frobnicate(ready)", "does not know"),
    ],
)
def test_each_mistake_is_named(query: str, problem: str) -> None:
    try:
        found = problems(query)
    except promql.PromQLError as error:
        found = [str(error)]
    assert any(problem in p for p in found), found


def test_the_result_keeps_only_the_labels_that_survive() -> None:
    def result(query: str) -> frozenset[str] | None:
        return promql.analyse(query, CATALOGUE).result.labels

    assert result("sum by (route) (rate(requests_total[5m]))") == frozenset({"route"})
    assert result("sum(rate(requests_total[5m]))") == frozenset()
    quantile = "histogram_quantile(0.5, sum by (le, route) (duration_seconds_bucket))"
    assert result(quantile) == frozenset({"route"})
    assert result("sum without (status) (requests_total)") == promql.TARGET_LABELS | {"route"}
    assert result("up == 0") == promql.TARGET_LABELS
    assert result("declared_only_total") is None  # unknown: every label passes


@pytest.mark.parametrize(
    "query",
    [
        "rate(requests_total[$job])",  # a variable that is not a duration
        "sum by (route (requests_total)",
        "requests_total{route=}",
        "sum(requests_total) extra",
        'label_replace(ready, "a", "$1", "b", "(.*)")',  # not understood: said so, not passed
    ],
)
def test_what_it_cannot_read_is_an_error_not_a_pass(query: str) -> None:
    with pytest.raises(promql.PromQLError):
        promql.analyse(query, CATALOGUE)


def test_legends_and_annotations_name_their_labels() -> None:
    assert promql.legend_labels("{{route}} {{ status }} p95") == {"route", "status"}
    assert promql.annotation_labels(
        "{{ $labels.namespace }}/{{ $labels.name }} is {{ $value | humanize }}"
    ) == {"namespace", "name"}


def test_sample_names_follow_the_exposition_format() -> None:
    assert promql.samples_of("x_total", "counter", ["a"])["x_total"] == {"a"}
    histogram = promql.samples_of("h_seconds", "histogram", ["a"])
    assert histogram["h_seconds_bucket"] == {"a", "le"}
    assert histogram["h_seconds_count"] == {"a"}
    assert "h_seconds" not in histogram
