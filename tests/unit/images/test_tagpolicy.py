"""ImagePolicy tag selection: semver, numerical, alphabetical over filtered tags (as Flux)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from landlord.images import tagpolicy

SEMVER_TAGS = [
    "latest",
    "1.0.0",
    "v1.2.3",
    "1.2.4+build.7",
    "1.3.0-rc.1",
    "1.3.0-rc.2",
    "1.3.0-rc.10",
    "1.3.0-beta",
    "1.3.0",
    "2.0.0-alpha.1",
    "2.0.0-alpha.beta",
    "v2.0.0",
    "2.1",  # not strict semver: skipped, as Flux does
    "02.0.0",
    "3.0.0-0",
]
TIMESTAMPED = [
    "main-abc1234-1700000000",
    "main-def5678-1700000500",
    "main-0a1b2c3-1699999999",
    "feature-x-aaaaaaa-1800000000",
    "main-bad",
]
RFC3339ISH = [
    "2023-11-14T10-00-00Z",
    "2023-11-14T09-59-59Z",
    "2024-01-02T00-00-00Z",
    "2023-12-31T23-59-59Z",
]


def semver(expression: str) -> dict[str, Any]:
    return {"semver": {"range": expression}}


@pytest.mark.parametrize(
    ("tags", "policy", "filter_tags", "expected"),
    [
        # semver: the highest release in range, the original spelling back
        (SEMVER_TAGS, semver(">=1.0.0 <2.0.0"), None, "1.3.0"),
        (SEMVER_TAGS, semver(">=1.0.0, <2.0.0"), None, "1.3.0"),
        (SEMVER_TAGS, semver("^1.2"), None, "1.3.0"),
        (SEMVER_TAGS, semver("~1.2"), None, "1.2.4+build.7"),
        (SEMVER_TAGS, semver("~1.2.3"), None, "1.2.4+build.7"),
        (SEMVER_TAGS, semver("1.x"), None, "1.3.0"),
        (SEMVER_TAGS, semver("1.2.x"), None, "1.2.4+build.7"),
        (SEMVER_TAGS, semver("*"), None, "v2.0.0"),
        (SEMVER_TAGS, semver(">=1.0.0"), None, "v2.0.0"),
        (SEMVER_TAGS, semver("1.2.3"), None, "v1.2.3"),
        (SEMVER_TAGS, semver("=1.2.3"), None, "v1.2.3"),
        (SEMVER_TAGS, semver("<1.2 || >=2"), None, "v2.0.0"),
        (SEMVER_TAGS, semver("<1.2 || 1.2.3"), None, "v1.2.3"),
        (SEMVER_TAGS, semver("1.0 - 1.2"), None, "1.2.4+build.7"),
        (SEMVER_TAGS, semver(">1.2"), None, "v2.0.0"),
        (SEMVER_TAGS, semver(">1.2 <2"), None, "1.3.0"),
        (SEMVER_TAGS, semver("<=1.2"), None, "1.2.4+build.7"),
        (SEMVER_TAGS, semver("^1 !=1.3.0"), None, "1.2.4+build.7"),
        (SEMVER_TAGS, semver("^1 !=1.3"), None, "1.2.4+build.7"),
        (SEMVER_TAGS, semver(">=5"), None, None),
        # prereleases only when the range names one; semver 2.0 order (rc.10 > rc.2)
        (SEMVER_TAGS, semver("^1.3.0-0 <1.3.0"), None, "1.3.0-rc.10"),
        (["1.3.0-rc.1", "1.3.0-rc.2"], semver("^1"), None, None),
        (["1.3.0-rc.1", "1.3.0-rc.2"], semver(">=1.0.0-0"), None, "1.3.0-rc.2"),
        (
            ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-1", "1.0.0-beta.2"],
            semver(">=1.0.0-0"),
            None,
            "1.0.0-beta.2",
        ),
        (["1.0.0-1", "1.0.0-alpha"], semver(">=1.0.0-0 <1.0.0"), None, "1.0.0-alpha"),
        (["2.0.0-alpha.1", "2.0.0-alpha.beta"], semver("^2.0.0-alpha"), None, "2.0.0-alpha.beta"),
        # v prefix, build metadata: same version; the greatest spelling wins the tie
        (["1.0.0", "v1.0.0"], semver("1.0.0"), None, "v1.0.0"),
        (["1.0.0+a", "1.0.0+b"], semver("^1"), None, "1.0.0+b"),
        # semver over an extracted value
        (
            ["app-1.0.0", "app-1.4.0", "other-9.0.0"],
            semver("^1"),
            {"pattern": r"^app-(.*)$", "extract": "$1"},
            "app-1.4.0",
        ),
        # numerical: timestamps extracted from the tag; non-numeric skipped
        (
            TIMESTAMPED,
            {"numerical": {"order": "asc"}},
            {"pattern": r"^main-[a-f0-9]+-(?P<ts>[0-9]+)$", "extract": "$ts"},
            "main-def5678-1700000500",
        ),
        (
            TIMESTAMPED,
            {"numerical": {"order": "desc"}},
            {"pattern": r"^main-[a-f0-9]+-(?P<ts>[0-9]+)$", "extract": "${ts}"},
            "main-0a1b2c3-1699999999",
        ),
        (
            TIMESTAMPED,
            {"numerical": {}},
            {"pattern": r"-(\d+)$", "extract": "$1"},
            "feature-x-aaaaaaa-1800000000",
        ),
        (["1", "10", "9", "2.5", "abc", "1e1x"], {"numerical": {"order": "asc"}}, None, "10"),
        (["1", "10", "9", "2.5", "abc"], {"numerical": {"order": "desc"}}, None, "1"),
        (["-3", "0.5", ".25"], {"numerical": {"order": "desc"}}, None, "-3"),
        (["nan", "inf", "Infinity", "1_000", "0x10", "7"], {"numerical": {}}, None, "7"),
        (["abc", "def"], {"numerical": {}}, None, None),
        # exact order past 2**53: a float would call these equal
        (["9007199254740993", "9007199254740992"], {"numerical": {}}, None, "9007199254740993"),
        # alphabetical: asc picks the last in byte order, desc the first
        (RFC3339ISH, {"alphabetical": {"order": "asc"}}, None, "2024-01-02T00-00-00Z"),
        (RFC3339ISH, {"alphabetical": {}}, None, "2024-01-02T00-00-00Z"),
        (RFC3339ISH, {"alphabetical": {"order": "desc"}}, None, "2023-11-14T09-59-59Z"),
        (["b", "B", "a", "Z"], {"alphabetical": {"order": "asc"}}, None, "b"),
        (["b", "B", "a", "Z"], {"alphabetical": {"order": "desc"}}, None, "B"),
        (
            ["RELEASE.2023-01-01", "RELEASE.2024-05-01", "dev"],
            {"alphabetical": {}},
            {"pattern": r"^RELEASE\.(?P<date>.*)$", "extract": "$date"},
            "RELEASE.2024-05-01",
        ),
        # filter without extract: only matching tags, searched (not anchored) as Go does
        (["1.0.0", "1.1.0-debug", "1.2.0"], semver("*"), {"pattern": "^[0-9.]+$"}, "1.2.0"),
        (["x-1", "y-2", "x-3"], {"numerical": {}}, {"pattern": "x", "extract": ""}, None),
        (["x-1", "y-2", "x-3"], {"alphabetical": {}}, {"pattern": "x"}, "x-3"),
        # Go's ExpandString: literal text around references, "$$" a dollar
        (
            ["v1-2"],
            {"alphabetical": {}},
            {"pattern": r"^v(\d)-(\d)$", "extract": "$1.${2}$$"},
            "v1-2",
        ),
        # two tags extracting to the same value: the greatest original
        (["a-5", "b-5", "c-4"], {"numerical": {}}, {"pattern": r"-(\d)$", "extract": "$1"}, "b-5"),
        # an empty list, or nothing left after the filter
        ([], semver("*"), None, None),
        (["a", "b"], semver("*"), {"pattern": "^z"}, None),
    ],
)
def test_select(
    tags: list[str],
    policy: dict[str, Any],
    filter_tags: dict[str, Any] | None,
    expected: str | None,
) -> None:
    assert tagpolicy.select(tags, policy, filter_tags) == expected
    # the order the registry lists tags in never changes the pick
    assert tagpolicy.select(list(reversed(tags)), policy, filter_tags) == expected


@pytest.mark.parametrize(
    ("policy", "filter_tags", "message"),
    [
        (semver(""), None, "spec.policy.semver.range is required"),
        (semver("banana"), None, "spec.policy.semver.range: cannot parse 'banana'"),
        (semver("^1.2.3.4"), None, "cannot parse '^1.2.3.4'"),
        (semver(">=1 ||"), None, "empty alternative"),
        ({"semver": {}}, None, "spec.policy.semver.range is required"),
        ({}, None, "exactly one of: semver, numerical, alphabetical"),
        ({"semver": {"range": "*"}, "numerical": {}}, None, "(it sets semver, numerical)"),
        ({"newest": {}}, None, "unknown field 'newest'"),
        (
            {"numerical": {"order": "up"}},
            None,
            "spec.policy.numerical.order 'up' must be 'asc' or 'desc'",
        ),
        ({"alphabetical": {"order": "ASC"}}, None, "spec.policy.alphabetical.order 'ASC'"),
        ({"alphabetical": "asc"}, None, "spec.policy.alphabetical must be an object"),
        (
            semver("*"),
            {"pattern": "(unclosed"},
            "spec.filterTags.pattern '(unclosed' is not a regular expression RE2 accepts",
        ),
        (semver("*"), {"pattern": r"^(?=lookahead)"}, "RE2"),
        (semver("*"), {"pattern": r"(a)\1"}, "RE2"),
        (semver("*"), {"extract": "$1"}, "extract needs spec.filterTags.pattern"),
        (semver("*"), {"pattern": "(a)", "extract": "$2"}, "the pattern has no group 2 (it has 1)"),
        (
            semver("*"),
            {"pattern": "(?P<ts>a)", "extract": "$stamp"},
            "no group named 'stamp' (named groups: ts)",
        ),
        (
            semver("*"),
            {"pattern": "(?P<ts>a)", "extract": "${ts"},
            "a '$' that starts no group reference",
        ),
        (
            semver("*"),
            {"pattern": "(?P<ts>a)", "extract": "${t-s}"},
            "'${t-s}' is not a group reference",
        ),
        (semver("*"), {"pattern": "(a)", "extract": "$"}, "a '$' that starts no group reference"),
        (semver("*"), {"pattern": 5}, "must be strings"),
    ],
)
def test_invalid_policies_are_refused_with_a_clear_message(
    policy: dict[str, Any], filter_tags: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(tagpolicy.InvalidPolicyError) as caught:
        tagpolicy.select(["1.0.0"], policy, filter_tags)
    assert message in str(caught.value)
    with pytest.raises(tagpolicy.InvalidPolicyError):
        tagpolicy.validate(policy, filter_tags)


def test_an_invalid_policy_is_refused_even_without_tags() -> None:
    with pytest.raises(tagpolicy.InvalidPolicyError):
        tagpolicy.select([], semver("nope"), None)


def test_a_hundred_thousand_tags_are_fast() -> None:
    tags = [f"main-{i:07x}-{1_700_000_000 + i}" for i in range(50_000)]
    tags += [f"{i // 1000}.{i % 1000}.{i % 7}" for i in range(50_000)]
    policies: list[tuple[dict[str, Any], dict[str, Any] | None, str]] = [
        (semver(">=10 <40"), None, "39.999.1"),
        (
            {"numerical": {"order": "asc"}},
            {"pattern": r"^main-[0-9a-f]+-(?P<ts>\d+)$", "extract": "$ts"},
            f"main-{49_999:07x}-{1_700_049_999}",
        ),
        (
            {"alphabetical": {"order": "asc"}},
            {"pattern": "^main-"},
            f"main-{49_999:07x}-{1_700_049_999}",
        ),
    ]
    for policy, filter_tags, expected in policies:
        started = time.monotonic()
        assert tagpolicy.select(tags, policy, filter_tags) == expected
        assert time.monotonic() - started < 5.0, policy


def test_no_matching_tag_says_which_step_left_nothing() -> None:
    semver = {"semver": {"range": ">=1.0.0 <2.0.0"}}
    stamped = {"pattern": "^main-[a-f0-9]+-(?P<ts>[0-9]+)$", "extract": "$ts"}
    tags = ["main-abc-1700000000", "main-def-1700000100", "2.0.0"]

    assert tagpolicy.select(tags, semver, stamped) is None
    why = tagpolicy.why_none(tags, semver, stamped)
    assert why == (
        "2 tags match spec.filterTags.pattern ('main-def-1700000100' gives '1700000100'), "
        "but no value qualifies under spec.policy.semver"
    )
    assert tagpolicy.why_none(tags, semver, {"pattern": "^nope$"}) == (
        "no tag matches spec.filterTags.pattern"
    )
    assert tagpolicy.why_none(tags, semver, None) == "no tag qualifies under spec.policy.semver"
    assert tagpolicy.why_none([], semver, None) == "the ImageRepository found no tags"
