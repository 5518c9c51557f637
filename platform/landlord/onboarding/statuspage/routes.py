"""``/ui``: the status page's routes (read-only), added to the API's FastAPI app.

Pages are rendered from the watch cache; ``/ui/stream`` is a server-sent-event
stream that sends the current view's ``<main>`` again whenever the cache
changes. Sign-in posts a bearer token once; the browser keeps only a random
session id (HttpOnly, SameSite=Strict). Every response forbids framing, inline
scripts and cross-origin loads (Content-Security-Policy).
"""

from __future__ import annotations

import asyncio
import importlib.resources
import urllib.parse
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from landlord.onboarding.statuspage import html
from landlord.onboarding.statuspage.page import StatusPage
from landlord.onboarding.statuspage.sessions import COOKIE

MAX_STREAMS = 200
MAX_STREAMS_PER_USER = 4  # live pages one user may hold open at once (across sessions)
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 0.1  # how often a stream looks at the cache's version (a comparison)
SETTLE_SECONDS = 0.2  # a burst of changes lands in one update
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser posts forms with Origin: null.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
STATIC = {"app.js": "text/javascript", "app.css": "text/css"}


def _static(name: str) -> bytes:
    return (importlib.resources.files(__package__) / "static" / name).read_bytes()


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=SECURITY_HEADERS)


