"""Landlord's errors as HTTP answers: the one place a domain error becomes a status code.

The services below raise :class:`landlord.errors.LandlordError` subclasses and
know nothing of HTTP; :func:`status_of` finds an error's status by its class
(the nearest class in :data:`STATUS`), and :func:`response` writes the body
every refusal has: ``{"error": "<sentence>", "fields": {"<field>": "<problem>"}}``.
Any other Landlord error is the platform repository's or the apiserver's
failure, a 502.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from landlord import errors
from landlord.onboarding.models import ErrorBody
from landlord.onboarding.repository import NoPlatformRepositoryError

# Most specific first is not needed: a class's own entry wins over its bases'.
STATUS: dict[type[errors.LandlordError], int] = {
    errors.MalformedError: 400,
    errors.UnauthenticatedError: 401,
    errors.ForbiddenError: 403,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.ConcurrentUpdateError: 409,
    errors.TooLargeError: 413,
    errors.InvalidError: 422,
    errors.UnavailableError: 503,
    NoPlatformRepositoryError: 503,
}
UPSTREAM = 502  # any other LandlordError: Git or the apiserver failed the request


def status_of(error: errors.LandlordError) -> int:
    """The HTTP status of ``error``: its nearest class's in :data:`STATUS`, else 502."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return UPSTREAM


def response(error: errors.LandlordError, request_id: str | None = None) -> JSONResponse:
    """The JSON answer to ``error``: its status, its sentence and its per-field problems."""
    status = status_of(error)
    message = str(error)
    if status == UPSTREAM:
        message = f"the platform repository or the apiserver failed: {error}"
    fields = error.fields if isinstance(error, errors.RequestError) else None
    return refusal(status, message, fields, request_id)


def refusal(
    status: int,
    message: str,
    fields: dict[str, str] | None = None,
    request_id: str | None = None,
) -> JSONResponse:
    """The JSON answer of a refusal the HTTP layer itself makes (an unknown route, a 405)."""
    headers = {"WWW-Authenticate": 'Bearer realm="landlord"'} if status == 401 else {}
    if request_id:
        headers["X-Request-Id"] = request_id
    body = ErrorBody(error=message, fields=dict(fields or {}))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)
