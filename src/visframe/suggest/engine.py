"""`suggest_codes`: suggested codes for a run's uncoded images, and how far to trust them.

    vectors = load_run_vectors(run)                       # once per run (the app keeps it)
    result = suggest_codes(run, codes, codebook, vectors=vectors, session=session)
    result.table        # contracts.SUGGESTIONS: image_id, code, score, suggested, source, model, made_at
    result.agreement    # per code: Cohen's κ, precision, recall against the coders (cross-validated)

Each code of the codebook is few-shot once the coders have given `MIN_EXAMPLES` positives and as many
negatives (models.py), zero-shot from its description before that, and left out (said in its
agreement row) when it has neither. The review app calls the same function after each coding with the
store's codes export and codebook; `visframe-suggest` calls it once and writes the table.

Cost, measured here (2 shared CPU cores under load, 100,000 images, 512-d text + 1,280-d image
vectors, 7 codes of 10 positives, 70 coded): 0.53 s per few-shot code (fits, 5-fold cross-validation,
scoring, table), 0.20 s per zero-shot code (benchmarks/bench_suggest.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from visframe import contracts as C
from visframe.errors import InputError
from visframe.run_dir import RunDir
from visframe.session import Session
from visframe.suggest.coded import CodedSet, coded_set
from visframe.suggest.models import (
    MIN_EXAMPLES,
    Agreement,
    agreement_of,
    fit_few_shot,
    zero_shot_calls,
    zero_shot_scores,
)
from visframe.suggest.vectors import RunVectors, load_run_vectors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Suggestions:
    table: pd.DataFrame  # contracts.SUGGESTIONS, one row per uncoded image and code scored
    agreement: tuple[Agreement, ...]  # one per code, in codebook order
    n_images: int  # images of the run
    n_coded: int  # of them, coded by someone (they get no suggestion)

    def agreement_frame(self) -> pd.DataFrame:
        return pd.DataFrame([a.__dict__ for a in self.agreement])


def description_encoder(run: RunDir, session: Session | None = None):
    """The run's text encoder (config.yaml `text_encoder`), loaded once per session."""
    config = run.read_config() or {}
    spec = config.get("text_encoder")
    if not isinstance(spec, dict) or not spec.get("_target_"):
        raise InputError(
            f"{run.file(C.CONFIG_FILE)} names no text encoder (`text_encoder._target_`)",
            fix="run the pipeline with text_encoder=usem3 (the default), or give codes examples",
        )
    from hydra.utils import instantiate

    from visframe.utils.hashing import stable_hash

    session = session or Session()
    return session.text_encoders.get_or_make(stable_hash(spec), lambda: instantiate(spec))


def encode_descriptions(encoder, descriptions: list[str], text_key: str) -> np.ndarray:
    """Description vectors, from the same encoder as the run's text vectors (else their cosine means
    nothing)."""
    from visframe.text.vectors import encoder_key, normalised_text

    if text_key and encoder_key(encoder) != text_key:
        raise InputError(
            f"the run's text vectors were made by {text_key}, its config's text encoder is "
            f"{encoder_key(encoder)}",
            fix="rerun the pipeline so both agree (it reuses its caches)",
        )
    return encoder.encode([normalised_text(d) for d in descriptions])


def suggest_codes(
    run: RunDir | str | Path,
    codes: pd.DataFrame | CodedSet,
    codebook: Mapping[str, str] | None = None,
    *,
    vectors: RunVectors | None = None,
    encoder=None,
    session: Session | None = None,
    seed: int = 0,
    made_at: pd.Timestamp | None = None,
) -> Suggestions:
    """Suggestions for every code and every image no coder has saved, with their honest agreement.

    `codes`: the review app's codes export (or a CodedSet); `codebook`: code → description for codes
    the export cannot name (nobody applied them yet); `vectors`/`encoder`: pass them to reuse what a
    previous call loaded (`load_run_vectors`, `description_encoder`)."""
    run = RunDir(run)
    coded = codes if isinstance(codes, CodedSet) else coded_set(codes, codebook)
    vectors = vectors if vectors is not None else load_run_vectors(run)
    made_at = made_at if made_at is not None else pd.Timestamp.now(tz="UTC")
    position = vectors.position
    known = [i for i in coded.image_ids if i in position]
    if len(known) < len(coded.image_ids):
        log.warning(
            "suggest: %d coded image(s) are not in the run; left out", len(coded.image_ids) - len(known)
        )
    keep = np.array([i in position for i in coded.image_ids], dtype=bool)
    coded_rows = np.array([position[i] for i in known], dtype=np.int64)
    uncoded = np.ones(len(vectors.image_ids), dtype=bool)
    uncoded[coded_rows] = False

    few, zero, agreement, frames = [], [], {}, []
    for code in coded.codes:
        labels = coded.label(code)[keep]
        if labels.sum() >= MIN_EXAMPLES and (~labels).sum() >= MIN_EXAMPLES:
            few.append(code)
        else:
            zero.append(code)
    if few:
        frames.extend(_few_shot(coded, few, vectors, coded_rows, keep, uncoded, seed, agreement, made_at))
    if zero:
        frames.extend(
            _zero_shot(
                run, coded, zero, vectors, coded_rows, keep, uncoded, encoder, session, agreement, made_at
            )
        )
    table = pd.concat(frames, ignore_index=True) if frames else _empty()
    C.validate(C.SUGGESTIONS, table)
    return Suggestions(
        table, tuple(agreement[c] for c in coded.codes), len(vectors.image_ids), len(coded_rows)
    )


