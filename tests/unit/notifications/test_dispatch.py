"""Matching, payloads and the delivery queue (a real HTTP server on loopback, no apiserver)."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from landlord import errors
from landlord.api import notification as model
from landlord.git import network, pinned
from landlord.notifications import payloads, sender
from landlord.notifications.dispatcher import Dispatcher, parse_headers
from landlord.notifications.event import Event
from landlord.notifications.matching import Filter, InvalidPatternError
from tests.fixtures.notify import Recorder

SHA = "0123456789abcdef0123456789abcdef01234567"


def _event(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "api_version": "landlord.dev/v1alpha1",
        "kind": "Kustomization",
        "name": "web",
        "namespace": "team-a",
        "uid": "u-1",
        "reason": "BuildFailed",
        "message": "deploy/broken.yaml: not YAML",
        "severity": "error",
        "timestamp": "2026-11-30T08:00:00Z",
        "revision": f"main@sha1:{SHA}",
        "annotated": True,
    }
    return Event(**{**fields, **changes})


def _alert(**spec: Any) -> Filter:
    body = {
        "providerRef": {"name": "out"},
        "eventSources": [{"kind": "Kustomization", "name": "*"}],
        **spec,
    }
    return Filter.of("team-a", "alert", model.AlertSpec.model_validate(body))


def test_an_alert_matches_by_source_severity_labels_and_lists() -> None:
    assert _alert().matches(_event())
    assert not _alert(eventSources=[{"kind": "GitRepository", "name": "*"}]).matches(_event())
    assert not _alert(eventSeverity="error").matches(_event(severity="info"))
    assert _alert(eventSeverity="error").matches(_event())
    labelled = _alert(
        eventSources=[{"kind": "Kustomization", "name": "*", "matchLabels": {"a": "b"}}]
    )
    assert not labelled.matches(_event())
    assert labelled.matches(_event(object_labels=(("a", "b"),)))
    assert not _alert(
        eventSources=[{"kind": "Kustomization", "name": "web", "namespace": "b"}]
    ).matches(_event())
    assert not _alert(inclusionList=["^Applied"]).matches(_event())
    assert not _alert(exclusionList=[r"broken\.yaml"]).matches(_event())
    assert not _alert(suspend=True).matches(_event())


def test_patterns_are_re2_linear_and_refused_when_re2_cannot_compile_them() -> None:
    started = time.monotonic()
    heavy = _alert(exclusionList=["(a+)+$"])
    assert heavy.matches(_event(message="a" * 5000 + "!"))
    assert time.monotonic() - started < 1.0
    with pytest.raises(InvalidPatternError, match="RE2"):
        _alert(inclusionList=[r"(a)\1"])


def test_commit_status_urls_follow_the_forge() -> None:
    github = payloads.Target("github", "https://github.com/team/app.git", token="t")
    request = payloads.render(github, _event(severity="info", reason="ReconciliationSucceeded"))
    assert request.url == f"https://api.github.com/repos/team/app/statuses/{SHA}"
    enterprise = payloads.Target("github", "https://git.corp.example/team/app", token="t")
    assert payloads.render(enterprise, _event()).url.startswith(
        "https://git.corp.example/api/v3/repos/team/app/statuses/"
    )
    gitlab = payloads.Target("gitlab", "https://gitlab.com/group/sub/app", token="t")
    request = payloads.render(gitlab, _event())
    assert request.url == f"https://gitlab.com/api/v4/projects/group%2Fsub%2Fapp/statuses/{SHA}"
    assert request.header("PRIVATE-TOKEN") == "t"
    with pytest.raises(payloads.NotForThisProviderError, match="names no commit"):
        payloads.render(github, _event(revision=""))
    # Only a revision the Event names is posted to: a source's status, a chart's digest, no.
    with pytest.raises(payloads.NotForThisProviderError):
        payloads.render(github, _event(annotated=False))
    with pytest.raises(payloads.NotForThisProviderError):
        payloads.render(github, _event(revision="sha256:" + "a" * 64))


@pytest.fixture
def server() -> Iterator[Recorder]:
    found = Recorder()
    yield found
    found.stop()


def _dispatcher(**options: Any) -> tuple[Dispatcher, list[str]]:
    woken: list[str] = []
    dispatcher = Dispatcher(
        None,
        check=lambda url: None,
        may_observe=lambda home, namespace, name: False,
        retries=(0.05, 0.05),
        on_provider=woken.append,
        **options,
    )
    return dispatcher, woken


def test_deliveries_are_deduplicated_and_retried_then_counted_as_failed(
    server: Recorder,
) -> None:
    dispatcher, woken = _dispatcher()
    dispatcher.set_provider(
        "team-a/out", model.ProviderSpec(type="generic", address=server.url("/hook"))
    )
    dispatcher.set_alert("team-a/alert", _alert())
    dispatcher.start()
    try:
        dispatcher.offer(_event())
        dispatcher.offer(_event())  # the same event again: deduplicated
        server.wait("/hook", 1)
        time.sleep(0.3)
        assert len(server.at("/hook")) == 1
        assert dispatcher.stats["team-a/out"].delivered == 1

        server.statuses["/hook"] = 503
        dispatcher.offer(_event(message="another failure"))
        server.wait("/hook", 4)  # the first try and two retries
        deadline = time.monotonic() + 5
        while dispatcher.stats["team-a/out"].failed == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = dispatcher.stats["team-a/out"]
        assert stats.failed == 1
        assert "HTTP 503" in stats.last_failure
        assert woken == ["team-a/out"]  # the Provider is told to show the failure

        server.statuses["/hook"] = 400  # not worth retrying
        dispatcher.offer(_event(message="third"))
        server.wait("/hook", 5)
        time.sleep(0.3)
        assert len(server.at("/hook")) == 5
    finally:
        dispatcher.stop()


def test_an_alert_over_its_rate_drops_events_and_offer_never_blocks(server: Recorder) -> None:
    dispatcher, _ = _dispatcher(alert_rate=0.001, alert_burst=3)
    dispatcher.set_provider(
        "team-a/out", model.ProviderSpec(type="generic", address=server.url("/r"))
    )
    dispatcher.set_alert("team-a/alert", _alert())
    started = time.monotonic()
    for index in range(50):
        dispatcher.offer(_event(message=f"event {index}"))
    assert time.monotonic() - started < 0.5  # nothing was sent from the caller's thread
    assert dispatcher.pending() == 3
    dispatcher.start()
    try:
        server.wait("/r", 3)
    finally:
        dispatcher.stop()


def test_an_ipv6_literal_connects_where_it_was_checked_not_to_its_last_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``[::ffff:7f00:1:8088]`` (no port) is port 80 of that address, not 127.0.0.1:8088."""
    parts = urllib.parse.urlsplit("http://[::ffff:7f00:1:8088]/hook")
    resolution = network.Resolution("::ffff:7f00:1:8088", 80, ("::ffff:7f00:1:8088",))
    connection = pinned.connection(parts, resolution, time.monotonic() + 1, None)
    assert (connection.host, connection.port) == ("::ffff:7f00:1:8088", 80)
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], timeout: float | None = None) -> None:
        attempts.append(address)
        raise OSError("refused")

    monkeypatch.setattr(pinned.socket, "create_connection", refuse)
    with pytest.raises(OSError, match="refused"):
        connection.connect()
    assert attempts == [("::ffff:7f00:1:8088", 80)]


