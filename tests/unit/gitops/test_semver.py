"""Semver ranges over tags: the highest match wins; prereleases only when asked for."""

from __future__ import annotations

import pytest

from landlord.gitops.semver import Range, RangeError

TAGS = [
    "v1.0.0",
    "v1.2.3",
    "v1.9.0",
    "v2.0.0-rc1",
    "v2.0.0",
    "v2.1.0",
    "0.3.1",
    "0.3.9",
    "0.4.0",
    "latest",
    "v3",
]


@pytest.mark.parametrize(
    ("expression", "best"),
    [
        (">=1.0.0 <2.0.0", "v1.9.0"),
        ("^1.2", "v1.9.0"),
        ("~1.2", "v1.2.3"),
        ("1.x", "v1.9.0"),
        ("*", "v2.1.0"),
        ("^0.3", "0.3.9"),
        (">=2.0.0-rc0 <2.0.0", "v2.0.0-rc1"),
        ("2.0.0", "v2.0.0"),
        (">1.0.0 <1.5 || >=2.1", "v2.1.0"),
        (">= 1.2.3, <1.3".replace(",", ""), "v1.2.3"),
        (">=5", None),
    ],
)
def test_best_tag(expression: str, best: str | None) -> None:
    assert Range.parse(expression).best(TAGS) == best


def test_prereleases_are_skipped_unless_named() -> None:
    assert Range.parse(">=2.0.0-rc0").best(["v2.0.0-rc1"]) == "v2.0.0-rc1"
    assert Range.parse("^2").best(["v2.0.0-rc1", "v1.0.0"]) is None


@pytest.mark.parametrize("expression", ["", "banana", "^1.2.3.4", "|| ", "~>1"])
def test_bad_ranges_are_refused(expression: str) -> None:
    with pytest.raises(RangeError):
        Range.parse(expression)
