"""`make ui` prints the URL that opens the runs table, not MLflow 3's GenAI pages."""

from visframe.tracking import setup_experiment
from visframe.tracking.ui import experiment_ids, runs_table_url, ui_message


def test_the_printed_url_opens_the_experiments_runs_table(tmp_path):
    store = tmp_path / "mlruns"
    assert experiment_ids(store) == {} and not (store / "mlflow.db").exists()  # reading creates nothing
    assert "no tracked run" in ui_message(store, "http://127.0.0.1:5000")
    number = setup_experiment({"tracking_uri": None, "store_dir": str(store), "experiment_name": "visframe"})
    setup_experiment({"tracking_uri": None, "store_dir": str(store), "experiment_name": "other"})
    message = ui_message(store, "http://127.0.0.1:5000")
    expected = f"http://127.0.0.1:5000/#/experiments/{number}/runs?workflowType=machine_learning"
    assert runs_table_url("http://127.0.0.1:5000/", number) == expected
    assert message.splitlines()[0] == f"Runs table of experiment 'visframe': {expected}"
    assert "experiment 'other'" in message and "'Default'" not in message
