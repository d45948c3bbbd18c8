"""The codebook: list, add and edit codes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from visframe.review.deps import Coder, Ctx, Form, text_field
from visframe.review.limits import parse_id
from visframe.review.store import StoreError

router = APIRouter()


@router.get("/codebook", response_class=HTMLResponse)
def codebook_page(request: Request, ctx: Ctx, coder: Coder) -> Response:
    return ctx.render(
        request, "codebook.html", coder, active="codebook", codebook=ctx.store.codebook(), error=""
    )


async def _saved_or_error(request: Request, ctx, coder, work, *args) -> Response:
    try:
        await run_in_threadpool(work, *args)
    except StoreError as error:
        codebook = await run_in_threadpool(ctx.store.codebook)
        return ctx.render(
            request,
            "codebook.html",
            coder,
            status_code=400,
            active="codebook",
            codebook=codebook,
            error=str(error),
        )
    return RedirectResponse("/codebook", status_code=303)


@router.post("/codebook", response_class=HTMLResponse)
async def add_code(request: Request, ctx: Ctx, coder: Coder, form: Form) -> Response:
    return await _saved_or_error(
        request,
        ctx,
        coder,
        ctx.store.add_code,
        text_field(form, "name"),
        text_field(form, "description"),
        coder or "",
    )


@router.post("/codebook/{code_id}", response_class=HTMLResponse)
async def edit_code(request: Request, ctx: Ctx, coder: Coder, form: Form, code_id: str) -> Response:
    return await _saved_or_error(
        request,
        ctx,
        coder,
        ctx.store.edit_code,
        parse_id(code_id, "a code id"),
        text_field(form, "name"),
        text_field(form, "description"),
    )
