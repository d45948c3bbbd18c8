"""The address of the runs table in the MLflow UI, printed by `make ui` before the server starts.

    python -m visframe.tracking.ui --store mlruns --host 127.0.0.1 --port 5000

MLflow 3.18's UI opens an experiment on its GenAI pages (traces, overview) for a browser it has not
seen, whatever the experiment's `mlflow.experimentKind` tag: the page's `workflowType` comes from
the URL's `workflowType` search parameter, else from the browser's local storage
(`mlflow.workflowType`, initially "genai"). Read in the UI bundle MLflow ships
(mlflow/server/js/build/static/js: `E.get("workflowType") ?? … ?? MACHINE_LEARNING`, the values
"genai" and "machine_learning", the tab route `/experiments/:experimentId/:tabName` with tab
"runs"). So the link that opens the runs table in any browser is
`http://HOST:PORT/#/experiments/<id>/runs?workflowType=machine_learning`; once opened, the browser
remembers the choice.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

RUNS_TAB = "runs"
WORKFLOW = "workflowType=machine_learning"


def runs_table_url(base_url: str, experiment_id: str) -> str:
    return f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/{RUNS_TAB}?{WORKFLOW}"


def experiment_ids(store_dir: str | Path) -> dict[str, str]:
    """Name → id of the store's live experiments (empty when no job has tracked a run there yet).

    Read straight from `mlflow.db` (read-only): creating an MLflow client would create the database."""
    database = Path(store_dir) / "mlflow.db"
    if not database.is_file():
        return {}
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT name, experiment_id FROM experiments WHERE lifecycle_stage = 'active' ORDER BY experiment_id"
        ).fetchall()
    return {str(name): str(number) for name, number in rows}


def ui_message(store_dir: str | Path, base_url: str, experiment: str = "visframe") -> str:
    found = experiment_ids(store_dir)
    if not found:
        return (f"MLflow UI: {base_url}\n(no tracked run in {Path(store_dir).resolve()} yet: after the first "
                f"`make run`, the runs table is {runs_table_url(base_url, '<id>')})")
    lines = []
    if experiment in found:
        lines.append(f"Runs table of experiment '{experiment}': {runs_table_url(base_url, found[experiment])}")
    lines += [f"  experiment '{name}': {runs_table_url(base_url, number)}"
              for name, number in found.items() if name != experiment and name != "Default"]
    return "\n".join(lines or [f"MLflow UI: {base_url}"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="mlruns", help="the store folder (tracking.store_dir)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--experiment", default="visframe", help="tracking.experiment_name")
    args = parser.parse_args(argv)
    print(ui_message(args.store, f"http://{args.host}:{args.port}", args.experiment), flush=True)


if __name__ == "__main__":
    main()
