"""What every route needs, built once per app: the run, the store, templates, guards, the text index,
the map's state and the run's message topics.

Routes get it through `deps.get_context` (FastAPI `Depends`); nothing is captured in closures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import Response
from starlette.templating import Jinja2Templates

from visframe import contracts as C
from visframe.review import agreement as agree
from visframe.review.limits import Limits
from visframe.review.map_state import MapState
from visframe.review.media import Media
from visframe.review.run_data import ReviewRun
from visframe.review.run_messages import RunMessages
from visframe.review.search import TextIndex
from visframe.review.security import CSRF_FIELD, Csrf
from visframe.review.store import ReviewStore
from visframe.review.textsafe import displayable

HERE = Path(__file__).parent
PAGE_SIZE = 48
PANEL = "_panel.html"


def _format_number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}"


def _finalize(value: Any) -> Any:
    """Every `{{ … }}` output: text loses NUL and bidi controls (then Jinja escapes it)."""
    return displayable(value) if isinstance(value, str) else value


def make_templates() -> Jinja2Templates:
    # autoescape=True for every template: captions, hashtags, memos and code names are user data.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
    )
    env.filters["number"] = _format_number
    return Jinja2Templates(env=env)


@dataclass
class ReviewContext:
    run: ReviewRun
    store: ReviewStore
    csrf: Csrf
    limits: Limits
    tracking_uri: str | None = None
    page_size: int = PAGE_SIZE
    templates: Jinja2Templates = field(default_factory=make_templates)

    def __post_init__(self) -> None:
        self.media = Media(self.run)
        self.all_ids = self.run.images.index  # a pandas Index: membership is a hash lookup
        self.clusters_of = self.run.images[C.CLUSTER]  # image_id -> cluster (a Series: [], .get)
        self.search = TextIndex(self.run)  # built on the first search
        self.map = MapState(self.run.files)  # /map's data, selections and ranker, made on first need
        self.messages = RunMessages(self.run)  # message topics and slogans, read on first need
        self.has_map = False  # set by create_app once every router is included

    def render(
        self, request: Request, name: str, coder: str | None, status_code: int = 200, **context: Any
    ) -> Response:
        progress = self.store.progress(self.all_ids)
        context.update(
            run=self.run,
            coder=coder,
            coder_done=progress.get(coder, 0) if coder else 0,
            progress=progress,
            total=self.run.n_images,
            csrf=self.csrf.token_for(request.state.session),
            csrf_field=CSRF_FIELD,
            active=context.get("active", ""),
            # The coding panel (every htmx save) shows no cluster names: skip that query there.
            human_names={} if name == PANEL else self.store.cluster_names(),
            query=context.get("query", ""),
            has_map=self.has_map,
            has_topics=self.messages.available,
        )
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)

    def locate(self, image_id: str) -> tuple[int, int]:
        """(cluster, offset of the page that shows it)."""
        cluster = int(self.run.images.at[image_id, C.CLUSTER])
        position = int(self.run.members(cluster).get_loc(image_id))
        return cluster, (position // self.page_size) * self.page_size

    def panel(
        self,
        record: dict[str, Any],
        coder: str | None,
        codebook,
        saved: dict | None = None,
        message: str = "",
        error: str = "",
    ) -> dict[str, Any]:
        """What the coding panel of one image shows (`saved` from codings_by_image, else the store)."""
        image_id = record[C.IMAGE_ID]
        if saved is not None:
            chosen, memo = saved.get(image_id, (set(), ""))
            done = image_id in saved
        else:
            chosen, memo, done = self.store.coding_for(image_id, coder) if coder else (set(), "", False)
        return {
            "image": record,
            "codebook": codebook,
            "chosen": chosen,
            "memo": memo,
            "saved": done,
            "message": message,
            "error": error,
        }

    def panels(self, records: list[dict[str, Any]], coder: str | None) -> list[dict[str, Any]]:
        codebook = self.store.codebook()
        saved = self.store.codings_by_image(coder, [r[C.IMAGE_ID] for r in records]) if coder else {}
        return [self.panel(r, coder, codebook, saved) for r in records]

    def matrix(self) -> agree.CodingMatrix:
        return agree.CodingMatrix.from_frames(
            self.store.reviews_frame(), self.store.codings_frame(), [c.name for c in self.store.codebook()]
        )
