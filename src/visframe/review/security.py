"""The app's guards: access token, CSRF, path-like parameters, allowed hosts, response headers.

- Access token (required when the app listens beyond loopback): `?token=` once → an HttpOnly,
  SameSite=Strict cookie and a redirect that drops it from the URL; or an `X-Review-Token` /
  `Authorization: Bearer` header. Compared in constant time.
- CSRF: every browser gets a random session cookie; its CSRF token is an HMAC of that session under
  the app's secret, sent back in a hidden form field or the `X-CSRF-Token` header (htmx sends it
  from `hx-headers`). A POST without a session cookie, or with a token that does not match, is 403.
- Any request whose path or query carries a `..` segment, an absolute path, a backslash, a NUL or
  an encoded slash is refused with 400 before any route runs: nothing here reads a path from a request.
- On loopback without a token, only localhost Host headers are served (stops DNS rebinding).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from urllib.parse import unquote

from fastapi import HTTPException, Request
from starlette.datastructures import URL
from starlette.responses import PlainTextResponse, RedirectResponse, Response

TOKEN_COOKIE = "visframe_review_token"
TOKEN_HEADER = "x-review-token"
SESSION_COOKIE = "visframe_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]

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
        return PlainTextResponse("refused: encoded slashes, backslashes or NULs are not accepted in the path", status_code=400)
    segments = unquote(request.url.path).split("/")
    if any(s in ("..", ".") or "\\" in s or "\x00" in s for s in segments):
        return PlainTextResponse("refused: the path has a '..' segment or a backslash", status_code=400)
    for key, value in request.query_params.multi_items():
        if looks_like_path(key) or looks_like_path(value):
            return PlainTextResponse(f"refused: parameter {key!r} looks like a file path", status_code=400)
    return None


class AccessToken:
    """The shared token that guards a non-loopback app (None = no token required)."""

    def __init__(self, token: str | None):
        self.token = token or None

    def _matches(self, candidate: str | None) -> bool:
        return bool(self.token and candidate) and hmac.compare_digest(
            candidate.encode("utf-8"), self.token.encode("utf-8")
        )

    def check(self, request: Request) -> Response | None:
        """None when the request may go on; else the response to send (401, or the cookie redirect)."""
        if self.token is None:
            return None
        offered = request.query_params.get("token")
        if offered is not None:
            if not self._matches(offered):
                return PlainTextResponse("wrong access token", status_code=401)
            # Trade the URL token for a cookie and drop it from the address bar and history.
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = URL(path=request.url.path).include_query_params(**dict(query)) if query else request.url.path
            response = RedirectResponse(str(target), status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return response
        header = request.headers.get(TOKEN_HEADER)
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            header = header or authorization[7:].strip()
        if self._matches(header) or self._matches(request.cookies.get(TOKEN_COOKIE)):
            return None
        return PlainTextResponse(
            "this review app needs its access token: open the link with ?token=<token> once "
            "(or send the X-Review-Token header)",
            status_code=401,
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