def _few_shot(
    coded: CodedSet,
    codes: list[str],
    vectors: RunVectors,
    coded_rows,
    keep,
    uncoded,
    seed: int,
    agreement: dict,
    made_at,
) -> list[pd.DataFrame]:
    """Each code's classifier, then every image scored by all of them in one pass over the vectors."""
    models = []
    for code in codes:
        model, agreement[code] = fit_few_shot(code, vectors, coded_rows, coded.label(code)[keep], seed)
        models.append(model)
    decisions = vectors.decision(
        np.stack([m.coef for m in models], axis=1), np.array([m.intercept for m in models])
    )[uncoded]
    ids = _ids(vectors, uncoded)
    return [
        _rows(
            ids,
            code,
            model.scores(decisions[:, j]),
            decisions[:, j] > 0,
            C.SOURCE_FEW_SHOT,
            f"logistic regression on {vectors.description} ({model.n_positive}+ / {model.n_negative}-)",
            made_at,
        )
        for j, (code, model) in enumerate(zip(codes, models))
    ]


def _zero_shot(
    run,
    coded: CodedSet,
    codes: list[str],
    vectors: RunVectors,
    coded_rows,
    keep,
    uncoded,
    encoder,
    session,
    agreement: dict,
    made_at,
) -> list[pd.DataFrame]:
    described = [c for c in codes if coded.descriptions.get(c)]
    for code in codes:
        if code not in described:
            agreement[code] = Agreement(
                code,
                "none",
                coded.positives(code),
                coded.negatives(code),
                0,
                0,
                np.nan,
                np.nan,
                np.nan,
                "no description and too few examples",
            )
    if not described:
        return []
    # Every described code competes for an image, few-shot ones too: a zero-shot code is suggested only
    # where its description fits the text better than any other code's.
    competing = described + [c for c in coded.codes if c not in described and coded.descriptions.get(c)]
    encoder = encoder if encoder is not None else description_encoder(run, session)
    scores = zero_shot_scores(
        vectors, encode_descriptions(encoder, [coded.descriptions[c] for c in competing], vectors.text_key)
    )
    calls = zero_shot_calls(scores, vectors.has_text)
    frames = []
    with_text = uncoded & vectors.has_text
    ids = _ids(vectors, with_text)
    model = f"zero-shot: description vs text ({vectors.text_key.split('-')[0]})"
    for j, code in enumerate(described):
        labels = coded.label(code)[keep]
        agreement[code] = agreement_of(
            code,
            "zero_shot",
            labels,
            calls[coded_rows, j],
            0,
            int(labels.sum()),
            int((~labels).sum()),
            "" if labels.any() else "no positives to measure",
        )
        frames.append(
            _rows(ids, code, scores[with_text, j], calls[with_text, j], C.SOURCE_ZERO_SHOT, model, made_at)
        )
    return frames


def _ids(vectors: RunVectors, mask: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(vectors.image_ids, dtype=object)[mask], type=pa.string())


def _rows(
    ids: pa.Array, code: str, scores: np.ndarray, calls: np.ndarray, source: str, model: str, made_at
) -> pd.DataFrame:
    """One code's rows, built as Arrow (100,000 rows: 0.01 s, against 0.2 s from Python strings)."""
    n = len(ids)
    table = pa.table(
        {
            C.IMAGE_ID: ids,
            C.CODE: pa.repeat(pa.scalar(code, pa.string()), n),
            C.SCORE: pa.array(np.asarray(scores, dtype=np.float64)),
            C.SUGGESTED: pa.array(np.asarray(calls, dtype=bool)),
            C.SOURCE: pa.repeat(pa.scalar(source, pa.string()), n),
            C.MODEL: pa.repeat(pa.scalar(model, pa.string()), n),
            C.MADE_AT: pa.repeat(
                pa.scalar(pd.Timestamp(made_at).as_unit("us"), pa.timestamp("us", tz="UTC")), n
            ),
        }
    )
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)


def _empty() -> pd.DataFrame:
    return _rows(
        pa.array([], pa.string()), "", np.zeros(0), np.zeros(0, bool), "", "", pd.Timestamp.now(tz="UTC")
    )


__all__ = ["Suggestions", "description_encoder", "encode_descriptions", "suggest_codes"]
