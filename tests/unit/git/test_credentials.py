"""Credentials from a Secret with Flux's keys; never printed."""

from __future__ import annotations

import base64

import pytest

from landlord.git.credentials import Credentials
from landlord.git.urls import InvalidSourceError
from landlord.gitops import durations


def _data(**values: str) -> dict[str, str]:
    return {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}


def test_basic_bearer_and_ssh() -> None:
    basic = Credentials.from_secret(_data(username="bob", password="hunter2"), "s")
    bearer = Credentials.from_secret(_data(bearerToken="tok-123"), "s")
    ssh = Credentials.from_secret(_data(identity="KEY", known_hosts="host ssh-ed25519 AAA"), "s")

    assert (basic.username, basic.password) == ("bob", "hunter2")
    assert bearer.bearer_token == "tok-123"
    assert ssh.identity == b"KEY"
    assert "hunter2" not in repr(basic)
    assert "tok-123" not in repr(bearer)
    assert base64.b64encode(b"bob:hunter2").decode() in basic.secret_values()


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"username": "bob"}, "both 'username' and 'password'"),
        ({"identity": "KEY"}, "no 'known_hosts'"),
        ({"other": "x"}, "none of"),
    ],
)
def test_incomplete_secrets_are_refused(values: dict[str, str], complaint: str) -> None:
    with pytest.raises(InvalidSourceError, match=complaint):
        Credentials.from_secret(_data(**values), "git-auth")


def test_durations() -> None:
    assert durations.parse("1m30s") == 90
    assert durations.parse("500ms") == 0.5
    assert durations.parse("1.5h") == 5400
    with pytest.raises(ValueError, match="not a duration"):
        durations.parse("soon")
