"""One error model: every refusal is a LandlordError, terminal or retryable, with a reason."""

from __future__ import annotations

import pytest

from landlord import errors

REQUEST_ERRORS = [
    errors.MalformedError,
    errors.UnauthenticatedError,
    errors.ForbiddenError,
    errors.NotFoundError,
    errors.ConflictError,
    errors.InvalidError,
    errors.TooLargeError,
]


@pytest.mark.parametrize("kind", REQUEST_ERRORS)
def test_a_refused_request_is_terminal_and_names_its_fields(
    kind: type[errors.RequestError],
) -> None:
    fields = {"spec.quota.pods": "must not be negative"}
    error = kind("tenant a is not valid", fields=fields)
    fields["spec.quota.pods"] = "changed by the caller afterwards"
    assert isinstance(error, errors.TerminalError)
    assert not isinstance(error, errors.RetryableError)
    assert error.fields == {"spec.quota.pods": "must not be negative"}
    assert kind("no fields").fields == {}


def test_each_kind_of_refusal_has_its_own_reason() -> None:
    reasons = [kind.reason for kind in REQUEST_ERRORS]
    assert len(set(reasons)) == len(reasons)
    assert errors.UnavailableError.reason not in reasons


def test_what_may_pass_is_retryable_with_a_delay() -> None:
    for error in (
        errors.UnavailableError("the apiserver is not answering", delay=2.0),
        errors.ConcurrentUpdateError("the branch moved", delay=2.0),
    ):
        assert isinstance(error, errors.RetryableError)
        assert error.delay == 2.0
    assert errors.UnavailableError("later").delay is None  # the caller's backoff decides


def test_a_hint_follows_the_message() -> None:
    error = errors.ForbiddenError("alice may not create tenant a", hint="ask a platform admin")
    assert str(error) == "alice may not create tenant a\n  hint: ask a platform admin"
    assert error.message == "alice may not create tenant a"
