"""The tag store keeps one scan per ImageRepository, whole, under checked path components."""

from __future__ import annotations

import pathlib

import pytest

from landlord.images.store import Scan, StoreError, TagStore


def test_a_scan_is_kept_and_read_back_whole(tmp_path: pathlib.Path) -> None:
    store = TagStore(tmp_path, max_tags=3)
    store.save("team-a", "app", Scan("r.example/app", ("1.0", "1.1"), "2026-01-01T00:00:00Z"))
    store.save("team-a", "app", Scan("r.example/app", ("1.0", "1.1", "2.0"), "later"))

    assert store.load("team-a", "app") == Scan("r.example/app", ("1.0", "1.1", "2.0"), "later")
    assert [p.name for p in (tmp_path / "team-a").iterdir()] == ["app.json"]  # no leftovers
    assert store.load("team-a", "other") is None


@pytest.mark.parametrize(("namespace", "name"), [("..", "app"), ("a", "../b"), ("a/b", "c")])
def test_a_name_that_is_no_kubernetes_name_never_reaches_the_filesystem(
    tmp_path: pathlib.Path, namespace: str, name: str
) -> None:
    store = TagStore(tmp_path / "tags", max_tags=3)

    with pytest.raises(StoreError):
        store.save(namespace, name, Scan("x", (), "now"))
    assert store.load(namespace, name) is None
    assert not (tmp_path / "tags").exists()


def test_more_tags_than_the_cap_are_refused_and_an_oversized_file_is_not_read(
    tmp_path: pathlib.Path,
) -> None:
    store = TagStore(tmp_path, max_tags=2)

    with pytest.raises(StoreError):
        store.save("a", "b", Scan("x", ("1", "2", "3"), "now"))
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.json").write_text('{"image": "x", "tags": ["1", "2", "3"], "time": "t"}')
    assert store.load("a", "b") is None
