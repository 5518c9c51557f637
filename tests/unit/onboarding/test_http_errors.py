"""Domain errors become HTTP answers in one place, and nowhere below it."""

from __future__ import annotations

import ast
import json
import pathlib

import pytest

from landlord import errors
from landlord.onboarding import http_errors
from landlord.onboarding.repository import NoPlatformRepositoryError

ONBOARDING = pathlib.Path(http_errors.__file__).parent
# The HTTP layer: the only modules of the package that may speak FastAPI or Starlette.
HTTP_LAYER = {"__init__.py", "app.py", "http_errors.py", "server.py"}
WEB = {"fastapi", "starlette", "uvicorn"}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.MalformedError("the delivery's body is not JSON"), 400),
        (errors.UnauthenticatedError("a bearer token is required"), 401),
        (errors.ForbiddenError("alice may not create tenant a"), 403),
        (errors.NotFoundError("tenant a is not defined"), 404),
        (errors.ConflictError("tenant a already exists"), 409),
        (errors.ConcurrentUpdateError("the platform repository moved 5 times"), 409),
        (errors.TooLargeError("the request body is larger than 1 bytes"), 413),
        (errors.InvalidError("tenant a is not valid"), 422),
        (errors.UnavailableError("the apiserver is not answering"), 503),
        (NoPlatformRepositoryError("no platform GitRepository"), 503),
        (errors.ApiError("the apiserver said no", status=500), 502),
        (errors.LandlordError("anything else"), 502),
    ],
)
def test_each_domain_error_has_its_status(error: errors.LandlordError, status: int) -> None:
    assert http_errors.status_of(error) == status
    assert http_errors.response(error).status_code == status


def test_a_subclass_takes_its_nearest_status() -> None:
    class TenantExistsError(errors.ConflictError):
        pass

    assert http_errors.status_of(TenantExistsError("taken")) == 409


def test_the_body_is_the_error_and_its_fields() -> None:
    error = errors.InvalidError("tenant a is not valid", fields={"spec.quota.pods": "negative"})
    answer = http_errors.response(error, request_id="r-1")
    assert json.loads(answer.body) == {
        "error": "tenant a is not valid",
        "fields": {"spec.quota.pods": "negative"},
    }
    assert answer.headers["X-Request-Id"] == "r-1"


def test_an_unauthenticated_caller_is_told_how_to_authenticate() -> None:
    answer = http_errors.response(errors.UnauthenticatedError("a bearer token is required"))
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="landlord"'


def test_any_other_error_is_the_upstream_s_failure() -> None:
    answer = http_errors.response(errors.ApiError("connection refused", status=500))
    body = json.loads(answer.body)
    assert body["error"] == "the platform repository or the apiserver failed: connection refused"
    assert body["fields"] == {}


def _imported(path: pathlib.Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.partition(".")[0])
    return found


@pytest.mark.parametrize(
    "module",
    sorted(p.name for p in ONBOARDING.glob("*.py") if p.name not in HTTP_LAYER),
)
def test_the_services_do_not_speak_http(module: str) -> None:
    """service.py, receivers.py and the rest raise domain errors; they import no web framework."""
    assert not _imported(ONBOARDING / module) & WEB
