"""Limits on what a request may carry: body size (checked while the body streams), field lengths, ids.

- Body: 1 MiB for any form, 64 MiB for a Label Studio upload (`/import/labelstudio`). A declared
  Content-Length over the limit is answered 413 before the body is read; a chunked body is counted
  as it arrives and cut off with 413 the moment it passes the limit, so nothing larger is buffered.
- Fields (characters): memo 10,000, code description 2,000, code / cluster name 100, coder name 64
  (the store refuses a longer coder name with 400), search query 500, any other field 1,000. A
  longer field is 413 with the field's name and its cap.
- Ids in paths and forms: decimal integers that fit a 64-bit SQL integer; anything else is 400
  (an id of 2**63 or of 40 digits used to end in OverflowError and a dropped connection).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from visframe.review.store_schema import MAX_CODE_NAME_CHARS, MAX_DESCRIPTION_CHARS, MAX_MEMO_CHARS

MiB = 1024 * 1024
MAX_FORM_BYTES = 1 * MiB
MAX_UPLOAD_BYTES = 64 * MiB
UPLOAD_PATHS = ("/import/labelstudio",)
MAX_ID_DIGITS = 18  # every 18-digit number fits a signed 64-bit integer
FIELD_CAPS = {
    "memo": MAX_MEMO_CHARS,
    "description": MAX_DESCRIPTION_CHARS,
    "name": MAX_CODE_NAME_CHARS,
    "coder": 64,
    "q": 500,
}
DEFAULT_FIELD_CAP = 1_000
OVER_LIMIT = "visframe.body_over_limit"  # set in the ASGI scope when a streamed body passed its limit


@dataclass(frozen=True)
class Limits:
    form_bytes: int = MAX_FORM_BYTES
    upload_bytes: int = MAX_UPLOAD_BYTES
    field_caps: dict[str, int] = field(default_factory=lambda: dict(FIELD_CAPS))
    default_field_cap: int = DEFAULT_FIELD_CAP

    def body_limit(self, path: str) -> int:
        return self.upload_bytes if path in UPLOAD_PATHS else self.form_bytes

    def check_field(self, name: str, value: str) -> None:
        cap = self.field_caps.get(name, self.default_field_cap)
        if len(value) > cap:
            raise HTTPException(
                status_code=413,
                detail=(
                    f"the {name} field is at most {cap:,} characters (this one has {len(value):,}): "
                    "shorten it and save again"
                ),
            )


def too_large(limit: int) -> HTTPException:
    return HTTPException(
        status_code=413, detail=(f"request body too large: this page accepts at most {limit / MiB:g} MiB")
    )


def parse_id(value: str, what: str = "id") -> int:
    """A non-negative id that fits a SQL integer, or 400."""
    text = (value or "").strip()
    if not text.isdigit() or not text.isascii() or len(text) > MAX_ID_DIGITS:
        raise HTTPException(
            status_code=400,
            detail=f"{what} must be a whole number of at most {MAX_ID_DIGITS} digits, not {text[:40]!r}",
        )
    return int(text)


def parse_cluster(value: str) -> int:
    """A cluster number (noise is -1), or 400."""
    text = (value or "").strip()
    negative = text.startswith("-")
    return -parse_id(text[1:], "a cluster") if negative else parse_id(text, "a cluster")


class BodyLimit:
    """ASGI middleware: 413 for a body over the path's limit, declared or counted while streaming."""

    def __init__(self, app: ASGIApp, limits: Limits):
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.body_limit(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_413(send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Middleware may wrap the exception (a TaskGroup): the flag says what happened.
                    scope[OVER_LIMIT] = limit
                    raise too_large(limit)
            return message

        await self.app(scope, counted, send)


async def _send_413(send: Send, limit: int) -> None:
    body = too_large(limit).detail.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
