"""The noise queue: the images the clusterer left out, the most cluster-like first, to code or place by hand.

Order: by `nearest_cluster_strength` (highest first) when the cluster stage wrote it; otherwise by
membership probability (highest first), then GLOSH outlier score (lowest first). A coder may code a
noise image as any other, and may assign it to a cluster: that assignment is stored per coder as
contracts.HUMAN_CLUSTER and exported beside `cluster`, which stays noise.
"""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from visframe import contracts as C
from visframe.review.deps import Coder, Ctx, Form, KnownCoder, text_field
from visframe.review.limits import parse_cluster
from visframe.review.store import StoreError

router = APIRouter()
KEEP_NOISE = ""  # the assign form's value for "leave it as noise" (removes the hand assignment)


def noise_queue(images: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The noise images in queue order, and a sentence saying which order it is."""
    noise = images[images[C.CLUSTER] == C.NOISE]
    if C.NEAREST_CLUSTER_STRENGTH in noise.columns and noise[C.NEAREST_CLUSTER_STRENGTH].notna().any():
        return (
            noise.sort_values(C.NEAREST_CLUSTER_STRENGTH, ascending=False, kind="stable", na_position="last"),
            "by the strength of their nearest cluster, strongest first",
        )
    keys, ascending = [C.PROBABILITY], [False]
    if C.OUTLIER_SCORE in noise.columns:
        keys, ascending = [C.PROBABILITY, C.OUTLIER_SCORE], [False, True]
    return (
        noise.sort_values(keys, ascending=ascending, kind="stable", na_position="last"),
        "by membership probability, then by outlier score (this run has no nearest-cluster columns)",
    )


def _nearest(record: dict) -> int | None:
    value = record.get(C.NEAREST_CLUSTER)
    if value is None or pd.isna(value) or int(value) == C.NOISE:
        return None
    return int(value)


@router.get("/noise", response_class=HTMLResponse)
def noise_page(request: Request, ctx: Ctx, coder: Coder, offset: int = Query(0, ge=0, le=10**9)) -> Response:
    queue, order = noise_queue(ctx.run.images)
    panels = ctx.panels(ctx.run.records(queue.index[offset : offset + ctx.page_size]), coder)
    mine = {}
    if coder:
        frame = ctx.store.human_clusters(coder)
        mine = dict(zip(frame[C.IMAGE_ID], frame[C.HUMAN_CLUSTER]))
    for panel in panels:
        image_id = panel["image"][C.IMAGE_ID]
        panel["nearest"] = _nearest(panel["image"])
        panel["assigned"] = mine.get(image_id)
    targets = [c for c in ctx.run.clusters if c.cluster != C.NOISE]
    return ctx.render(
        request,
        "noise.html",
        coder,
        active="noise",
        panels=panels,
        order=order,
        offset=offset,
        page_size=ctx.page_size,
        n_records=len(queue),
        targets=targets,
    )


@router.post("/assign/{image_id}", response_class=HTMLResponse)
def assign(request: Request, ctx: Ctx, coder: KnownCoder, form: Form, image_id: str) -> Response:
    """Place an image in a cluster by hand (the empty choice takes the hand assignment back)."""
    if not ctx.run.has_image(image_id):
        raise HTTPException(status_code=404, detail="no such image in this run")
    choice = text_field(form, C.CLUSTER).strip()
    cluster = None if choice == KEEP_NOISE else parse_cluster(choice)
    if cluster is not None and ctx.run.summary(cluster) is None:
        raise HTTPException(status_code=400, detail=f"this run has no cluster {cluster}")
    try:
        ctx.store.assign_cluster(image_id, coder, cluster)
    except StoreError as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    return RedirectResponse(f"/noise#img-{image_id}", status_code=303)
