"""/map: every post of the run on one WebGL2 scatter (deck.gl, vendored), linked to coding.

The page (templates/map.html + static/map.js) loads two things: `/map/meta.json` (bounds, the
colourings, the cluster names and counts, the codebook) and `/map/points.bin` (typed arrays, see
`MapData.points_bytes`). Everything else is asked for when needed: another colouring's codes, one
point's tooltip, the image ids of the few hundred points drawn as thumbnails, search hits, a
selection. Selections are made on the server (point-in-polygon over the float32 positions), saved
in the review store under a content id that the page puts in its URL (so a link outlives the app;
store_selections.py), and can be coded or exported.

State is the app's typed ReviewContext (`Ctx`, through FastAPI `Depends`, as in routes/): the run,
the store, the CSRF guard, the media and `ctx.map` (map_state.MapState: the MapData, the recent
selections and the text ranker, each made on first need under its own lock).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image, ImageOps
from starlette.concurrency import run_in_threadpool

from visframe import contracts as C
from visframe.review.context import ReviewContext
from visframe.review.deps import Coder, Ctx
from visframe.review.map_data import MapData
from visframe.review.run_data import is_image_id
from visframe.review.store import StoreError
from visframe.review.text_rank import MAX_K, Ranked, TextRankUnavailable
from visframe.utils.csv_safe import safe_csv_bytes

router = APIRouter()

TILE = 96  # px of a zoomed-in point's square thumbnail
THUMB_CAP = 300  # thumbnails drawn at once, at most (the page asks for ids of visible points only)
MAX_BULK_CODE = 20_000  # images one "code the selection" may touch
PANEL_ITEMS = 120  # images listed in the selection panel
BINARY = "application/octet-stream"
NO_STORE = {"cache-control": "no-store"}


def _selection(ctx: ReviewContext, sid: str) -> np.ndarray:
    """A saved selection's point numbers (from memory, else the review store), or a 404/409 that says why."""
    data = ctx.map.data()
    found = ctx.map.selection(sid)
    if found is None:
        stored = ctx.store.selection(sid)
        if stored is None:
            raise HTTPException(
                status_code=404,
                detail=(
                    f"no map selection {sid[:16]!r} in this run's review store: it was drawn on another "
                    "run or "
                    "another store (--db), or the link is cut short; draw it again"
                ),
            )
        found, n_points = stored
        if n_points != data.n or (len(found) and int(found.max()) >= data.n):
            raise HTTPException(
                status_code=409,
                detail=(
                    f"map selection {sid} was drawn on a map of {n_points:,} posts and this run's map has "
                    f"{data.n:,}: "
                    "the run's assignments changed since; draw it again"
                ),
            )
        ctx.map.remember(sid, found)
    return found


# -- the page and its data ----------------------------------------------------------------------
@router.get("/map")
def map_page(request: Request, ctx: Ctx, coder: Coder) -> Response:
    return ctx.render(request, "map.html", coder, active="map")


@router.get("/map/meta.json")
async def map_meta(ctx: Ctx, coder: Coder) -> JSONResponse:
    data = await run_in_threadpool(ctx.map.data)
    codebook = await run_in_threadpool(ctx.store.codebook)
    return JSONResponse(
        {
            "n": data.n,
            "bounds": data.bounds(),
            "layout": ["xy:float32x2", "probability:float32", "cluster:uint16"],
            "colourings": data.colourings(),
            C.CLUSTER: data.cluster.as_json(C.CLUSTER),
            "codebook": [{"id": c.id, "name": c.name} for c in codebook],
            "thumb_cap": THUMB_CAP,
            "coder": coder,
        },
        headers=NO_STORE,
    )


@router.get("/map/points.bin")
async def map_points(ctx: Ctx) -> Response:
    data = await run_in_threadpool(ctx.map.data)
    body = await run_in_threadpool(data.points_bytes)
    return Response(body, media_type=BINARY, headers={"x-points": str(data.n), **NO_STORE})


def _colouring(ctx: ReviewContext, key: str):
    found = ctx.map.data().colouring(key)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no categorical colouring {key!r}")
    return found


@router.get("/map/colour/{key}.json")
async def map_colour_json(ctx: Ctx, key: str) -> JSONResponse:
    found = await run_in_threadpool(_colouring, ctx, key)
    return JSONResponse(found.as_json(key), headers=NO_STORE)


@router.get("/map/colour/{key}.bin")
async def map_colour_bin(ctx: Ctx, key: str) -> Response:
    found = await run_in_threadpool(_colouring, ctx, key)
    return Response(found.codes.astype("<u2").tobytes(), media_type=BINARY, headers=NO_STORE)


@router.get("/map/point/{index}.json")
async def map_point(ctx: Ctx, index: int) -> JSONResponse:
    data = await run_in_threadpool(ctx.map.data)
    if not 0 <= index < data.n:
        raise HTTPException(status_code=404, detail="no such point")
    point = await run_in_threadpool(data.point, index)
    point["codeable"] = ctx.run.has_image(point[C.IMAGE_ID])
    return JSONResponse(point)


