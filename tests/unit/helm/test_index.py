"""A repository's index: parsed with caps, and the version a range selects."""

from __future__ import annotations

import pytest

from landlord.helm import index

INDEX = b"""
apiVersion: v1
entries:
  web:
    - {name: web, version: 1.2.0, urls: [web-1.2.0.tgz], digest: abc}
    - {name: web, version: 1.10.0, urls: [web-1.10.0.tgz]}
    - {name: web, version: 2.0.0-rc.1, urls: [web-2.0.0-rc.1.tgz]}
    - {name: web, version: 0.9.0, urls: []}
  db:
    - {name: db, version: 3.0.0, urls: ["https://elsewhere.example/db-3.0.0.tgz"]}
"""


def test_the_highest_release_in_range_is_selected() -> None:
    parsed = index.parse(INDEX, source="repo")

    assert parsed.select("web", "*").version == "1.10.0"  # 1.10 > 1.2: not string order
    assert parsed.select("web", "~1.2").version == "1.2.0"
    assert parsed.select("web", ">=2.0.0-rc.0").version == "2.0.0-rc.1"  # asked for


def test_a_version_without_urls_is_skipped_like_helm_does() -> None:
    parsed = index.parse(INDEX, source="repo")

    with pytest.raises(index.ChartNotFoundError, match=r"no version of chart 'web' matches '0\.9'"):
        parsed.select("web", "0.9")


def test_a_missing_chart_says_so() -> None:
    with pytest.raises(index.ChartNotFoundError, match="no chart named 'api'"):
        index.parse(INDEX, source="repo").select("api", "*")


def test_the_stored_form_keeps_what_is_used() -> None:
    parsed = index.parse(INDEX, source="repo")

    again = index.Index.from_json(parsed.to_json())

    assert again == parsed
    assert again.select("web", "1.2.0").digest == "abc"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"entries: [1, 2]", "no 'entries' map"),
        (b"just text", "no 'entries' map"),
        (b"a: &x [1]\nentries: {web: *x}", "aliases"),
        (b"entries: !!python/object:os.system {}", "tag"),
        (b"\xff\xfe", "not UTF-8"),
        (b"entries: {web: [", "not valid YAML"),
    ],
)
def test_an_unusable_index_is_refused_with_the_reason(text: bytes, message: str) -> None:
    with pytest.raises(index.InvalidIndexError, match=message):
        index.parse(text, source="repo")


def test_too_many_versions_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "MAX_VERSIONS", 3)

    with pytest.raises(index.InvalidIndexError, match="more than 3 chart versions"):
        index.parse(INDEX, source="repo")


def test_chart_urls_are_made_absolute_against_the_repository() -> None:
    assert index.chart_url("http://h/charts", "web-1.tgz") == "http://h/charts/web-1.tgz"
    assert index.chart_url("http://h/charts/", "https://o/x.tgz") == "https://o/x.tgz"
    assert index.index_url("http://h/charts/") == "http://h/charts/index.yaml"
