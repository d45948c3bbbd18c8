"""Saving a coder's codes and memo for one image (htmx swaps the panel in place)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from visframe.review.deps import Coder, Ctx, Form
from visframe.review.limits import parse_id
from visframe.review.store import StoreError

router = APIRouter()


def _code_ids(form) -> list[int]:
    return [parse_id(v, "a code id") for v in form.getlist("codes")]


def redirect_back(request: Request, ctx, image_id: str) -> Response:
    """Back to where the form was (the noise queue), else to the image on its cluster page."""
    if request.headers.get("referer", "").split("?")[0].endswith("/noise"):
        return RedirectResponse(f"/noise#img-{image_id}", status_code=303)
    cluster, offset = ctx.locate(image_id)
    return RedirectResponse(f"/cluster/{cluster}?offset={offset}#img-{image_id}", status_code=303)


@router.post("/code/{image_id}", response_class=HTMLResponse)
async def save_code(request: Request, ctx: Ctx, coder: Coder, form: Form, image_id: str) -> Response:
    if not ctx.run.has_image(image_id):
        raise HTTPException(status_code=404, detail="no such image in this run")
    if coder is None:
        raise HTTPException(status_code=400, detail="say who you are first (Coder page)")
    if "memo" not in form:
        # The coding panel always sends its memo field (empty or not): a form without it is not
        # the panel, and saving it would wipe this coder's codes for the image.
        raise HTTPException(status_code=400, detail="not a coding form: the memo field is missing")
    code_ids, memo = _code_ids(form), str(form.get("memo") or "")
    htmx = request.headers.get("hx-request") == "true"
    codebook = await run_in_threadpool(ctx.store.codebook)
    record = ctx.run.record(image_id)
    try:
        await run_in_threadpool(ctx.store.save_coding, image_id, coder, code_ids, memo)
    except StoreError as error:
        if not htmx:
            raise HTTPException(status_code=400, detail=str(error)) from error
        context = await run_in_threadpool(ctx.panel, record, coder, codebook, None, "", str(error))
        return ctx.render(request, "_panel.html", coder, status_code=400, **context)
    if not htmx:
        return redirect_back(request, ctx, image_id)
    context = await run_in_threadpool(ctx.panel, record, coder, codebook, None, "saved")
    # oob: the panel also refreshes the header's progress counter (htmx out-of-band swap).
    return ctx.render(request, "_panel.html", coder, oob=True, **context)