@router.get("/map/ids.json")
async def map_ids(ctx: Ctx, idx: str = Query("", max_length=THUMB_CAP * 8)) -> JSONResponse:
    """The image ids of up to THUMB_CAP points (the visible ones the page draws as thumbnails)."""
    data = await run_in_threadpool(ctx.map.data)
    try:
        wanted = np.array([int(v) for v in idx.split(",") if v][:THUMB_CAP], dtype=np.int64)
    except ValueError as error:
        raise HTTPException(status_code=400, detail="idx: comma-separated point numbers") from error
    if len(wanted) and (wanted.min() < 0 or wanted.max() >= data.n):
        raise HTTPException(status_code=400, detail="idx: a point number out of range")
    return JSONResponse({"ids": data.image_ids(wanted)})


@router.get("/map/search.bin")
async def map_search(ctx: Ctx, q: str = Query("", max_length=200)) -> Response:
    data = await run_in_threadpool(ctx.map.data)
    hits = await run_in_threadpool(data.search, q)
    return Response(hits.astype("<u4").tobytes(), media_type=BINARY, headers={"x-count": str(len(hits))})


# -- search by meaning: the run's text vectors and/or image-text encoder rank images (text_rank.py) --
@router.get("/map/similar/status.json")
async def similar_status(ctx: Ctx) -> JSONResponse:
    """Whether this run's encoder can embed a text query (builds the encoder on first call)."""
    ranker = await run_in_threadpool(ctx.map.ranker)
    return JSONResponse(await run_in_threadpool(ranker.status))


async def _ranked(ctx: ReviewContext, q: str, k: int) -> Ranked:
    if not q.strip():
        raise HTTPException(status_code=400, detail="type what the images should show")
    ranker = await run_in_threadpool(ctx.map.ranker)
    try:
        return await run_in_threadpool(ranker.rank, q.strip(), k)
    except TextRankUnavailable as problem:
        raise HTTPException(status_code=409, detail=str(problem)) from problem


@router.get("/map/similar.json")
async def similar_json(
    ctx: Ctx, q: str = Query("", max_length=200), k: int = Query(100, ge=1, le=MAX_K)
) -> JSONResponse:
    """The k images most similar to the query, best first, with their cosine similarity and the side
    ("text": the text vectors; "image": the image-text encoder) that ranked each."""
    ranked = await _ranked(ctx, q, k)
    return JSONResponse(
        {
            "query": q.strip(),
            "n_ranked": ranked.n_ranked,
            "n_missing": ranked.n_missing,
            "images": [
                {C.IMAGE_ID: i, "score": round(float(s), 5), "by": by}
                for i, s, by in zip(ranked.image_ids, ranked.scores, ranked.by)
            ],
        }
    )


@router.get("/map/similar.bin")
async def similar_bin(
    ctx: Ctx, q: str = Query("", max_length=200), k: int = Query(100, ge=1, le=MAX_K)
) -> Response:
    """The posts of the k most similar images (uint32 point numbers, best image first), as search.bin."""
    ranked = await _ranked(ctx, q, k)
    data = ctx.map.data()
    rank = pc.index_in(data.assignments[C.IMAGE_ID], value_set=pa.array(ranked.image_ids, pa.string()))
    points = np.flatnonzero(rank.is_valid().to_numpy(zero_copy_only=False))
    order = pc.fill_null(rank, 0).to_numpy()[points]
    points = points[np.argsort(order, kind="stable")].astype(np.uint32)
    return Response(
        points.astype("<u4").tobytes(),
        media_type=BINARY,
        headers={"x-count": str(len(points)), "x-images": str(len(ranked.image_ids))},
    )


