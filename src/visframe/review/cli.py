"""`visframe-review RUN`: serve the coding app for a run directory or an MLflow run id.

    visframe-review outputs/2025-01-01/12-00-00          # http://127.0.0.1:8765
    visframe-review 3f2a...e9 --tracking-uri sqlite:///mlruns/mlflow.db
    VISFRAME_REVIEW_TOKEN=<16+ characters> visframe-review RUN --host 0.0.0.0
    visframe-review RUN --host 0.0.0.0 --token-file ~/.config/visframe/review-token

The access token is read from $VISFRAME_REVIEW_TOKEN or --token-file, never from the command line
(argv shows in `ps` and shell history); it needs at least 16 characters (a too-short one is refused
with a fresh random one offered). Open the printed link with ?token=<token> once: the app trades it
for a cookie (an HMAC of the token) and the access log shows `token=***`. Behind an HTTPS reverse
proxy, pass --proxy-headers so the app trusts X-Forwarded-Proto from --forwarded-allow-ips
(default 127.0.0.1) and marks its cookies Secure.

An MLflow run's artifacts (the manifest, assignments, texts and clusters tables, the message
topics and slogans when the run made them, the report's sampling sheet) are downloaded to
`<cache_dir>/review/<run_id>/`, which then holds review.db
unless --db says otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path

from visframe import contracts as C
from visframe.errors import VisframeError
from visframe.run_dir import RunDir
from visframe.utils.cache import cache_subdir

log = logging.getLogger("visframe.review")

MLFLOW_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
REQUIRED_ARTIFACTS = (C.MANIFEST_FILE, C.ASSIGNMENTS_FILE)
OPTIONAL_ARTIFACTS = (
    f"{C.REPORT_DIR}/{C.SAMPLING_SHEET_FILE}",
    C.CLUSTERS_FILE,
    C.TEXTS_FILE,
    C.METRICS_FILE,
    C.MESSAGES_FILE,
    C.MESSAGE_TOPICS_FILE,
    C.SLOGANS_FILE,
)
TOKEN_ENV = "VISFRAME_REVIEW_TOKEN"
DEFAULT_PORT = 8765


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="visframe-review",
        description=(
            "Code a visframe run's images in the browser: codebook, several coders, agreement, exports."
        ),
    )
    parser.add_argument("run", metavar="RUN", help="a run directory, or an MLflow run id (32 hex digits)")
    parser.add_argument(
        "--db", help="SQLAlchemy URL of the code store (default: sqlite:///<run dir>/review.db)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help=f"file holding the shared access token (else ${TOKEN_ENV}); required when "
        "--host is not loopback",
    )
    parser.add_argument("--token", default=None, help=argparse.SUPPRESS)  # refused: argv shows in ps
    parser.add_argument(
        "--proxy-headers",
        action="store_true",
        help="behind an HTTPS reverse proxy: trust its X-Forwarded-Proto/For (cookies get Secure)",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies trusted with --proxy-headers (default 127.0.0.1)",
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI for run ids and exports (default: $MLFLOW_TRACKING_URI, "
        "else ./mlruns/mlflow.db when it exists, as the pipeline writes it)",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def default_tracking_uri(explicit: str | None) -> str | None:
    """--tracking-uri, else $MLFLOW_TRACKING_URI, else the pipeline's default store (./mlruns/mlflow.db)
    when it exists, so `make review RUN=<run id>` finds runs made by `make run` from the same place."""
    if explicit:
        return explicit
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    store = Path("mlruns") / "mlflow.db"
    return f"sqlite:///{store.resolve()}" if store.is_file() else None


def download_run(run_id: str, tracking_uri: str | None, dest: Path | None = None) -> Path:
    """Fetch a tracked run's contract files into a local directory and return it."""
    import mlflow
    from mlflow.exceptions import MlflowException

    files = RunDir(dest or cache_subdir(None, "review", run_id))
    files.path.mkdir(parents=True, exist_ok=True)
    for name in (*REQUIRED_ARTIFACTS, *OPTIONAL_ARTIFACTS):
        target_dir = files.file(name).parent
        target_dir.mkdir(parents=True, exist_ok=True)
        try:
            mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=name, dst_path=str(target_dir), tracking_uri=tracking_uri
            )
        except (MlflowException, OSError) as error:
            if name in REQUIRED_ARTIFACTS:
                raise FileNotFoundError(
                    f"MLflow run {run_id} has no artifact {name!r} ({error}); was it logged by the "
                    "visframe pipeline, and is --tracking-uri / MLFLOW_TRACKING_URI the right store?"
                ) from error
            log.info("MLflow run %s has no %s; going on without it", run_id, name)
    files.write_mlflow_run_id(run_id)
    return files.path


def resolve_run_dir(run: str, tracking_uri: str | None) -> Path:
    path = Path(run).expanduser()
    if path.is_dir():
        return path.resolve()
    if MLFLOW_RUN_ID.fullmatch(run):
        return download_run(run, tracking_uri)
    raise SystemExit(
        f"visframe-review: {run!r} is neither a run directory nor an MLflow run id (32 hex digits)"
    )


def read_token(args: argparse.Namespace) -> str | None:
    """The access token from --token-file or $VISFRAME_REVIEW_TOKEN (surrounding whitespace dropped)."""
    if args.token is not None:
        raise VisframeError(
            "--token is not accepted: a token on the command line shows in ps and in shell history",
            fix=f"export {TOKEN_ENV}=<token> or put it in a file and pass --token-file FILE",
        )
    if args.token_file is not None:
        try:
            return args.token_file.expanduser().read_text(encoding="utf-8").strip() or None
        except OSError as error:
            raise VisframeError(
                f"cannot read --token-file {args.token_file}: {error.strerror}",
                fix="give a readable file holding only the token",
            ) from error
    return os.environ.get(TOKEN_ENV, "").strip() or None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    from visframe.review.security import MIN_TOKEN_CHARS, AccessToken, generate_token, is_loopback

    try:
        token = read_token(args)
        access = AccessToken(token)
    except VisframeError as error:
        print(f"visframe-review: {error}", file=sys.stderr)
        return 2
    if not is_loopback(args.host) and not token:
        print(
            f"visframe-review: --host {args.host} lets other machines connect, so a shared access token is "
            f"required: set {TOKEN_ENV} or pass --token-file (at least {MIN_TOKEN_CHARS} characters, "
            f"e.g. {generate_token()})",
            file=sys.stderr,
        )
        return 2
    tracking_uri = default_tracking_uri(args.tracking_uri)

    import uvicorn

    from visframe.review.app import create_app
    from visframe.review.run_data import load_run
    from visframe.review.server import install_access_log_scrubber
    from visframe.review.store import ReviewStore, sqlite_url

    try:
        run_dir = resolve_run_dir(args.run, tracking_uri)
        run = load_run(run_dir)
    except (FileNotFoundError, ValueError) as error:
        print(f"visframe-review: {error}", file=sys.stderr)
        return 1
    store = ReviewStore(args.db or sqlite_url(run.files.review_db), run.run_id)
    app = create_app(run, store, host=args.host, tracking_uri=tracking_uri, access=access)
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"visframe-review: {run.n_images} images in {len(run.clusters)} clusters from {run_dir}")
    print(f"visframe-review: codes in {store.engine.url.render_as_string(hide_password=True)}")
    print(
        f"visframe-review: open http://{shown_host}:{args.port}/" + ("?token=<your token>" if token else "")
    )
    install_access_log_scrubber()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
