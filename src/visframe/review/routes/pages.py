"""Pages: the clusters overview, a cluster's images (with its names; filtered by message topic when the
run has topics), renaming it, the coder page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from visframe.review.deps import CODER_COOKIE, Coder, Ctx, Form, KnownCoder, text_field
from visframe.review.limits import parse_cluster
from visframe.review.routes.topics import topic_filter, with_messages
from visframe.review.security import set_cookie
from visframe.review.store import StoreError, clean_coder_name

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, ctx: Ctx, coder: Coder) -> Response:
    return ctx.render(request, "overview.html", coder, active="clusters")


def _summary(ctx, cluster: str):
    number = parse_cluster(cluster)
    summary = ctx.run.summary(number)
    if summary is None:
        raise HTTPException(status_code=404, detail=f"this run has no cluster {number}")
    return summary


@router.get("/cluster/{cluster}", response_class=HTMLResponse)
def cluster_page(
    request: Request,
    ctx: Ctx,
    coder: Coder,
    cluster: str,
    offset: int = Query(0, ge=0, le=10**9),
    topic: str | None = Query(None, max_length=24),
) -> Response:
    """A cluster's images; with `?topic=K` only those whose text falls in message topic K (-1: in none)."""
    summary = _summary(ctx, cluster)
    members = ctx.run.members(summary.cluster)
    filter_ = topic_filter(ctx, members, topic)
    if filter_ is not None and filter_["chosen"] is not None:
        members = ctx.messages.within(members, filter_["chosen"])
    panels = with_messages(ctx, ctx.panels(ctx.run.records(members[offset : offset + ctx.page_size]), coder))
    return ctx.render(
        request,
        "cluster.html",
        coder,
        active="clusters",
        summary=summary,
        panels=panels,
        offset=offset,
        page_size=ctx.page_size,
        n_records=len(members),
        error="",
        topic_filter=filter_,
    )


@router.post("/cluster/{cluster}/name", response_class=HTMLResponse)
def rename_cluster(request: Request, ctx: Ctx, coder: KnownCoder, form: Form, cluster: str) -> Response:
    """A coder's name for the cluster, kept beside the automatic one (an empty name removes it)."""
    summary = _summary(ctx, cluster)
    try:
        ctx.store.rename_cluster(summary.cluster, text_field(form, "name"), coder)
    except StoreError as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    return RedirectResponse(f"/cluster/{summary.cluster}", status_code=303)


@router.get("/coder", response_class=HTMLResponse)
def coder_page(request: Request, ctx: Ctx, coder: Coder) -> Response:
    return ctx.render(request, "coder.html", coder, active="coder", error="")


@router.post("/coder", response_class=HTMLResponse)
def set_coder(request: Request, ctx: Ctx, coder: Coder, form: Form) -> Response:
    try:
        name = clean_coder_name(text_field(form, "name"))
    except StoreError as error:
        return ctx.render(request, "coder.html", coder, status_code=400, active="coder", error=str(error))
    response = RedirectResponse("/", status_code=303)
    set_cookie(response, request, CODER_COOKIE, quote(name, safe=""), max_age=180 * 24 * 3600)
    return response