# -- selections ---------------------------------------------------------------------------------
@router.post("/map/selection")
async def make_selection(request: Request, ctx: Ctx) -> JSONResponse:
    ctx.csrf.verify(request, None)  # X-CSRF-Token header, as htmx sends it
    data = await run_in_threadpool(ctx.map.data)
    try:
        body = json.loads(await request.body())
        hidden = [int(h) for h in body.get("hidden", [])]
        indices = await run_in_threadpool(
            data.select, body["polygon"], str(body.get("colouring", C.CLUSTER)), hidden
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise HTTPException(status_code=400, detail=f"unreadable selection: {error}") from error
    try:
        sid = await run_in_threadpool(ctx.store.save_selection, indices, data.n)
    except StoreError as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    ctx.map.remember(sid, indices)
    return JSONResponse(_summary(ctx, data, sid, indices))


def _summary(ctx: ReviewContext, data: MapData, sid: str, indices: np.ndarray, items: int = 0) -> dict:
    ids = data.image_ids(indices)
    unique = list(dict.fromkeys(ids))
    summary = {
        "id": sid,
        "n_posts": len(ids),
        "n_images": len(unique),
        "n_codeable": sum(1 for i in unique if ctx.run.has_image(i)),
    }
    if items:  # one card per image (a reshare shows once), in the selection's order
        first = dict(zip(reversed(ids), reversed(range(len(ids)))))
        summary["items"] = [data.point(int(indices[k])) for k in sorted(first.values())[:items]]
    return summary


@router.get("/map/selection/{sid}.json")
async def selection_json(ctx: Ctx, sid: str) -> JSONResponse:
    indices = await run_in_threadpool(_selection, ctx, sid)
    data = ctx.map.data()
    return JSONResponse(await run_in_threadpool(_summary, ctx, data, sid, indices, PANEL_ITEMS))


@router.get("/map/selection/{sid}.bin")
def selection_bin(ctx: Ctx, sid: str) -> Response:
    return Response(_selection(ctx, sid).astype("<u4").tobytes(), media_type=BINARY)


@router.get("/map/selection/{sid}.csv")
async def selection_csv(ctx: Ctx, sid: str) -> Response:
    indices = await run_in_threadpool(_selection, ctx, sid)
    table = await run_in_threadpool(ctx.map.data().selection_table, indices)
    body = await run_in_threadpool(lambda: safe_csv_bytes(table.to_pandas()))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="selection-{sid}.csv"'},
    )


@router.get("/map/selection/{sid}.parquet")
async def selection_parquet(ctx: Ctx, sid: str) -> Response:
    indices = await run_in_threadpool(_selection, ctx, sid)
    table = await run_in_threadpool(ctx.map.data().selection_table, indices)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.apache.parquet",
        headers={"content-disposition": f'attachment; filename="selection-{sid}.parquet"'},
    )


@router.post("/map/selection/{sid}/code")
async def code_selection(request: Request, ctx: Ctx, coder: Coder, sid: str) -> JSONResponse:
    """Add one code to every codeable image of the selection (their other codes and memos stay)."""
    ctx.csrf.verify(request, None)
    indices = await run_in_threadpool(_selection, ctx, sid)
    if coder is None:
        raise HTTPException(status_code=400, detail="say who you are first (Coder page)")
    try:
        code_id = int(json.loads(await request.body())["code_id"])
    except (ValueError, KeyError, TypeError) as error:
        raise HTTPException(status_code=400, detail='send {"code_id": <a code\'s id>}') from error
    if code_id not in {c.id for c in ctx.store.codebook()}:
        raise HTTPException(status_code=400, detail="no such code in the codebook")
    ids = [i for i in dict.fromkeys(ctx.map.data().image_ids(indices)) if ctx.run.has_image(i)]
    if len(ids) > MAX_BULK_CODE:
        raise HTTPException(
            status_code=400,
            detail=f"{len(ids)} images: code at most {MAX_BULK_CODE} at once (select a smaller region)",
        )
    try:
        await run_in_threadpool(_add_code, ctx.store, ids, coder, code_id)
    except StoreError as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    return JSONResponse({"coded": len(ids), "code_id": code_id, "coder": coder})


def _add_code(store, image_ids: list[str], coder: str, code_id: int) -> None:
    saved = store.codings_by_image(coder, image_ids)
    for image_id in image_ids:
        codes, memo = saved.get(image_id, (set(), ""))
        store.save_coding(image_id, coder, sorted(codes | {code_id}), memo)


@router.get("/map/tile/{image_id}")
async def map_tile(ctx: Ctx, image_id: str) -> Response:
    """A square TILE px JPEG (centre crop of the app's thumbnail): how a zoomed-in point is drawn."""
    data = await run_in_threadpool(ctx.media.thumbnail, image_id) if is_image_id(image_id) else None
    if data is None:
        raise HTTPException(status_code=404, detail="no such image")
    return Response(
        await run_in_threadpool(_square, data),
        media_type="image/jpeg",
        headers={"cache-control": "private, max-age=3600"},
    )


def _square(data: bytes, size: int = TILE) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        tile = ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    tile.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


# -- one image's coding panel (the same form as the cluster pages) -----------------------------
@router.get("/map/panel/{image_id}")
async def coding_panel(request: Request, ctx: Ctx, coder: Coder, image_id: str) -> Response:
    if not is_image_id(image_id) or not ctx.run.has_image(image_id):
        raise HTTPException(status_code=404, detail="this image is not among the images to code in this run")
    codebook = await run_in_threadpool(ctx.store.codebook)
    chosen, memo, saved = (
        await run_in_threadpool(ctx.store.coding_for, image_id, coder) if coder else (set(), "", False)
    )
    return ctx.render(
        request,
        "_panel.html",
        coder,
        image=ctx.run.record(image_id),
        codebook=codebook,
        chosen=chosen,
        memo=memo,
        saved=saved,
        message="",
        error="",
    )
