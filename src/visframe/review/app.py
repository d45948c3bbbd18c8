"""The FastAPI app: server-rendered Jinja2 pages (autoescaped), htmx for in-place saves.

GET never changes state; every change is a POST checked for CSRF. Images are served only as
`/image/{image_id}` and `/thumb/{image_id}`, looked up in the run's manifest.
"""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.templating import Jinja2Templates

from visframe.review import agreement as agree
from visframe.review import exports, labelstudio, map_routes
from visframe.review.media import Media
from visframe.review.run_data import ReviewRun, is_image_id
from visframe.review.security import (
    CSRF_FIELD,
    LOOPBACK_HOSTS,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    AccessToken,
    Csrf,
    is_loopback,
    refuse_path_like,
)
from visframe.review.store import ReviewStore, StoreError, clean_coder_name

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
CODER_COOKIE = "visframe_coder"
PAGE_SIZE = 48
MAX_UPLOAD_BYTES = 64 * 1024 * 1024


def _templates() -> Jinja2Templates:
    # autoescape=True for every template: captions, hashtags, memos and code names are user data.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["number"] = _format_number
    return Jinja2Templates(env=env)


def _format_number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}"


def create_app(
    run: ReviewRun,
    store: ReviewStore,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    allowed_hosts: list[str] | None = None,
    tracking_uri: str | None = None,
    secret: bytes | None = None,
    page_size: int = PAGE_SIZE,
) -> FastAPI:
    """The review app for one run. A non-loopback `host` needs a `token`."""
    if not is_loopback(host) and not token:
        raise ValueError(
            f"host {host!r} is reachable from other machines: give a shared access token "
            "(--token or VISFRAME_REVIEW_TOKEN)"
        )
    if allowed_hosts is None and not token:
        allowed_hosts = LOOPBACK_HOSTS
    app = FastAPI(title="visframe review", docs_url=None, redoc_url=None, openapi_url=None)
    templates = _templates()
    access = AccessToken(token)
    csrf = Csrf(secret)
    media = Media(run)
    all_ids = list(run.images.index)
    app.state.run, app.state.store = run, store

    @app.middleware("http")
    async def guard(request: Request, call_next):
        refused = refuse_path_like(request)
        if refused is None and allowed_hosts is not None:
            hostname = (request.url.hostname or "").lower()
            if hostname not in allowed_hosts:
                refused = Response("refused: unexpected Host header", status_code=400)
        if refused is None:
            refused = access.check(request)
        if refused is not None:
            response = refused
        else:
            session = request.cookies.get(SESSION_COOKIE)
            request.state.session = session or Csrf.new_session()
            response = await call_next(request)
            if not session:
                response.set_cookie(SESSION_COOKIE, request.state.session, httponly=True,
                                    samesite="strict", path="/")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        message = html.escape(str(error.detail))
        return HTMLResponse(f'<div class="error" role="alert">{message}</div>', status_code=error.status_code)

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # -- helpers ----------------------------------------------------------------------------------
    def current_coder(request: Request) -> str | None:
        raw = request.cookies.get(CODER_COOKIE)
        if not raw:
            return None
        try:
            return clean_coder_name(unquote(raw))
        except StoreError:
            return None

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        coder = current_coder(request)
        progress = store.progress(all_ids)
        context.update(
            run=run,
            coder=coder,
            coder_done=progress.get(coder, 0) if coder else 0,
            progress=progress,
            total=run.n_images,
            csrf=csrf.token_for(request.state.session),
            csrf_field=CSRF_FIELD,
            active=context.get("active", ""),
        )
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def locate(image_id: str) -> tuple[int, int]:
        """(cluster, offset of the page that shows it)."""
        cluster = int(run.images.at[image_id, "cluster"])
        members = list(run.images.index[run.images["cluster"] == cluster])
        return cluster, (members.index(image_id) // page_size) * page_size

    def panel_context(image_id: str, coder: str | None, codebook, message: str = "", error: str = ""):
        chosen, memo, saved = store.coding_for(image_id, coder) if coder else (set(), "", False)
        return {"image": run.record(image_id), "codebook": codebook, "chosen": chosen, "memo": memo, "saved": saved,
                    "message": message, "error": error}

    async def verified_form(request: Request):
        try:
            form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
        except Exception as error:
            raise HTTPException(status_code=400, detail=f"unreadable form: {error}") from error
        token = form.get(CSRF_FIELD)
        csrf.verify(request, token if isinstance(token, str) else None)
        return form

    def matrix() -> agree.CodingMatrix:
        return agree.CodingMatrix.from_frames(
            store.reviews_frame(), store.codings_frame(), [c.name for c in store.codebook()]
        )

    clusters_of = {i: int(c) for i, c in run.images["cluster"].items()}

    # -- pages ------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        return render(request, "overview.html", active="clusters")

    @app.get("/cluster/{cluster}", response_class=HTMLResponse)
    def cluster_page(request: Request, cluster: int, offset: int = Query(0, ge=0)) -> Response:
        summary = next((c for c in run.clusters if c.cluster == cluster), None)
        if summary is None:
            raise HTTPException(status_code=404, detail=f"this run has no cluster {cluster}")
        records = run.cluster_records(cluster)
        page = records[offset: offset + page_size]
        coder = current_coder(request)
        codebook = store.codebook()
        saved = store.codings_by_image(coder, [r["image_id"] for r in page]) if coder else {}
        panels = [
            {"image": r, "codebook": codebook, "chosen": saved.get(r["image_id"], (set(), ""))[0],
                 "memo": saved.get(r["image_id"], (set(), ""))[1], "saved": r["image_id"] in saved,
                 "message": "", "error": ""}
            for r in page
        ]
        return render(request, "cluster.html", active="clusters", summary=summary, panels=panels,
                      offset=offset, page_size=page_size, n_records=len(records))

    @app.post("/code/{image_id}", response_class=HTMLResponse)
    async def save_code(request: Request, image_id: str) -> Response:
        form = await verified_form(request)
        if not run.has_image(image_id):
            raise HTTPException(status_code=404, detail="no such image in this run")
        coder = current_coder(request)
        htmx = request.headers.get("hx-request") == "true"
        if coder is None:
            raise HTTPException(status_code=400, detail="say who you are first (Coder page)")
        try:
            code_ids = [int(v) for v in form.getlist("codes")]
        except ValueError as error:
            raise HTTPException(status_code=400, detail="codes must be code ids") from error
        memo = str(form.get("memo") or "")
        codebook = await run_in_threadpool(store.codebook)
        try:
            await run_in_threadpool(store.save_coding, image_id, coder, code_ids, memo)
        except StoreError as error:
            if htmx:
                context = await run_in_threadpool(panel_context, image_id, coder, codebook, "", str(error))
                return render(request, "_panel.html", status_code=400, **context)
            raise HTTPException(status_code=400, detail=str(error)) from error
        if htmx:
            context = await run_in_threadpool(panel_context, image_id, coder, codebook, "saved")
            # oob: the panel also refreshes the header's progress counter (htmx out-of-band swap).
            return render(request, "_panel.html", oob=True, **context)
        cluster, offset = locate(image_id)
        return RedirectResponse(f"/cluster/{cluster}?offset={offset}#img-{image_id}", status_code=303)

    @app.get("/codebook", response_class=HTMLResponse)
    def codebook_page(request: Request) -> Response:
        return render(request, "codebook.html", active="codebook", codebook=store.codebook(), error="")

    @app.post("/codebook", response_class=HTMLResponse)
    async def add_code(request: Request) -> Response:
        form = await verified_form(request)
        try:
            await run_in_threadpool(store.add_code, str(form.get("name") or ""),
                                    str(form.get("description") or ""), current_coder(request) or "")
        except StoreError as error:
            codebook = await run_in_threadpool(store.codebook)
            return render(request, "codebook.html", status_code=400, active="codebook", codebook=codebook,
                          error=str(error))
        return RedirectResponse("/codebook", status_code=303)

    @app.post("/codebook/{code_id}", response_class=HTMLResponse)
    async def edit_code(request: Request, code_id: int) -> Response:
        form = await verified_form(request)
        try:
            await run_in_threadpool(store.edit_code, code_id, str(form.get("name") or ""),
                                    str(form.get("description") or ""))
        except StoreError as error:
            codebook = await run_in_threadpool(store.codebook)
            return render(request, "codebook.html", status_code=400, active="codebook", codebook=codebook,
                          error=str(error))
        return RedirectResponse("/codebook", status_code=303)

    @app.get("/coder", response_class=HTMLResponse)
    def coder_page(request: Request) -> Response:
        return render(request, "coder.html", active="coder", error="")

    @app.post("/coder", response_class=HTMLResponse)
    async def set_coder(request: Request) -> Response:
        form = await verified_form(request)
        try:
            name = clean_coder_name(str(form.get("name") or ""))
        except StoreError as error:
            return render(request, "coder.html", status_code=400, active="coder", error=str(error))
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(CODER_COOKIE, quote(name, safe=""), httponly=True, samesite="strict", path="/",
                            max_age=180 * 24 * 3600)
        return response

    @app.get("/agreement", response_class=HTMLResponse)
    def agreement_page(request: Request) -> Response:
        m = matrix()
        long = agree.cluster_code_distribution(m, clusters_of)
        distribution = [
            {"cluster": int(cluster), "n_images": int(rows["n_images"].iloc[0]),
                 "n_reviews": int(rows["n_reviews"].iloc[0]),
                 "cells": list(zip(rows["n_applied"].astype(int), rows["share"].astype(float)))}
            for cluster, rows in long.groupby("cluster", sort=False)
        ]
        return render(request, "agreement.html", active="agreement", matrix=m,
                      kappas=agree.cohen_kappa_table(m), alphas=agree.krippendorff_alpha_table(m),
                      distribution=distribution, pooled=agree.POOLED)

    @app.get("/agreement.csv")
    def agreement_csv(request: Request) -> Response:
        m = matrix()
        frame = agree.agreement_frame(agree.cohen_kappa_table(m), agree.krippendorff_alpha_table(m))
        return Response(frame.to_csv(index=False), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": 'attachment; filename="agreement.csv"'})

    @app.get("/disagreements", response_class=HTMLResponse)
    def disagreements_page(request: Request) -> Response:
        found = agree.disagreements(matrix(), clusters_of)
        items = [{"d": d, "link": locate(d.image_id), "record": run.record(d.image_id)}
                 for d in found if run.has_image(d.image_id)]
        return render(request, "disagreements.html", active="disagreements", items=items)

    # -- exports and imports ----------------------------------------------------------------------
    @app.get("/export", response_class=HTMLResponse)
    def export_page(request: Request) -> Response:
        return render(request, "export.html", active="export", n_codings=store.count_codings(),
                      message="", error="", summary=None)

    @app.get("/export/codes.csv")
    def export_csv() -> Response:
        frame = exports.codes_frame(run, store)
        return Response(exports.codes_csv_bytes(frame), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": 'attachment; filename="codes.csv"'})

    @app.get("/export/codes.parquet")
    def export_parquet() -> Response:
        frame = exports.codes_frame(run, store)
        return Response(exports.codes_parquet_bytes(frame), media_type="application/vnd.apache.parquet",
                        headers={"content-disposition": 'attachment; filename="codes.parquet"'})

    @app.post("/export/mlflow", response_class=HTMLResponse)
    async def export_mlflow(request: Request) -> Response:
        await verified_form(request)
        try:
            paths = await run_in_threadpool(exports.log_codes_to_mlflow, run, store, tracking_uri)
        except Exception as error:  # noqa: BLE001 - show MLflow's reason on the page
            return render(request, "export.html", status_code=400, active="export",
                          n_codings=store.count_codings(), message="", summary=None,
                          error=f"could not log to MLflow: {error}")
        return render(request, "export.html", active="export", n_codings=store.count_codings(),
                      message=f"logged {', '.join(paths)} to MLflow run {run.mlflow_run_id}", error="",
                      summary=None)

    @app.get("/export/labelstudio/tasks.json")
    def export_labelstudio(request: Request, embed: int = Query(0, ge=0, le=1)) -> Response:
        base = str(request.base_url).rstrip("/")
        tasks = labelstudio.labelstudio_tasks(run, lambda i: f"{base}/image/{i}", embed=bool(embed))
        return JSONResponse(tasks, headers={"content-disposition": 'attachment; filename="tasks.json"'})

    @app.get("/export/labelstudio/config.xml")
    def export_labelstudio_config() -> Response:
        xml = labelstudio.labelstudio_config(run, [(c.name, c.description) for c in store.codebook()])
        return Response(xml, media_type="application/xml",
                        headers={"content-disposition": 'attachment; filename="labeling_config.xml"'})

    @app.post("/import/labelstudio", response_class=HTMLResponse)
    async def import_labelstudio(request: Request) -> Response:
        form = await verified_form(request)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(status_code=400, detail="choose a Label Studio JSON export to import")
        payload = await upload.read()
        coder = str(form.get("coder") or "").strip() or None
        try:
            if coder:
                coder = clean_coder_name(coder)
            summary = await run_in_threadpool(labelstudio.import_annotations, run, store, payload, coder)
        except (ValueError, StoreError) as error:
            return render(request, "export.html", status_code=400, active="export",
                          n_codings=store.count_codings(), message="", summary=None,
                          error=f"{upload.filename}: {error}")
        return render(request, "export.html", active="export", n_codings=store.count_codings(),
                      message=f"imported {upload.filename}", error="", summary=summary)

    # -- images: by image_id from the manifest, nothing else --------------------------------------
    @app.get("/image/{image_id}")
    def image(image_id: str) -> Response:
        found = media.original(image_id) if is_image_id(image_id) else None
        if found is None:
            raise HTTPException(status_code=404, detail="no such image")
        path, mime = found
        return FileResponse(path, media_type=mime, headers={"cache-control": "private, max-age=3600"})

    @app.get("/thumb/{image_id}")
    def thumbnail(image_id: str) -> Response:
        data = media.thumbnail(image_id) if is_image_id(image_id) else None
        if data is None:
            raise HTTPException(status_code=404, detail="no such image")
        return Response(data, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True, "run_id": run.run_id, "images": run.n_images}

    # -- the map (review/map_routes.py reads these from app.state) --------------------------------
    app.state.media, app.state.csrf, app.state.render, app.state.current_coder = media, csrf, render, current_coder
    app.include_router(map_routes.router)
    return app
