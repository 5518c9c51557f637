"""The HTTP surface: FastAPI routes over :class:`Onboarding` and :class:`Receivers`.

Every response that is not a success is ``{"error": …, "fields": {…}}``. Every
request gets an id (``X-Request-Id``, echoed back), a span ``api.request``, and
is counted by route template and status.
"""

import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landlord import __version__, errors, telemetry
from landlord.onboarding import http_errors
from landlord.onboarding.context import RequestContext
from landlord.onboarding.identity import Authenticator, Caller
from landlord.onboarding.models import (
    NAME_PATTERN,
    Accepted,
    ErrorBody,
    ReceiverResult,
    ReconcileRequested,
    TenantList,
    TenantPatch,
    TenantRequest,
    TenantView,
)
from landlord.onboarding.receivers import Receivers
from landlord.onboarding.service import Onboarding
from landlord.onboarding.statuspage import routes as statuspage_routes
from landlord.onboarding.statuspage.page import StatusPage

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_bearer = HTTPBearer(auto_error=False, description="A Kubernetes bearer token (TokenReview).")

TenantName = Annotated[
    str, Path(min_length=1, max_length=63, pattern=NAME_PATTERN, description="The tenant's name.")
]
Wait = Annotated[
    bool, Query(description="Return once the change is in place (Tenant Ready, or gone).")
]
Timeout = Annotated[
    float | None,
    Query(gt=0, le=3600, description="Seconds ?wait=true waits at most (capped by the server)."),
]


def _errors(*codes: int, extra: tuple[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    documented: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorBody} for code in (401, 422, *codes)
    }
    if extra is not None:
        documented[extra[0]] = {"model": Accepted, "description": extra[1]}
    return documented


class _BodyTooLargeError(Exception):
    pass


