"""Agreement between coders (kappa, alpha, per-cluster distributions) and the disagreements queue."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from visframe import contracts as C
from visframe.review import agreement as agree
from visframe.review.deps import Coder, Ctx
from visframe.utils.csv_safe import to_csv_safe

router = APIRouter()


@router.get("/agreement", response_class=HTMLResponse)
def agreement_page(request: Request, ctx: Ctx, coder: Coder) -> Response:
    m = ctx.matrix()
    long = agree.cluster_code_distribution(m, ctx.clusters_of)
    distribution = [
        {
            C.CLUSTER: int(cluster),
            "n_images": int(rows["n_images"].iloc[0]),
            "n_reviews": int(rows["n_reviews"].iloc[0]),
            "cells": list(zip(rows["n_applied"].astype(int), rows["share"].astype(float))),
        }
        for cluster, rows in long.groupby(C.CLUSTER, sort=False)
    ]
    return ctx.render(
        request,
        "agreement.html",
        coder,
        active="agreement",
        matrix=m,
        kappas=agree.cohen_kappa_table(m),
        alphas=agree.krippendorff_alpha_table(m),
        distribution=distribution,
        pooled=agree.POOLED,
    )


@router.get("/agreement.csv")
def agreement_csv(ctx: Ctx) -> Response:
    m = ctx.matrix()
    frame = agree.agreement_frame(agree.cohen_kappa_table(m), agree.krippendorff_alpha_table(m))
    return Response(
        to_csv_safe(frame, None),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="agreement.csv"'},
    )


@router.get("/disagreements", response_class=HTMLResponse)
def disagreements_page(request: Request, ctx: Ctx, coder: Coder) -> Response:
    found = agree.disagreements(ctx.matrix(), ctx.clusters_of)
    items = [
        {"d": d, "link": ctx.locate(d.image_id), "record": ctx.run.record(d.image_id)}
        for d in found
        if ctx.run.has_image(d.image_id)
    ]
    return ctx.render(request, "disagreements.html", coder, active="disagreements", items=items)
