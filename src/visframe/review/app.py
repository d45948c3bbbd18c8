"""The FastAPI app: server-rendered Jinja2 pages (autoescaped), htmx for in-place saves.

GET never changes state; every change is a POST checked for CSRF. Images are served only as
`/image/{image_id}` and `/thumb/{image_id}`, looked up in the run's manifest. `create_app` builds
one `ReviewContext` (context.py), the guards (security.py, limits.py) and includes one router per
concern (routes/); another router is added with `include_router` in `create_app`, nothing else.
"""

from __future__ import annotations

import html
import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from visframe.errors import ConfigError
from visframe.review import map_routes
from visframe.review.context import HERE, PAGE_SIZE, ReviewContext
from visframe.review.limits import BodyLimit, Limits
from visframe.review.routes import ROUTERS
from visframe.review.run_data import ReviewRun
from visframe.review.security import (
    LOOPBACK_HOSTS,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    AccessToken,
    Csrf,
    is_loopback,
    refuse_path_like,
    set_cookie,
)
from visframe.review.store import ReviewStore

log = logging.getLogger(__name__)


def _add_guard(app: FastAPI, access: AccessToken, allowed_hosts: list[str] | None) -> None:
    """Path-like values, Host header, access token; a session cookie; security headers on every answer."""

    @app.middleware("http")
    async def guard(request: Request, call_next):
        refused = refuse_path_like(request)
        foreign = allowed_hosts is not None and (request.url.hostname or "").lower() not in allowed_hosts
        if refused is None and foreign:
            refused = Response("refused: unexpected Host header", status_code=400)
        if refused is None:
            refused = await access.check(request)
        if refused is not None:
            response = refused
        else:
            session = request.cookies.get(SESSION_COOKIE)
            request.state.session = session or Csrf.new_session()
            response = await call_next(request)
            if not session:
                set_cookie(response, request, SESSION_COOKIE, request.state.session)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


async def _http_error(request: Request, error: HTTPException) -> Response:
    message = html.escape(str(error.detail))
    return HTMLResponse(
        f'<div class="error" role="alert">{message}</div>',
        status_code=error.status_code,
        headers=getattr(error, "headers", None),
    )


def create_app(
    run: ReviewRun,
    store: ReviewStore,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    allowed_hosts: list[str] | None = None,
    tracking_uri: str | None = None,
    secret: bytes | None = None,
    page_size: int = PAGE_SIZE,
    limits: Limits | None = None,
    access: AccessToken | None = None,
) -> FastAPI:
    """The review app for one run. A non-loopback `host` needs a `token` (at least 16 characters)."""
    if not is_loopback(host) and not (token or (access and access.token)):
        raise ConfigError(
            f"host {host!r} is reachable from other machines, so the app needs a shared access token",
            fix="set VISFRAME_REVIEW_TOKEN or pass --token-file (never --token: argv shows in ps)",
        )
    access = access or AccessToken(token, secret)
    if allowed_hosts is None and not access.token:
        allowed_hosts = LOOPBACK_HOSTS
    limits = limits or Limits()
    app = FastAPI(title="visframe review", docs_url=None, redoc_url=None, openapi_url=None)
    # The one thing on app.state: the typed context every route (the map's too) gets through Depends.
    app.state.review = ReviewContext(
        run=run, store=store, csrf=Csrf(secret), limits=limits, tracking_uri=tracking_uri, page_size=page_size
    )
    _add_guard(app, access, allowed_hosts)
    app.add_middleware(BodyLimit, limits=limits)
    app.add_exception_handler(HTTPException, _http_error)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(map_routes.router)
    # The header links to /map only when a router serves it.
    app.state.review.has_map = any(getattr(route, "path", "") == "/map" for route in map_routes.router.routes)
    return app
