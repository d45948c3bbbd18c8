"""Find by text: the search box's results as an image grid, each image with its cluster."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from visframe.review.deps import Coder, Ctx

router = APIRouter()


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, ctx: Ctx, coder: Coder, q: str = Query("", max_length=500)) -> Response:
    hits = ctx.search.find(q) if q.strip() else []
    results = [{"record": ctx.run.record(h.image_id), "snippet": h.snippet,
                "summary": ctx.run.summary(ctx.clusters_of[h.image_id])} for h in hits]
    return ctx.render(request, "search.html", coder, active="search", query=q, results=results,
                      indexed=ctx.search.size, has_text=bool(ctx.run.texts))
