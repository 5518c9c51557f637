"""Splitting the published record into ConfigMap-sized parts."""

from __future__ import annotations

import hashlib

from landlord.policy import requests
from landlord.policy.requests import Request, Requester, Seen
from landlord.wiring import policy_requests


def _seen(count: int) -> list[Seen]:
    return [
        Seen(
            Request(
                (f"tenant:t{n}",),
                "source",
                f"https://git.example.com/{hashlib.sha256(str(n).encode()).hexdigest()[:16]}/{n}.git",
                "source",
                Requester("GitRepository", f"t{n}", f"t{n}"),
            ),
            1000.0 + n,
            "allow",
            "policy.csv:3",
        )
        for n in range(count)
    ]


def _encode(chunk: list[Seen], first: bool) -> bytes:
    return requests.dump(chunk, dropped=5 if first else 0)


def test_a_small_record_is_one_document() -> None:
    seen = _seen(10)
    [(count, data)] = policy_requests.split(seen, limit=10_000, encode=_encode)
    assert count == 10
    assert requests.read(data).seen == seen


def test_a_big_record_is_split_into_parts_under_the_limit_that_add_up_to_it() -> None:
    seen = _seen(3000)
    parts = policy_requests.split(seen, limit=20_000, encode=_encode)
    assert len(parts) > 2
    assert all(len(data) <= 20_000 for _, data in parts)
    documents = [requests.read(data) for _, data in parts]
    assert [s for d in documents for s in d.seen] == seen
    assert [count for count, _ in parts] == [len(d.seen) for d in documents]
    # The totals travel once: a reader adds them up across documents.
    assert [d.dropped for d in documents] == [5] + [0] * (len(parts) - 1)


def test_names_of_shards() -> None:
    assert policy_requests.name_of("") == "landlord-policy-requests"
    assert policy_requests.name_of("eu") == "landlord-policy-requests-eu"


def test_a_slow_publish_spaces_the_next_ones_out() -> None:
    publisher = policy_requests.Publisher(
        kube_client=None,  # type: ignore[arg-type]
        recorder=requests.Recorder(),
        namespace="landlord-system",
        interval=1.0,
    )
    assert publisher.next_wait(0.01) == 1.0
    assert publisher.next_wait(0.5) == policy_requests.BUSY_FACTOR * 0.5
