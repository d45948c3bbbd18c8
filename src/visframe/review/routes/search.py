"""Find by text: the search box's results as an image grid, each image with its cluster.

`mode=words` (the default): every word must occur (review/search.py's FTS5 index). `mode=meaning`:
the images whose text says most nearly what the query says, in any language, and, when the run's
image encoder has a text side, the textless images that look like it (review/text_rank.py, the map's
ranker); a run that has neither answers 409 with the reason and the fix.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from visframe.review.deps import Coder, Ctx
from visframe.review.search import MAX_RESULTS, Hit
from visframe.review.text_rank import TextRankUnavailable

router = APIRouter()


def _by_meaning(ctx, q: str) -> tuple[list[Hit], str]:
    """The best images by meaning (their own text as the snippet), or ([], why not)."""
    try:
        ranked = ctx.map.ranker().rank(q.strip(), MAX_RESULTS)
    except TextRankUnavailable as problem:
        return [], str(problem)
    return [Hit(i, ctx.run.texts.get(i, "")) for i in ranked.image_ids if ctx.run.has_image(i)], ""


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    ctx: Ctx,
    coder: Coder,
    q: str = Query("", max_length=500),
    mode: str = Query("words", pattern="^(words|meaning)$"),
) -> Response:
    hits, problem = (
        (_by_meaning(ctx, q) if mode == "meaning" else (ctx.search.find(q), "")) if q.strip() else ([], "")
    )
    results = [
        {
            "record": ctx.run.record(h.image_id),
            "snippet": h.snippet,
            "summary": ctx.run.summary(ctx.clusters_of[h.image_id]),
        }
        for h in hits
    ]
    return ctx.render(
        request,
        "search.html",
        coder,
        status_code=409 if problem else 200,
        active="search",
        query=q,
        mode=mode,
        problem=problem,
        results=results,
        indexed=ctx.search.size,
        has_text=bool(ctx.run.texts),
    )
