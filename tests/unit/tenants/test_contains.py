"""The no-op check: skip a write when the live object already holds what we want."""

from __future__ import annotations

from landlord.gitops.objects import contains


def test_extra_live_fields_do_not_matter() -> None:
    live = {"metadata": {"name": "x", "labels": {"a": "1", "k8s": "2"}, "uid": "u"}}
    assert contains(live, {"metadata": {"name": "x", "labels": {"a": "1"}}})


def test_a_changed_or_missing_field_matters() -> None:
    live = {"spec": {"hard": {"pods": "5"}}}
    assert not contains(live, {"spec": {"hard": {"pods": "10"}}})
    assert not contains(live, {"spec": {"hard": {"pods": "5", "cpu": "1"}}})


def test_lists_compare_whole() -> None:
    wanted = {"subjects": [{"kind": "User", "name": "alice"}]}
    assert contains({"subjects": [{"kind": "User", "name": "alice", "apiGroup": "g"}]}, wanted)
    assert not contains(
        {"subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "mallory"}]},
        wanted,
    )
