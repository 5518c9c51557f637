"""The record of requests: dedup, bounds, settle/forget, merge, the published form, threads."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable

import pytest

from landlord import telemetry
from landlord.policy import requests
from landlord.policy.engine import DEFAULTS, Policy, Snapshot
from landlord.policy.gate import Gate
from landlord.policy.requests import Recorder, Request, Requester, Seen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def ask(
    point: str, obj: str, subject: str = "tenant:a", requester: Requester | None = None
) -> Request:
    return Request((subject,), point, obj, point, requester)


WEB = Requester("Kustomization", "team-a", "web")
DB = Requester("Kustomization", "team-b", "db")


def objects(recorder: Recorder, requester: Requester | None = None) -> set[str]:
    return {
        f"{s.request.action} {s.request.object}"
        for s in recorder.seen()
        if requester is None or s.request.requester == requester
    }


def reconcile_asking(
    recorder: Recorder, kind: str, asked: list[tuple[str, str]], result: object = "ok"
) -> Callable[[str], object]:
    gate = Gate(recorder=recorder)

    def reconcile(key: str) -> object:
        for point, obj in asked:
            gate.check(point, ["tenant:a"], obj)
        return result

    return requests.attributed(kind, reconcile, recorder)


# -- dedup, time, bounds -----------------------------------------------------------------


def test_a_request_asked_again_is_kept_once_with_its_latest_time_and_answer() -> None:
    clock = Clock()
    recorder = Recorder(clock=clock)
    recorder.record(ask("source", "https://git/a"), "deny", "policy.csv:1")
    version = recorder.version
    recorder.record(ask("source", "https://git/a"), "deny", "policy.csv:1")
    assert len(recorder) == 1
    assert recorder.version == version  # only its time moved: nothing to publish
    recorder.record(ask("source", "https://git/a"), "allow", "policy.csv:2")
    [seen] = recorder.seen()
    assert (seen.last_seen, seen.effect, seen.rule) == (clock.now, "allow", "policy.csv:2")
    assert recorder.version == version + 1


def test_the_overall_bound_drops_the_least_recently_seen_and_counts_them() -> None:
    recorder = Recorder(limit=3, clock=Clock())
    for n in range(3):
        recorder.record(ask("source", f"https://git/{n}"))
    recorder.record(ask("source", "https://git/0"))  # seen again: now the newest
    recorder.record(ask("source", "https://git/3"))
    assert objects(recorder) == {
        "source https://git/0",
        "source https://git/2",
        "source https://git/3",
    }
    assert recorder.dropped == 1


def test_one_requester_over_its_bound_is_cut_short_and_said_so_others_keep_theirs() -> None:
    recorder = Recorder(limit=100, per_requester=5, clock=Clock())
    recorder.record(ask("depend", "team-c/x", requester=DB))
    for n in range(50):
        recorder.record(ask("apply", f"example.com/Kind{n}", requester=WEB))
    assert len(objects(recorder, WEB)) == 5
    assert objects(recorder, DB) == {"depend team-c/x"}
    assert recorder.overflowing == {WEB}
    assert recorder.dropped == 0
    # Requests it already holds are still refreshed.
    recorder.record(ask("apply", "example.com/Kind0", requester=WEB))
    assert len(objects(recorder, WEB)) == 5


def test_one_namespace_over_its_bound_cannot_push_out_other_tenants() -> None:
    recorder = Recorder(limit=100, per_requester=5, per_namespace=12, clock=Clock())
    recorder.record(ask("depend", "team-c/x", requester=DB))
    owner = Requester("Tenant", "", "team-a")
    for n in range(20):
        recorder.record(ask("api:get", "tenants/team-a", subject=f"user:u{n}", requester=owner))
    flood = [Requester("Kustomization", "team-a", f"k{n}") for n in range(10)]
    for requester in flood:
        for kind in range(5):
            recorder.record(ask("apply", f"example.com/Kind{kind}", requester=requester))
    held = sum(len(objects(recorder, r)) for r in flood)
    assert held == 12
    assert objects(recorder, DB) == {"depend team-c/x"}
    # Cluster-scoped requesters (Tenants) count against their own bound only.
    assert sum(1 for s in recorder.seen() if s.request.requester == owner) == 5
    assert recorder.overflowing >= set(flood[3:])
    assert recorder.dropped == 0
    # A forgotten object gives its share of the namespace back.
    recorder.forget(flood[0])
    recorder.record(ask("apply", "example.com/Late", requester=flood[9]))
    assert "apply example.com/Late" in objects(recorder, flood[9])


def test_userinfo_never_reaches_the_record() -> None:
    recorder = Recorder()
    recorder.record(ask("source", "https://user:secret@git.example.com/a.git"))
    recorder.record(ask("source", "ssh://git@git.example.com/b.git"))
    text = gzip.decompress(requests.dump(recorder.seen())).decode()
    assert "secret" not in text
    assert "user:" not in text
    assert "git@" not in text
    assert objects(recorder) == {
        "source https://git.example.com/a.git",
        "source ssh://git.example.com/b.git",
    }


# -- settle and forget ---------------------------------------------------------------------


def test_a_new_revision_without_a_kind_drops_its_apply_request() -> None:
    recorder = Recorder(clock=Clock())
    first = reconcile_asking(
        recorder, "Kustomization", [("apply", "core/ConfigMap"), ("apply", "apps/Deployment")]
    )
    first("team-a/web")
    reconcile_asking(recorder, "Kustomization", [("apply", "core/ConfigMap")])("team-a/web")
    assert objects(recorder, WEB) == {"apply core/ConfigMap"}


def test_a_reconcile_that_did_not_decide_at_a_point_keeps_its_requests_there() -> None:
    recorder = Recorder(clock=Clock())
    reconcile_asking(
        recorder, "Kustomization", [("depend", "team-b/db"), ("apply", "core/ConfigMap")]
    )("team-a/web")
    # Its source is not there: it stopped before building; its kinds stay as they were.
    reconcile_asking(recorder, "Kustomization", [("depend", "team-b/db")])("team-a/web")
    assert objects(recorder, WEB) == {"depend team-b/db", "apply core/ConfigMap"}


def test_deciding_at_a_point_without_asking_there_drops_what_it_had() -> None:
    recorder = Recorder(clock=Clock())
    reconcile_asking(recorder, "Kustomization", [("depend", "team-b/db")])("team-a/web")

    def without_edges(key: str) -> str:
        requests.decided("depend", "source")  # the spec has no cross-tenant edge any more
        return "ok"

    requests.attributed("Kustomization", without_edges, recorder)("team-a/web")
    assert objects(recorder, WEB) == set()


def test_a_reconcile_returning_none_forgets_its_requester_only() -> None:
    recorder = Recorder(clock=Clock())
    reconcile_asking(recorder, "Kustomization", [("depend", "team-c/x")])("team-b/db")
    reconcile_asking(recorder, "Kustomization", [("depend", "team-b/db")])("team-a/web")
    gone = reconcile_asking(recorder, "Kustomization", [], result=None)
    gone("team-a/web")
    assert objects(recorder, WEB) == set()
    assert objects(recorder, DB) == {"depend team-c/x"}


def test_a_failing_reconcile_drops_nothing_it_may_not_have_reached() -> None:
    recorder = Recorder(clock=Clock())
    reconcile_asking(
        recorder, "Kustomization", [("apply", "core/ConfigMap"), ("apply", "core/Secret")]
    )("team-a/web")
    gate = Gate(recorder=recorder)

    def failing(key: str) -> object:
        gate.check("apply", ["tenant:a"], "core/ConfigMap")
        raise RuntimeError("the apiserver went away")

    with pytest.raises(RuntimeError):
        requests.attributed("Kustomization", failing, recorder)("team-a/web")
    # It stopped after the first kind: core/Secret may well still be in its revision.
    assert objects(recorder, WEB) == {"apply core/ConfigMap", "apply core/Secret"}


def test_forget_clears_overflowing() -> None:
    recorder = Recorder(per_requester=1, clock=Clock())
    recorder.record(ask("apply", "a/A", requester=WEB))
    recorder.record(ask("apply", "a/B", requester=WEB))
    assert recorder.overflowing == {WEB}
    recorder.forget(WEB)
    assert recorder.overflowing == set()
    assert len(recorder) == 0


def test_unrecorded_checks_are_neither_kept_nor_credited_to_the_running_reconcile() -> None:
    recorder = Recorder(clock=Clock())
    reconcile_asking(recorder, "Kustomization", [("depend", "team-b/db")])("team-a/web")
    gate = Gate(recorder=recorder)

    def reconcile(key: str) -> str:
        with requests.unrecorded():  # an Alert's per-Event check, made inside this reconcile
            gate.check("depend", ["tenant:c"], "team-a/web")
        return "ok"

    requests.attributed("Kustomization", reconcile, recorder)("team-a/web")
    assert objects(recorder) == {"depend team-b/db"}


# -- merge -----------------------------------------------------------------------------------


def test_merge_takes_older_requests_without_overwriting_newer_ones() -> None:
    recorder = Recorder(clock=Clock())
    recorder.record(ask("source", "https://git/a", requester=WEB), "allow", "policy.csv:2")
    previous = [
        Seen(ask("source", "https://git/a", requester=WEB), 5.0, "deny", "policy.csv:9"),
        Seen(ask("source", "https://git/b", requester=DB), 7.0, "allow", "policy.csv:3"),
        Seen(ask("source", "https://git/c", requester=DB), 6.0, "allow", "policy.csv:3"),
    ]
    recorder.merge(previous, overflowing=[DB], dropped=4)
    seen = recorder.seen()
    assert [s.request.object for s in seen] == ["https://git/c", "https://git/b", "https://git/a"]
    assert seen[-1].effect == "allow"  # what this process decided stays
    assert recorder.overflowing == {DB}
    assert recorder.dropped == 4


def test_merge_stays_within_the_bounds_keeping_the_newest() -> None:
    recorder = Recorder(limit=3, per_requester=2, clock=Clock())
    recorder.merge([Seen(ask("apply", f"a/K{n}", requester=WEB), float(n)) for n in range(5)])
    assert objects(recorder) == {"apply a/K4", "apply a/K3"}
    assert recorder.overflowing == {WEB}
    recorder.merge([Seen(ask("apply", f"b/K{n}", requester=DB), float(n)) for n in range(5)])
    assert len(recorder) == 3


# -- the published form ---------------------------------------------------------------------


def test_dump_and_read_round_trip_with_what_the_bounds_left_out() -> None:
    recorder = Recorder(clock=Clock())
    recorder.record(ask("depend", "team-b/db", requester=WEB), "allow", "policy.csv:14")
    recorder.record(Request(("user:ann", "role:tenant-owner"), "api:get", "tenants/a"), "allow")
    data = requests.dump(
        recorder.seen(), origin="pod/default", digest="sha256:x", overflowing=[WEB, None], dropped=3
    )
    published = requests.read(data)
    assert published.seen == recorder.seen()
    assert published.overflowing == [None, WEB]
    assert (published.dropped, published.origin, published.digest) == (3, "pod/default", "sha256:x")
    assert list(requests.load(data)) == recorder.seen()


@pytest.mark.parametrize(
    "data",
    [
        b"not gzip",
        gzip.compress(b"{not json"),
        gzip.compress(json.dumps({"format": "something/else", "requests": []}).encode()),
        gzip.compress(json.dumps(["a list"]).encode()),
        gzip.compress(
            json.dumps({"format": requests.FORMAT, "requests": [{"subjects": "tenant:a"}]}).encode()
        ),
        gzip.compress(
            json.dumps(
                {
                    "format": requests.FORMAT,
                    "requests": [
                        {"subjects": ["tenant:a"], "action": "depend", "object": 5, "lastSeen": 1}
                    ],
                }
            ).encode()
        ),
        gzip.compress(json.dumps({"format": requests.FORMAT, "dropped": "many"}).encode()),
        requests.dump([])[:-4],  # cut short
    ],
)
def test_damaged_or_foreign_data_is_a_format_error(data: bytes) -> None:
    with pytest.raises(requests.FormatError):
        requests.read(data)
    with pytest.raises(requests.FormatError):
        list(requests.load(data))


# -- attribution across threads ------------------------------------------------------------------


def test_two_reconciles_on_two_threads_do_not_mix_their_requesters() -> None:
    recorder = Recorder()
    gate = Gate(recorder=recorder)
    both_inside = threading.Barrier(2)

    def reconcile(key: str) -> str:
        namespace = key.partition("/")[0]
        for n in range(50):
            gate.check("apply", [f"tenant:{namespace}"], f"{namespace}.example.com/K{n}")
            if n == 25:
                both_inside.wait(timeout=10)
        return "ok"

    wrapped = requests.attributed("Kustomization", reconcile, recorder)
    threads = [threading.Thread(target=wrapped, args=(key,)) for key in ("team-a/web", "team-b/db")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seen in recorder.seen():
        requester = seen.request.requester
        assert requester is not None
        assert seen.request.object.startswith(f"{requester.namespace}.")
        assert seen.request.subjects == (f"tenant:{requester.namespace}",)
    assert len(recorder) == 100
    assert requests.current() is None


def test_without_a_recorder_the_reconcile_is_not_wrapped() -> None:
    def reconcile(key: str) -> str:
        return key

    assert requests.attributed("Kustomization", reconcile, None) is reconcile


# -- the gate ---------------------------------------------------------------------------------


def _policy(text: str) -> Policy:
    return Policy(Snapshot((DEFAULTS / "model.conf").read_text(), text, "test"))


def test_an_unrecorded_view_follows_reloads_and_records_nothing() -> None:
    recorder = Recorder()
    gate = Gate(recorder=recorder)
    view = gate.unrecorded()
    assert not view.check("depend", ["tenant:a"], "team-b/db").allowed  # nothing in force: deny
    gate.replace(_policy("p, tenant:a, depend, team-b/db, allow\n"))
    assert view.version == gate.version == 1
    assert view.policy is gate.policy
    assert view.check("depend", ["tenant:a"], "team-b/db").allowed
    assert len(recorder) == 0
    gate.check("depend", ["tenant:a"], "team-b/db")
    assert len(recorder) == 1


def test_note_decides_and_records_without_counting_a_decision() -> None:
    metrics = telemetry.Metrics()
    recorder = Recorder()
    gate = Gate(
        _policy("p, role:tenant-owner, api:get, tenants/*, allow\n"),
        recorder=recorder,
        metrics=metrics,
    )
    decision = gate.note("api", ["user:ann", "role:tenant-owner"], "tenants/a", action="api:get")
    assert decision.allowed
    [seen] = recorder.seen()
    assert (seen.request.action, seen.request.point, seen.effect) == ("api:get", "api", "allow")
    assert seen.rule == "policy.csv:1"
    assert 'point="api"' not in metrics.exposition().decode()
    gate.check("api", ["user:ann"], "tenants/a", action="api:get")
    assert 'landlord_policy_decisions_total{decision="deny",point="api"} 1.0' in (
        metrics.exposition().decode()
    )


def test_a_document_that_inflates_past_the_limit_is_refused_before_it_is_held() -> None:
    bomb = gzip.compress(b"{" + b" " * 5_000_000 + b"}")
    with pytest.raises(requests.FormatError, match="inflates past"):
        requests.read(bomb, limit=1_000_000)
    assert requests.read(requests.dump([]), limit=1_000).seen == []
