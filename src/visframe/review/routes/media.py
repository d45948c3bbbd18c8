"""Images by image_id from the manifest, nothing else; and a health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from visframe.review.deps import Ctx
from visframe.review.run_data import is_image_id

router = APIRouter()
CACHE = {"cache-control": "private, max-age=3600"}


@router.get("/image/{image_id}")
def image(ctx: Ctx, image_id: str) -> Response:
    found = ctx.media.original(image_id) if is_image_id(image_id) else None
    if found is None:
        raise HTTPException(status_code=404, detail="no such image")
    path, mime = found
    return FileResponse(path, media_type=mime, headers=CACHE)


@router.get("/thumb/{image_id}")
def thumbnail(ctx: Ctx, image_id: str) -> Response:
    data = ctx.media.thumbnail(image_id) if is_image_id(image_id) else None
    if data is None:
        raise HTTPException(status_code=404, detail="no such image")
    return Response(data, media_type="image/jpeg", headers=CACHE)


@router.get("/healthz")
def healthz(ctx: Ctx) -> dict[str, Any]:
    return {"ok": True, "run_id": ctx.run.run_id, "images": ctx.run.n_images}
