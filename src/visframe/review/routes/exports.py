"""Exports: codes (CSV, Parquet), the clusters with their names, and logging the codes to MLflow."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from visframe.review import exports
from visframe.review.deps import Coder, Ctx, Form

router = APIRouter()


def _attachment(data: bytes, media_type: str, filename: str) -> Response:
    return Response(
        data, media_type=media_type, headers={"content-disposition": f'attachment; filename="{filename}"'}
    )


def export_page_response(
    request: Request, ctx, coder, status_code: int = 200, message: str = "", error: str = "", summary=None
) -> Response:
    return ctx.render(
        request,
        "export.html",
        coder,
        status_code=status_code,
        active="export",
        n_codings=ctx.store.count_codings(),
        message=message,
        error=error,
        summary=summary,
    )


@router.get("/export", response_class=HTMLResponse)
def export_page(request: Request, ctx: Ctx, coder: Coder) -> Response:
    return export_page_response(request, ctx, coder)


@router.get("/export/codes.csv")
def export_csv(ctx: Ctx) -> Response:
    frame = exports.codes_frame(ctx.run, ctx.store)
    return _attachment(exports.csv_bytes(frame), "text/csv; charset=utf-8", "codes.csv")


@router.get("/export/codes.parquet")
def export_parquet(ctx: Ctx) -> Response:
    frame = exports.codes_frame(ctx.run, ctx.store)
    return _attachment(exports.parquet_bytes(frame), "application/vnd.apache.parquet", "codes.parquet")


@router.get("/export/clusters.csv")
def export_clusters(ctx: Ctx) -> Response:
    frame = exports.clusters_frame(ctx.run, ctx.store)
    return _attachment(exports.csv_bytes(frame), "text/csv; charset=utf-8", "clusters.csv")


@router.post("/export/mlflow", response_class=HTMLResponse)
async def export_mlflow(request: Request, ctx: Ctx, coder: Coder, form: Form) -> Response:
    try:
        paths = await run_in_threadpool(exports.log_codes_to_mlflow, ctx.run, ctx.store, ctx.tracking_uri)
    except Exception as error:  # noqa: BLE001 - show MLflow's reason on the page
        return export_page_response(request, ctx, coder, 400, error=f"could not log to MLflow: {error}")
    return export_page_response(
        request, ctx, coder, message=f"logged {', '.join(paths)} to MLflow run {ctx.run.mlflow_run_id}"
    )
