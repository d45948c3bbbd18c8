"""The app's guards: access token, CSRF, path-like parameters, allowed hosts, response headers.

- Access token (required when the app listens beyond loopback; at least 16 characters): `?token=`
  once → an HttpOnly, SameSite=Strict cookie holding an HMAC of the token (Secure over HTTPS) and a
  redirect that drops it from the URL; or an `X-Review-Token` / `Authorization: Bearer` header.
  Compared in constant time; wrong guesses are slowed and then locked out (429). The access log
  never shows it (server.py scrubs `token=` from logged URLs).
- CSRF: every browser gets a random session cookie; its CSRF token is an HMAC of that session under
  the app's secret, sent back in a hidden form field or the `X-CSRF-Token` header (htmx sends it
  from `hx-headers`). A POST without a session cookie, or with a token that does not match, is 403.
- Any request whose path or query carries a `..` segment, an absolute path, a backslash, a NUL or
  an encoded slash is refused with 400 before any route runs: nothing here reads a path from a request.
- On loopback without a token, only localhost Host headers are served (stops DNS rebinding).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import re
import secrets
import time
from urllib.parse import unquote

from fastapi import HTTPException, Request
from starlette.datastructures import URL
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from visframe.errors import ConfigError

TOKEN_COOKIE = "visframe_review_token"
TOKEN_HEADER = "x-review-token"
SESSION_COOKIE = "visframe_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
MIN_TOKEN_CHARS = 16

_ABSOLUTE = re.compile(r"^(?:[/\\~]|[A-Za-z]:[/\\]|file:)", re.IGNORECASE)
_DOT_SEGMENT = re.compile(r"(?:^|[/\\])\.\.(?:[/\\]|$)")

SECURITY_HEADERS = {
    # Scripts only from /static (htmx): even a missed escape could not run an injected inline script.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def looks_like_path(value: str) -> bool:
    """True for anything a file system could read as a path outside here: `..`, `/x`, `C:\\x`, `~`."""
    return bool(
        _DOT_SEGMENT.search(value) or _ABSOLUTE.match(value) or "\x00" in value or value.strip() == ".."
    )


def refuse_path_like(request: Request) -> Response | None:
    """400 for a request whose path or query carries a path-like value; None when it is clean."""
    raw_path = request.scope.get("raw_path", b"").decode("latin-1").lower()
    if "%2f" in raw_path or "%5c" in raw_path or "%00" in raw_path:
        return PlainTextResponse(
            "refused: encoded slashes, backslashes or NULs are not accepted in the path", status_code=400
        )
    segments = unquote(request.url.path).split("/")
    if any(s in ("..", ".") or "\\" in s or "\x00" in s for s in segments):
        return PlainTextResponse("refused: the path has a '..' segment or a backslash", status_code=400)
    for key, value in request.query_params.multi_items():
        if looks_like_path(key) or looks_like_path(value):
            return PlainTextResponse(f"refused: parameter {key!r} looks like a file path", status_code=400)
    return None


class AccessToken:
    """The shared token that guards a non-loopback app (None = no token required).

    The cookie holds an HMAC of the token under the app's secret, never the token itself. A client
    (by IP) that sends a wrong token waits `failure_delay` seconds for the answer, and after
    `max_failures` wrong tokens within `lockout_seconds` is refused (429) for the rest of that
    window, the right token included: 5 guesses a minute instead of thousands a second.
    """

    def __init__(
        self,
        token: str | None,
        secret: bytes | None = None,
        *,
        max_failures: int = 5,
        lockout_seconds: float = 60.0,
        failure_delay: float = 0.5,
    ):
        if token is not None and token and len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(
                f"the access token has {len(token)} characters; at least {MIN_TOKEN_CHARS} are needed",
                fix=f"use a random one, e.g. {generate_token()}",
            )
        self.token = token or None
        self.secret = secret or secrets.token_bytes(32)
        self.cookie_value = (
            hmac.new(
                self.secret, b"visframe-review-access:" + self.token.encode("utf-8"), hashlib.sha256
            ).hexdigest()
            if self.token
            else None
        )
        self.max_failures, self.lockout_seconds, self.failure_delay = (
            max_failures,
            lockout_seconds,
            failure_delay,
        )
        self._failures: dict[str, tuple[int, float]] = {}  # client -> (wrong tokens, first one's time)

    @staticmethod
    def _same(candidate: str | None, expected: str | None) -> bool:
        return bool(expected and candidate) and hmac.compare_digest(
            candidate.encode("utf-8"), expected.encode("utf-8")
        )

    def _locked(self, client: str) -> float:
        """Seconds left of this client's lockout (0 when it may try)."""
        count, since = self._failures.get(client, (0, 0.0))
        left = since + self.lockout_seconds - time.monotonic()
        if left <= 0:
            self._failures.pop(client, None)
            return 0.0
        return left if count >= self.max_failures else 0.0

    async def _refuse(self, client: str, text: str) -> Response:
        count, since = self._failures.get(client, (0, time.monotonic()))
        self._failures[client] = (count + 1, since)
        if self.failure_delay:
            await asyncio.sleep(self.failure_delay)
        return PlainTextResponse(text, status_code=401)

    async def check(self, request: Request) -> Response | None:
        """None when the request may go on; else the response to send (401/429, or the cookie redirect)."""
        if self.token is None:
            return None
        client = request.client.host if request.client else "?"
        left = self._locked(client)
        if left:
            return PlainTextResponse(
                f"too many wrong access tokens: try again in {left:.0f} s",
                status_code=429,
                headers={"retry-after": str(int(left) + 1)},
            )
        offered = request.query_params.get("token")
        if offered is not None:
            if not self._same(offered, self.token):
                return await self._refuse(client, "wrong access token")
            # Trade the URL token for a cookie and drop it from the address bar and history.
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = (
                URL(path=request.url.path).include_query_params(**dict(query)) if query else request.url.path
            )
            response = RedirectResponse(str(target), status_code=303)
            set_cookie(response, request, TOKEN_COOKIE, self.cookie_value)
            return response
        header = request.headers.get(TOKEN_HEADER)
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            header = header or authorization[7:].strip()
        if self._same(header, self.token) or self._same(request.cookies.get(TOKEN_COOKIE), self.cookie_value):
            return None
        text = (
            "this review app needs its access token: open the link with ?token=<token> once "
            "(or send the X-Review-Token header)"
        )
        if header or request.cookies.get(TOKEN_COOKIE):
            return await self._refuse(client, "wrong access token")
        return PlainTextResponse(text, status_code=401)


