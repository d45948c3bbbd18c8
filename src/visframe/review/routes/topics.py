"""What the text says: the message topics overview (with the slogans), a topic's images (filtered by
visual cluster), a slogan's images, and the cluster pages' filter by message topic.

Shown only when the run has messages.parquet (`ctx.messages.available`); a topic or slogan address of
a run without them is a 404 that says so. The images listed are the images to code, as on the
cluster pages, each with its message topic, its message text and its visual cluster.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from visframe import contracts as C
from visframe.review.context import ReviewContext
from visframe.review.deps import Coder, Ctx
from visframe.review.limits import parse_cluster, parse_id

router = APIRouter()
MAX_SLOGANS_LISTED = 500  # slogans on the overview (most accounts first); slogans.parquet has them all


def parse_topic(value: str) -> int:
    """A message topic number (-1: the text in no topic), or 400."""
    text = (value or "").strip()
    return (
        -parse_id(text[1:], "a message topic") if text.startswith("-") else parse_id(text, "a message topic")
    )


def _require_messages(ctx: ReviewContext) -> None:
    if not ctx.messages.available:
        raise HTTPException(
            status_code=404, detail=f"this run has no message topics: {ctx.messages.absent_because}"
        )


def topic_filter(ctx: ReviewContext, members: pd.Index, chosen: str | None) -> dict[str, Any] | None:
    """A cluster page's filter by message topic: the topics among its images (with counts), the chosen one.
    None for a run without message topics."""
    if not ctx.messages.available:
        if chosen:
            _require_messages(ctx)
        return None
    number = parse_topic(chosen) if chosen else None
    options = [(topic, ctx.messages.title(topic), n) for topic, n in ctx.messages.topic_counts(members)]
    if number is not None and ctx.messages.topic(number) is None and number not in {o[0] for o in options}:
        raise HTTPException(status_code=404, detail=f"this run has no message topic {number}")
    return {"chosen": number, "options": options, "total": len(members)}


def with_messages(ctx: ReviewContext, panels: list[dict], clusters: bool = False) -> list[dict]:
    """Each panel with its image's message topic and text (when the run has them) and, if `clusters`, a link
    to its visual cluster."""
    for panel in panels:
        image_id = panel["image"][C.IMAGE_ID]
        if ctx.messages.available:
            panel["message_topic"] = ctx.messages.message_of(image_id)
        if clusters:
            summary = ctx.run.summary(int(ctx.clusters_of[image_id]))
            panel["cluster_link"] = {"number": summary.cluster, "title": summary.title} if summary else None
    return panels


def _page(ctx: ReviewContext, coder: str | None, members: pd.Index, offset: int) -> list[dict]:
    return with_messages(
        ctx, ctx.panels(ctx.run.records(members[offset : offset + ctx.page_size]), coder), True
    )


@router.get("/topics", response_class=HTMLResponse)
def topics_page(request: Request, ctx: Ctx, coder: Coder) -> Response:
    """The message topics (cards) and the slogans (a table); a run without them: a page that says why."""
    if not ctx.messages.available:
        return ctx.render(
            request,
            "topics.html",
            coder,
            active="topics",
            absent=ctx.messages.absent_because,
            topics=[],
            to_code={},
            slogans=[],
            n_slogans=0,
            topic_title=ctx.messages.title,
        )
    to_code = dict(ctx.messages.topic_counts(ctx.run.images.index))
    slogans = ctx.messages.slogans
    return ctx.render(
        request,
        "topics.html",
        coder,
        active="topics",
        topics=ctx.messages.topics,
        to_code=to_code,
        slogans=slogans[:MAX_SLOGANS_LISTED],
        n_slogans=len(slogans),
        topic_title=ctx.messages.title,
        absent="",
    )


@router.get("/topic/{topic}", response_class=HTMLResponse)
def topic_page(
    request: Request,
    ctx: Ctx,
    coder: Coder,
    topic: str,
    offset: int = Query(0, ge=0, le=10**9),
    cluster: str | None = Query(None, max_length=24),
) -> Response:
    """A message topic's images to code, its most typical first; `?cluster=K`: those of visual cluster K."""
    _require_messages(ctx)
    number = parse_topic(topic)
    summary = ctx.messages.topic(number)
    if summary is None:
        raise HTTPException(status_code=404, detail=f"this run has no message topic {number}")
    members = ctx.messages.members(number)
    clusters_here = (
        ctx.clusters_of.loc[members].value_counts(sort=False) if len(members) else pd.Series(dtype=int)
    )
    options = sorted(
        ((int(k), int(n)) for k, n in clusters_here.items()), key=lambda o: (o[0] == C.NOISE, -o[1], o[0])
    )
    chosen = None
    if cluster:
        chosen = parse_cluster(cluster)
        if ctx.run.summary(chosen) is None:
            raise HTTPException(status_code=404, detail=f"this run has no cluster {chosen}")
        members = members[ctx.clusters_of.loc[members].to_numpy() == chosen]
    slogans = [s for s in ctx.messages.slogans if s.topic == number][:MAX_SLOGANS_LISTED]
    return ctx.render(
        request,
        "topic.html",
        coder,
        active="topics",
        topic=summary,
        n_in_topic=sum(n for _, n in options),
        cluster_options=[(k, ctx.run.summary(k), n) for k, n in options],
        chosen=chosen,
        slogans=slogans,
        panels=_page(ctx, coder, members, offset),
        offset=offset,
        page_size=ctx.page_size,
        n_records=len(members),
    )


@router.get("/slogan/{number}", response_class=HTMLResponse)
def slogan_page(
    request: Request, ctx: Ctx, coder: Coder, number: str, offset: int = Query(0, ge=0, le=10**9)
) -> Response:
    """The images to code that carry a slogan (slogans.parquet's row `number`, most accounts first)."""
    _require_messages(ctx)
    row = parse_id(number, "a slogan")
    slogan = ctx.messages.slogan(row)
    if slogan is None:
        raise HTTPException(status_code=404, detail=f"this run has no slogan {row}")
    members = pd.Index([i for i in dict.fromkeys(slogan.image_ids) if ctx.run.has_image(i)])
    return ctx.render(
        request,
        "slogan.html",
        coder,
        active="topics",
        slogan=slogan,
        topic_title=ctx.messages.title(slogan.topic),
        panels=_page(ctx, coder, members, offset),
        offset=offset,
        page_size=ctx.page_size,
        n_records=len(members),
    )