def test_headers_from_the_secret_are_a_small_flat_mapping_without_aliases() -> None:
    assert parse_headers("X-Team: a\nX-Count: 3\n") == {"X-Team": "a", "X-Count": "3"}
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]\n'
    with pytest.raises(errors.TerminalError, match="anchors or aliases"):
        parse_headers(bomb)
    with pytest.raises(errors.TerminalError, match="plain values"):
        parse_headers("X-Nested: {a: b}\n")
    with pytest.raises(errors.TerminalError, match="larger than"):
        parse_headers("X: " + "a" * 10_000)


def test_messages_show_the_host_never_the_webhook_path(server: Recorder) -> None:
    server.statuses["/services/T000/B000/XXXXSECRET"] = 500
    url = server.url("/services/T000/B000/XXXXSECRET")
    with pytest.raises(sender.DeliveryError) as raised:
        sender.post(payloads.Request(url, b"{}", ()), lambda u: None, sender.Options(timeout=2))
    assert "XXXXSECRET" not in raised.value.message
    assert "answered HTTP 500" in raised.value.message
    for closed in ("http://127.0.0.1:9/x-secret-path", "http://[::1]:9/x-secret-path"):
        with pytest.raises(sender.DeliveryError) as raised:
            sender.post(
                payloads.Request(closed, b"{}", ()), lambda u: None, sender.Options(timeout=2)
            )
        assert "x-secret-path" not in raised.value.message
        assert "could not be reached" in raised.value.message


def test_one_slow_provider_holds_one_worker_and_gets_no_retries_once_failing(
    server: Recorder,
) -> None:
    dispatcher, _ = _dispatcher(workers=2)
    dispatcher.set_provider(
        "team-a/slow", model.ProviderSpec(type="generic", address=server.url("/slow"))
    )
    dispatcher.set_provider(
        "team-b/fast", model.ProviderSpec(type="generic", address=server.url("/fast"))
    )
    slow = _alert(providerRef={"name": "slow"})
    fast = Filter.of(
        "team-b",
        "alert",
        model.AlertSpec.model_validate(
            {
                "providerRef": {"name": "fast"},
                "eventSources": [{"kind": "Kustomization", "name": "*"}],
            }
        ),
    )
    dispatcher.set_alert("team-a/alert", slow)
    dispatcher.set_alert("team-b/alert", fast)
    server.statuses["/slow"] = 503
    dispatcher.start()
    try:
        for index in range(5):
            dispatcher.offer(_event(message=f"slow {index}"))
        dispatcher.offer(_event(namespace="team-b", message="fast"))
        server.wait("/fast", 1, timeout=5)
        deadline = time.monotonic() + 5
        while dispatcher.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        # Retries stop once the Provider is failing: far fewer than 5 × 3 attempts.
        assert 5 <= len(server.at("/slow")) < 5 * 3
    finally:
        dispatcher.stop()


def test_a_provider_its_check_refused_gets_one_attempt_until_the_check_passes(
    server: Recorder,
) -> None:
    dispatcher, _ = _dispatcher()
    dispatcher.set_provider(
        "team-a/out", model.ProviderSpec(type="generic", address=server.url("/x"))
    )
    dispatcher.set_alert("team-a/alert", _alert())
    dispatcher.unusable("team-a/out", "the address is refused")
    server.statuses["/x"] = 503
    dispatcher.start()
    try:
        dispatcher.offer(_event())
        server.wait("/x", 1)
        time.sleep(0.3)
        assert len(server.at("/x")) == 1  # no retries: the check already refused it
        dispatcher.usable("team-a/out")
        assert dispatcher.stats["team-a/out"].last_ok
    finally:
        dispatcher.stop()