def generate_token() -> str:
    """A fresh random token (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def set_cookie(response: Response, request: Request, name: str, value: str, **options) -> None:
    """HttpOnly, SameSite=Strict, path /, and Secure when the request came over HTTPS.

    Behind a TLS-terminating proxy the app sees HTTPS only if uvicorn trusts the proxy's
    X-Forwarded-Proto (`visframe-review --proxy-headers`, see cli.py)."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        path="/",
        secure=request.url.scheme == "https",
        **options,
    )


class Csrf:
    """Session cookie + HMAC-signed CSRF token (stdlib only)."""

    def __init__(self, secret: bytes | None = None):
        self.secret = secret or secrets.token_bytes(32)

    def token_for(self, session: str) -> str:
        return hmac.new(self.secret, session.encode("utf-8"), hashlib.sha256).hexdigest()

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(24)

    def verify(self, request: Request, form_token: str | None) -> None:
        session = request.cookies.get(SESSION_COOKIE)
        offered = request.headers.get(CSRF_HEADER) or form_token
        if not session or not offered:
            raise HTTPException(status_code=403, detail="CSRF check failed: reload the page and try again")
        if not hmac.compare_digest(offered.encode("utf-8"), self.token_for(session).encode("utf-8")):
            raise HTTPException(status_code=403, detail="CSRF check failed: reload the page and try again")
