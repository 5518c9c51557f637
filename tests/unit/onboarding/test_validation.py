"""What a request may ask for: names, namespaces, quota bounds, source URLs."""

from __future__ import annotations

import decimal

import pytest

from landlord.api.tenant import TenantSpec
from landlord.gitops import durations
from landlord.onboarding import quantities, validation

BOUNDS = {"pods": "100", "requests.cpu": "8", "limits.memory": "16Gi"}


def _check(spec: dict[str, object]) -> dict[str, str]:
    return validation.check_spec(
        TenantSpec.model_validate(spec),
        platform_namespace="landlord-system",
        max_quota=BOUNDS,
        max_count=50,
        allowed_schemes=["https", "ssh"],
        bounds=durations.Bounds(),
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", decimal.Decimal("0.5")),
        ("2", decimal.Decimal(2)),
        ("16Gi", decimal.Decimal(16 * 2**30)),
        ("1e3", decimal.Decimal(1000)),
        ("1.5k", decimal.Decimal(1500)),
        (7, decimal.Decimal(7)),
    ],
)
def test_quantities_parse_like_kubernetes(text: str | int, value: decimal.Decimal) -> None:
    assert quantities.parse(text) == value


@pytest.mark.parametrize("text", ["lots", "1.2.3", "5 Gi", "", ".", "1Zi"])
def test_a_non_quantity_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a quantity"):
        quantities.parse(text)


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-anything", "landlord-system"])
def test_reserved_tenant_names(name: str) -> None:
    assert "reserved" in validation.check_name(name, "landlord-system")["name"]


def test_an_ordinary_name_passes() -> None:
    assert validation.check_name("team-a", "landlord-system") == {}


def test_quota_within_bounds_passes() -> None:
    assert (
        _check({"quota": {"pods": "100", "requests.cpu": "500m", "count/jobs.batch": "10"}}) == {}
    )


def test_quota_over_its_bound_names_the_bound() -> None:
    problems = _check({"quota": {"pods": "101", "limits.memory": "32Gi"}})
    assert problems["spec.quota.pods"] == "at most 100 (the platform's bound)"
    assert "16Gi" in problems["spec.quota.limits.memory"]


def test_quota_keys_that_are_not_resources_or_have_no_bound_are_refused() -> None:
    problems = _check(
        {"quota": {"colour": "1", "limits.cpu": "1", "count/pods": "51", "pods": "-1"}}
    )
    assert "not a quota resource" in problems["spec.quota.colour"]
    assert "no bound" in problems["spec.quota.limits.cpu"]
    assert "at most 50" in problems["spec.quota.count/pods"]
    assert "negative" in problems["spec.quota.pods"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://git.example.com/a.git", "scheme 'http' is not allowed"),
        ("https://user:pw@git.example.com/a.git", "credentials do not belong in the URL"),
        ("not a url", "must be a URL"),
    ],
)
def test_source_urls(url: str, problem: str) -> None:
    assert problem in _check({"source": {"url": url}})["spec.source.url"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://git.example.com/a.git?ref=main", "no query or fragment"),
        ("https://git.example.com/a\\b.git", "backslash"),
        ("https://git.example.com/a%2Fb.git", "escaped"),
    ],
)
def test_source_urls_the_operator_could_not_fetch_are_refused_before_the_commit(
    url: str, problem: str
) -> None:
    """What the sources reconciler would refuse (InvalidSource) is refused by the API first."""
    assert problem in _check({"source": {"url": url}})["spec.source.url"]


def test_the_policy_sees_one_spelling_of_a_url() -> None:
    assert validation.canonical_url("HTTPS://Git.Example.com.:443/team/../a.git") == (
        "https://git.example.com/a.git"
    )


def test_reserved_namespaces_are_refused() -> None:
    problems = _check({"namespaces": ["team", "kube-team", "landlord-system"]})
    assert "kube-team, landlord-system" in problems["spec.namespaces"]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"source": {"url": "https://git.example.com/a.git", "interval": "1ms"}}, "source"),
        (
            {
                "source": {"url": "https://git.example.com/a.git"},
                "sync": {"path": "./", "interval": "10000h"},
            },
            "sync",
        ),
    ],
)
def test_intervals_outside_the_platforms_bounds_are_refused_before_the_commit(
    spec: dict[str, object], field: str
) -> None:
    problems = _check(spec)

    assert f"spec.{field}.interval" in problems
    assert "between 10s and 24h" in problems[f"spec.{field}.interval"]