class _BodyLimit:
    """Refuse request bodies over ``limit`` bytes (declared or streamed) with a 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(self.limit)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _BodyTooLargeError
            return message

        await self.app(scope, limited, send)


def _too_large(limit: int) -> JSONResponse:
    return http_errors.response(
        errors.TooLargeError(f"the request body is larger than {limit} bytes")
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def create_app(
    onboarding: Onboarding,
    receivers: Receivers | None,
    authenticator: Authenticator,
    *,
    max_body_bytes: int,
    metrics: telemetry.Metrics | None = None,
    status_page: StatusPage | None = None,
) -> FastAPI:
    """The onboarding API as an ASGI app (serve it with :func:`landlord.onboarding.serve`).

    ``receivers`` None: no webhook route (a delivery gets the API's own 404).
    ``status_page`` None: no ``/ui``; else its watches run while the app is served.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if status_page is not None:
            status_page.cache.start()
        try:
            yield
        finally:
            if status_page is not None:
                status_page.cache.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Landlord onboarding API",
        version=__version__,
        description=(
            "Create, change and offboard tenants. Every write is a commit to the platform "
            "repository; the platform sync applies it. Authenticate with a Kubernetes bearer "
            "token; the policy's api:* lines decide what you may do."
        ),
        docs_url=None,
        redoc_url=None,
    )

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("x-request-id", "")
        key = request.headers.get("idempotency-key")
        if key is not None and not _REQUEST_ID.match(key):
            return http_errors.refusal(
                400,
                "the Idempotency-Key header must be 1 to 64 of A-Z a-z 0-9 . _ -; "
                "nothing was committed",
                {"Idempotency-Key": "invalid"},
            )
        request_id = key or (given if _REQUEST_ID.match(given) else uuid.uuid4().hex)
        request.state.request_id = request_id
        request.state.idempotency_key = key
        began = time.monotonic()
        with telemetry.span(
            "api.request",
            {
                "http.method": request.method,
                "http.target": request.url.path,
                "request.id": request_id,
            },
        ) as span:
            try:
                response = await call_next(request)
            except _BodyTooLargeError:
                response = _too_large(max_body_bytes)
            route = getattr(request.scope.get("route"), "path", None) or (
                "unmatched" if response.status_code == 404 else request.url.path
            )
            span.set_attribute("http.route", route)
            span.set_attribute("http.status_code", response.status_code)
        response.headers["X-Request-Id"] = request_id
        if metrics is not None:
            metrics.api_requests_total.labels(
                route=route, method=request.method, status=str(response.status_code)
            ).inc()
            metrics.api_request_seconds.labels(route=route).observe(time.monotonic() - began)
        return response

    @app.exception_handler(_BodyTooLargeError)
    async def too_large(request: Request, error: _BodyTooLargeError) -> JSONResponse:
        return _too_large(max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        fields: dict[str, str] = {}
        for item in error.errors():
            fields.setdefault(_field(tuple(item.get("loc", ()))), str(item.get("msg", "invalid")))
        problem = errors.InvalidError(
            "the request is not valid: nothing was committed", fields=fields
        )
        return http_errors.response(problem, getattr(request.state, "request_id", None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return http_errors.refusal(error.status_code, str(error.detail))

    @app.exception_handler(errors.LandlordError)
    async def refused(request: Request, error: errors.LandlordError) -> JSONResponse:
        if http_errors.status_of(error) == http_errors.UPSTREAM:
            log.error("request failed", extra={"error": str(error)})
        return http_errors.response(error, getattr(request.state, "request_id", None))

    def caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise errors.UnauthenticatedError(
                "a bearer token is required: Authorization: Bearer <token>"
            )
        found = authenticator.authenticate(credentials.credentials)
        if found is None:
            audiences = ", ".join(authenticator.audiences)
            raise errors.UnauthenticatedError(
                f"the apiserver did not accept the bearer token for this API's audience "
                f"({audiences}): a token made for the apiserver itself, such as a pod's "
                f"service-account token, is not an API credential; request one with "
                f"`kubectl create token <service-account> --audience {authenticator.audiences[0]}`",
            )
        telemetry.add_event(
            "landlord.caller", {"user": found.shown, "groups": ", ".join(found.groups)}
        )
        return found

    Authenticated = Annotated[Caller, Depends(caller)]  # noqa: N806 - a type alias

    def context(request: Request) -> RequestContext:
        return RequestContext.now(
            request.state.request_id, getattr(request.state, "idempotency_key", None)
        )

    def waited(wait: bool, timeout: float | None) -> float | None:
        return (timeout or onboarding.settings.wait_timeout) if wait else None

    def not_in_time(result: Accepted, wait: bool, response: Response) -> Accepted:
        """Committed, but not in place within the wait: 202 rather than 201/200."""
        if wait and not result.ready:
            response.status_code = 202
        return result

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process serves requests."""
        return {"status": "ok"}

    @app.post(
        "/v1/tenants",
        status_code=201,
        response_model=Accepted,
        responses=_errors(403, 409, 413, extra=(202, "Committed, not Ready in time.")),
        tags=["tenants"],
    )
    def create_tenant(
        body: TenantRequest,
        request: Request,
        response: Response,
        who: Authenticated,
        wait: Wait = False,
        timeout: Timeout = None,
    ) -> Accepted:
        """Onboard a tenant: commit ``tenants/<name>.yaml`` to the platform repository."""
        result = onboarding.create(who, body, context(request), wait=waited(wait, timeout))
        return not_in_time(result, wait, response)

    @app.get("/v1/tenants", response_model=TenantList, responses=_errors(403), tags=["tenants"])
    def list_tenants(who: Authenticated) -> TenantList:
        """The tenants you may see: all of them with ``api:list``, else those you own."""
        return onboarding.list(who)

    @app.get(
        "/v1/tenants/{name}",
        response_model=TenantView,
        responses=_errors(403, 404),
        tags=["tenants"],
    )
    def get_tenant(name: TenantName, who: Authenticated) -> TenantView:
        """A tenant's spec from Git and its status from the cluster."""
        return onboarding.get(who, name)

    @app.patch(
        "/v1/tenants/{name}",
        response_model=Accepted,
        responses=_errors(403, 404, 409, 413, extra=(202, "Committed, not Ready in time.")),
        tags=["tenants"],
    )
    def update_tenant(
        name: TenantName,
        body: TenantPatch,
        request: Request,
        response: Response,
        who: Authenticated,
        wait: Wait = False,
        timeout: Timeout = None,
    ) -> Accepted:
        """Change owners, quota, namespaces, source, sync or suspend (null removes a field)."""
        result = onboarding.update(who, name, body, context(request), wait=waited(wait, timeout))
        return not_in_time(result, wait, response)

    @app.delete(
        "/v1/tenants/{name}",
        status_code=202,
        response_model=Accepted,
        responses=_errors(403, 404, 409, extra=(200, "Offboarded (with ?wait=true).")),
        tags=["tenants"],
    )
    def delete_tenant(
        name: TenantName,
        request: Request,
        response: Response,
        who: Authenticated,
        wait: Wait = False,
        timeout: Timeout = None,
    ) -> Accepted:
        """Offboard a tenant: remove its file; the platform sync prunes the Tenant."""
        result = onboarding.delete(who, name, context(request), wait=waited(wait, timeout))
        if wait and result.ready:
            response.status_code = 200
        return result

    @app.post(
        "/v1/tenants/{name}/reconcile",
        status_code=202,
        response_model=ReconcileRequested,
        responses=_errors(403, 404),
        tags=["tenants"],
    )
    def reconcile_tenant(
        name: TenantName, request: Request, who: Authenticated
    ) -> ReconcileRequested:
        """Ask the Tenant, its GitRepository and its Kustomization to reconcile now."""
        return onboarding.reconcile(who, name, context(request))

    if receivers is not None:
        _add_receiver_route(app, receivers)
    if status_page is not None:
        statuspage_routes.add_routes(app, status_page)
    app.add_middleware(_BodyLimit, limit=max_body_bytes)
    return app


def _add_receiver_route(app: FastAPI, receivers: Receivers) -> None:
    """``POST /v1/receivers/{name}``: Git push webhooks, delivered to ``receivers``."""

    @app.post(
        "/v1/receivers/{name}",
        response_model=ReceiverResult,
        responses={code: {"model": ErrorBody} for code in (400, 401, 404, 413)},
        tags=["receivers"],
    )
    async def receive(
        name: Annotated[str, Path(min_length=1, max_length=253)], request: Request
    ) -> ReceiverResult:
        """A Git push webhook (GitHub, GitLab or generic HMAC): fetch the pushed repository now."""
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        return await run_in_threadpool(receivers.deliver, name, headers, body)

    @app.post(
        "/hook/{digest}",
        response_model=ReceiverResult,
        responses={code: {"model": ErrorBody} for code in (400, 401, 404, 413)},
        tags=["receivers"],
    )
    async def hook(
        digest: Annotated[str, Path(pattern="^[0-9a-f]{64}$")], request: Request
    ) -> ReceiverResult:
        """A delivery to a Receiver, at its ``status.webhookPath`` (Flux's paths)."""
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        return await run_in_threadpool(receivers.deliver_hook, digest, headers, body)
