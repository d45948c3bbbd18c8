"""FastAPI dependencies: the app's context, the coder (from a cookie), and verified forms (CSRF + limits).

A form is only accepted as `application/x-www-form-urlencoded` or `multipart/form-data`: a JSON
body (which `request.form()` would read as an empty form) is 415, so it can never save an empty
coding over a coder's codes.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData, UploadFile

from visframe.review.context import ReviewContext
from visframe.review.limits import OVER_LIMIT, too_large
from visframe.review.security import CSRF_FIELD
from visframe.review.store import StoreError, clean_coder_name

CODER_COOKIE = "visframe_coder"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def get_context(request: Request) -> ReviewContext:
    return request.app.state.review


Ctx = Annotated[ReviewContext, Depends(get_context)]


def current_coder(request: Request) -> str | None:
    raw = request.cookies.get(CODER_COOKIE)
    if not raw:
        return None
    try:
        return clean_coder_name(unquote(raw))
    except StoreError:
        return None


Coder = Annotated[str | None, Depends(current_coder)]


def require_coder(coder: Coder) -> str:
    if coder is None:
        raise HTTPException(status_code=400, detail="say who you are first (Coder page)")
    return coder


KnownCoder = Annotated[str, Depends(require_coder)]


async def verified_form(request: Request, ctx: Ctx) -> FormData:
    """The request's form, once its type, CSRF token and field lengths are checked."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in FORM_TYPES:
        raise HTTPException(
            status_code=415,
            detail=f"send this as an HTML form ({FORM_TYPES[0]} or "
            f"{FORM_TYPES[1]}), not {kind or 'a body without a type'}",
        )
    try:
        form = await request.form(max_part_size=ctx.limits.upload_bytes)
    except Exception as error:
        if OVER_LIMIT in request.scope:
            raise too_large(request.scope[OVER_LIMIT]) from None
        if isinstance(error, HTTPException):
            raise
        raise HTTPException(status_code=400, detail=f"unreadable form: {error}") from error
    token = form.get(CSRF_FIELD)
    ctx.csrf.verify(request, token if isinstance(token, str) else None)
    for name, value in form.multi_items():
        if not isinstance(value, UploadFile):
            ctx.limits.check_field(name, value)
    return form


Form = Annotated[FormData, Depends(verified_form)]


def text_field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
