"""Caller-controlled names become one bounded printable line before they reach Git."""

from __future__ import annotations

import pytest

from landlord.onboarding import text
from landlord.onboarding.context import RequestContext
from landlord.onboarding.context import trailers as _trailers
from landlord.onboarding.identity import Caller

FORGED = "alice\nLandlord-Approved-By: root"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("alice", "alice"),
        (FORGED, "alice\\nLandlord-Approved-By: root"),
        ("a\r\nb", "a\\r\\nb"),
        ("nul\x00byte", "nul\\x00byte"),
        ("bell\x07", "bell\\x07"),
        ("rtl\u202eevil", "rtl\\u202eevil"),  # a format character that reorders text
        ("line\u2028sep", "line\\u2028sep"),
        ("back\\nslash", "back\\\\nslash"),  # a literal backslash cannot pose as an escape
        ("  padded  ", "padded"),
        ("", "<empty>"),
        ("system:serviceaccount:ns:ci", "system:serviceaccount:ns:ci"),
        ("名前", "名前"),
    ],
)
def test_one_line(given: str, shown: str) -> None:
    assert text.one_line(given) == shown


def test_one_line_is_bounded() -> None:
    shown = text.one_line("x" * 10_000)
    assert len(shown) == text.MAX_LENGTH
    assert shown.endswith("…")
    assert len(text.one_line("\x00" * 1000)) == text.MAX_LENGTH  # escapes count too


def test_the_git_author_cannot_break_name_and_email() -> None:
    name, email = Caller("eve <root@example.com>\nx").author
    assert name == "eve ‹root@example.com›\\nx"
    assert email == "eve..root.example.com..x@users.landlord.invalid"
    assert Caller("alice@example.com").author[1] == "alice@example.com"
    assert Caller("a@b.c>\nroot@x.y").email.endswith("@users.landlord.invalid")
    assert Caller("x" * 500).email == "x" * 64 + "@users.landlord.invalid"


def test_a_user_name_cannot_forge_a_trailer() -> None:
    context = RequestContext("r-1", None, "0" * 32, "2026-11-29T00:00:00+00:00")
    trailers = _trailers(Caller(FORGED), context, "create")
    assert trailers["Landlord-Requested-By"] == "alice\\nLandlord-Approved-By: root"
    assert "Landlord-Approved-By" not in trailers
    message = "".join(f"{k}: {v}\n" for k, v in trailers.items())
    assert len(message.splitlines()) == len(trailers)
