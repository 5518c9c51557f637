"""The source reconciler's pure steps: which commit a ref selects, and the status it writes."""

from __future__ import annotations

import pytest

from landlord import git
from landlord.api import conditions, reasons
from landlord.runtime.outcome import Outcome
from landlord.sources import refs, selection, status

A, B, C = "a" * 40, "b" * 40, "c" * 40
REMOTE = git.RemoteRefs(
    {"refs/heads/main": A, "refs/tags/v1.0.0": B, "refs/tags/v1.2.0": C, "refs/tags/other": B}
)
URL = "https://git.example/a.git"


@pytest.mark.parametrize(
    ("ref", "target"),
    [
        (None, selection.Target(A, f"main@sha1:{A}", "refs/heads/main")),
        ({"tag": "v1.0.0"}, selection.Target(B, f"v1.0.0@sha1:{B}", "refs/tags/v1.0.0")),
        ({"semver": "^1"}, selection.Target(C, f"v1.2.0@sha1:{C}", "refs/tags/v1.2.0")),
        ({"commit": B}, selection.Target(B, f"sha1:{B}", B)),
    ],
)
def test_a_ref_selects_a_commit(ref: dict[str, str] | None, target: selection.Target) -> None:
    assert selection.choose(refs.Ref.from_spec(ref), REMOTE, URL) == target


@pytest.mark.parametrize(
    "ref", [{"branch": "gone"}, {"tag": "v9"}, {"semver": ">=2"}, {"commit": A, "branch": "gone"}]
)
def test_a_ref_that_selects_nothing_is_ref_not_found(ref: dict[str, str]) -> None:
    with pytest.raises(git.GitError) as raised:
        selection.choose(refs.Ref.from_spec(ref), REMOTE, URL)

    assert raised.value.reason == reasons.REF_NOT_FOUND


def test_a_failure_keeps_the_artifact_it_is_given() -> None:
    body = {"metadata": {"name": "a", "namespace": "n", "generation": 2}, "status": {}}
    kept = {"revision": f"main@sha1:{A}", "digest": "sha256:x", "lastUpdateTime": "t"}

    new = status.render(body, Outcome(False, reasons.REF_NOT_FOUND, "gone"), kept, "now")

    assert new["artifact"] == kept
    assert new["observedGeneration"] == 2
    assert new["lastHandledReconcileAt"] == "now"
    ready = conditions.get(new["conditions"], conditions.READY)
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("False", reasons.REF_NOT_FOUND)