def _same_origin(request: Request) -> bool:
    """A form post from this page itself (the Origin header, when sent, names our host)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urllib.parse.urlsplit(origin).netloc == request.headers.get("host", "")


class _Leased(StreamingResponse):
    """A stream that gives its admission back however it ends (even before it started)."""

    def __init__(
        self, content: AsyncIterator[str], release: Callable[[], None], **kwargs: Any
    ) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def add_routes(app: FastAPI, page: StatusPage) -> None:
    """Add ``/ui`` and its sub-paths to ``app``."""
    assets = {name: _static(name) for name in STATIC}
    streams = 0
    per_user: dict[str, int] = {}

    def token_of(request: Request) -> str | None:
        return page.sessions.token(request.cookies.get(COOKIE))

    def to_login() -> RedirectResponse:
        return RedirectResponse("/ui/login", status_code=303, headers=SECURITY_HEADERS)

    async def render(request: Request, path: str) -> Response:
        token = token_of(request)
        if token is None:
            return to_login()
        snapshot = page.cache.snapshot()
        viewer = await run_in_threadpool(page.viewer, token, snapshot)
        if viewer is None:
            page.sessions.close(request.cookies.get(COOKIE))
            return to_login()
        found = await run_in_threadpool(page.render, path, snapshot, viewer)
        if found is None:
            # No such tenant, or one the viewer may not see: the same answer for both.
            return _html(
                html.page(
                    "Not found",
                    "<h1>Not found</h1><p>No such page, or not one you may see.</p>",
                    viewer=viewer.shown,
                    path=path,
                ),
                404,
            )
        title, main = found
        return _html(
            html.page(title, main, viewer=viewer.shown, path=path, version=snapshot.version)
        )

    @app.get("/ui", include_in_schema=False)
    async def overview(request: Request) -> Response:
        return await render(request, "/ui")

    @app.get("/ui/graph", include_in_schema=False)
    async def graph(request: Request) -> Response:
        return await render(request, "/ui/graph")

    @app.get("/ui/denials", include_in_schema=False)
    async def denials(request: Request) -> Response:
        return await render(request, "/ui/denials")

    @app.get("/ui/tenants/{name}", include_in_schema=False)
    async def tenant(request: Request, name: str) -> Response:
        return await render(request, "/ui/tenants/" + urllib.parse.quote(name, safe=""))

    @app.get("/ui/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        if token_of(request) is not None:
            return RedirectResponse("/ui", status_code=303, headers=SECURITY_HEADERS)
        return _html(html.login())

    @app.post("/ui/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        if not _same_origin(request):
            return _html(html.login("Sign-in refused: the form was posted from another site."), 403)
        form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
        token = "".join((form.get("token") or [""])[0].split())
        if not token:
            return _html(html.login("Paste a bearer token."), 400)
        caller = await run_in_threadpool(page.caller, token)
        if caller is None:
            return _html(
                html.login(
                    "The apiserver did not accept this token for this API's audience "
                    "(a pod's own service-account token is not one): request one with "
                    "kubectl create token SERVICE-ACCOUNT --audience "
                    f"{page.authenticator.audiences[0]}."
                ),
                401,
            )
        response = RedirectResponse("/ui", status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(
            COOKIE,
            page.sessions.open(token, caller.user),
            max_age=int(page.sessions.lifetime),
            path="/ui",
            httponly=True,
            samesite="strict",
            # Secure unless the page is reached on loopback (the demo, a port-forward):
            # behind an ingress, the cookie never travels over plain HTTP.
            secure=page.secure_cookie or request.url.hostname not in LOOPBACK_NAMES,
        )
        return response

    @app.post("/ui/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        if _same_origin(request):
            page.sessions.close(request.cookies.get(COOKIE))
        response = to_login()
        response.delete_cookie(COOKIE, path="/ui")
        return response

    @app.get("/ui/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in assets:
            return Response(status_code=404)
        return Response(
            assets[name],
            media_type=STATIC[name],
            headers={**SECURITY_HEADERS, "Cache-Control": "max-age=300"},
        )

    @app.get("/ui/stream", include_in_schema=False)
    async def stream(request: Request, path: str = "/ui", version: int = 0) -> Response:
        nonlocal streams
        session = request.cookies.get(COOKIE)
        token = page.sessions.token(session)
        caller = None if token is None else await run_in_threadpool(page.caller, token)
        if caller is None:
            return Response("sign in first", status_code=401, headers=SECURITY_HEADERS)
        if not path.startswith("/ui"):
            return Response("bad path", status_code=400, headers=SECURITY_HEADERS)
        user = caller.user
        if streams >= MAX_STREAMS or per_user.get(user, 0) >= MAX_STREAMS_PER_USER:
            return Response(
                "too many live pages open; close one, or reload later",
                status_code=429 if per_user.get(user, 0) >= MAX_STREAMS_PER_USER else 503,
                headers={**SECURITY_HEADERS, "Retry-After": "10"},
            )
        # Admitted here, before the stream starts: concurrent opens cannot overshoot.
        streams += 1
        per_user[user] = per_user.get(user, 0) + 1

        async def events() -> AsyncIterator[str]:
            seen = version
            yield "retry: 2000\n\n"
            quiet = 0.0
            while not await request.is_disconnected():
                if page.cache.version == seen:
                    await asyncio.sleep(POLL_SECONDS)
                    quiet += POLL_SECONDS
                    if quiet >= KEEPALIVE_SECONDS:
                        quiet = 0.0
                        yield ": keep-alive\n\n"
                    continue
                quiet = 0.0
                await asyncio.sleep(SETTLE_SECONDS)
                token = page.sessions.token(session)
                snapshot = page.cache.snapshot()
                viewer = (
                    None if token is None else await run_in_threadpool(page.viewer, token, snapshot)
                )
                if viewer is None:
                    yield "event: signedout\ndata: /ui/login\n\n"
                    return
                found = await run_in_threadpool(page.render, path, snapshot, viewer)
                seen = snapshot.version
                main = found[1] if found else "<h1>Gone</h1><p>This no longer exists.</p>"
                data = "".join(f"data: {line}\n" for line in main.splitlines() or [""])
                yield f"event: update\nid: {seen}\n{data}\n"

        def release() -> None:
            nonlocal streams
            streams -= 1
            per_user[user] -= 1
            if not per_user[user]:
                del per_user[user]

        return _Leased(
            events(),
            release,
            media_type="text/event-stream",
            headers={**SECURITY_HEADERS, "X-Accel-Buffering": "no"},
        )
