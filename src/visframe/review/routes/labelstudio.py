"""Label Studio: tasks and a labeling config out, annotations back in (upload limit: limits.py)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from visframe.review import labelstudio
from visframe.review.deps import Coder, Ctx, Form, text_field
from visframe.review.routes.exports import export_page_response
from visframe.review.store import StoreError, clean_coder_name

router = APIRouter()


@router.get("/export/labelstudio/tasks.json")
def export_tasks(request: Request, ctx: Ctx, embed: int = Query(0, ge=0, le=1)) -> Response:
    base = str(request.base_url).rstrip("/")
    tasks = labelstudio.labelstudio_tasks(ctx.run, lambda i: f"{base}/image/{i}", embed=bool(embed))
    return JSONResponse(tasks, headers={"content-disposition": 'attachment; filename="tasks.json"'})


@router.get("/export/labelstudio/config.xml")
def export_config(ctx: Ctx) -> Response:
    xml = labelstudio.labelstudio_config(ctx.run, [(c.name, c.description) for c in ctx.store.codebook()])
    return Response(
        xml,
        media_type="application/xml",
        headers={"content-disposition": 'attachment; filename="labeling_config.xml"'},
    )


@router.post("/import/labelstudio", response_class=HTMLResponse)
async def import_annotations(request: Request, ctx: Ctx, coder: Coder, form: Form) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(status_code=400, detail="choose a Label Studio JSON export to import")
    payload = await upload.read()
    as_coder = text_field(form, "coder").strip() or None
    # Optional: Label Studio's /api/users/ answer, so annotators' ids become their e-mails.
    users_upload = form.get("users")
    users_payload = await users_upload.read() if isinstance(users_upload, UploadFile) else b""
    try:
        if as_coder:
            as_coder = clean_coder_name(as_coder)
        users = labelstudio.parse_users(users_payload)
        summary = await run_in_threadpool(
            labelstudio.import_annotations, ctx.run, ctx.store, payload, as_coder, users
        )
    except (ValueError, StoreError) as error:
        return export_page_response(request, ctx, coder, 400, error=f"{upload.filename}: {error}")
    return export_page_response(request, ctx, coder, message=f"imported {upload.filename}", summary=summary)
