"""Does visframe group posters by what their text says? (issue 23, `make bench-message`)

    make bench-message                                              # small corpus seed 0, the default job
    python benchmarks/bench_message.py --variants                   # + the measured alternatives below
    python benchmarks/bench_message.py --variants default fused text --seeds 0 1
    python benchmarks/bench_message.py --real tuxpaint openclipart digits   # embedding=image|fused|text

For each synthetic corpus (preset `small`; seed 0 is the corpus the messages stage was written
against, `--seeds 0 1` adds a held-out corpus) it runs the default job with text on (`text=ocr`,
everything else the default config; MLflow and the HTML report off, they change no figure) through
`visframe.pipeline.run`, reads the run's messages.parquet, assignments.parquet and manifest.parquet
(the generator's `message` label on every post whose image carries one of its seven messages) and
the corpus's truth.jsonl (`phrasing`: which of the written phrasings the image says), and prints:

- over the text-bearing images (unique images whose generator drew a message; reshares count once):
  `message_nmi` / `message_ari` of `message_topic` with every -1 (no text read, too little text, or
  in no topic) counted as one group of its own, as metrics.json and the study count noise;
  `message_noise`, the share at -1, and `message_nmi_assigned` / `message_ari_assigned` over the
  others only; `message_topics`, the number of topics;
- `image_message_nmi`: the image clustering's (`cluster`, embedding=image by default) NMI against
  the same labels, -1 counted the same way;
- `phrasing_grouper_nmi`: the NMI a clustering that puts each phrasing apart would get (no
  understanding at all: it only needs to see that two posters repeat a text);
- `xphr_j`: the score a phrasing grouper cannot pass. Over pairs of text-bearing images whose
  phrasings DIFFER: `xphr_recall`, the share of same-message pairs put in one topic, minus
  `false_merge`, the share of different-message pairs put in one topic (Youden's J over pairs; noise
  is in no topic). A phrasing grouper never joins two phrasings: 0 - 0 = 0; one topic for everything:
  1 - 1 = 0; topics drawn independently of the message: about 0; only saying the same thing in other
  words together and different things apart scores up to 1. `image_xphr_j`: the same for `cluster`;
- `visual_ari` / `visual_nmi`: the image clustering against the generator's visual genre (`label`)
  over every clean post, as metrics.json;
- `text_lines_per_s`: the text encoder's throughput in this process (`cfg.text_encoder`, no cache),
  on the run's own message units (the short sentences the stage encodes), median of 3 passes;
- the 1-minute load average before and after each run (the machine is shared: times are noisy).

`--variants` (no value: all) runs the alternatives in VARIANTS (messages.representation, min_chars,
the messages reducer's n_neighbors, embedding=fused|text for the image clustering). `--real` runs
the real labelled sets of `make bench-quality` through the pipeline with text=ocr and
embedding=image|fused|text, and compares each NMI with the label-tuned grid's best on the image
vectors (bench_quality.grid_best): `nmi_ratio`, the figure issue 11 holds the default to. OCR speed
and accuracy are bench-text's. The text, embedding and reduction caches make a rerun cost minutes.
Both modes end with one `RESULT key=value ...` line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault(
    "NUMBA_CACHE_DIR",
    str(Path(os.environ.get("VISFRAME_CACHE_DIR", Path.home() / ".cache/visframe")) / "numba"),
)
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from visframe import CONFIG_DIR
from visframe import contracts as C
from visframe.errors import VisframeError
from visframe.run_dir import RunDir
from visframe.session import Session

QUIET = ["tracking.enabled=false", "report.enabled=false", "show_progress=false"]
# name → Hydra overrides. Keys under messages.reducer / messages.clusterer (which default to the job's
# own, an interpolation) are set on a copy of the job's block (see `compose_job`).
VARIANTS = {
    "default": [],
    "lexical": ["messages.representation=lexical"],
    "both": ["messages.representation=both"],
    "min_chars=30": ["messages.min_chars=30"],
    "msg n_neighbors=10": ["messages.reducer.n_neighbors=10"],
    "msg n_neighbors=50": ["messages.reducer.n_neighbors=50"],
    # More, smaller topics: NMI rises (it rewards splitting), cross-phrasing J does not (see the doc).
    "msg dbcv": ["messages.clusterer.criterion=dbcv"],
    "fused": ["embedding=fused"],
    "fused w=0.5": ["embedding=fused", "embedding.text_weight=0.5"],
    "text": ["embedding=text"],
}
EMBEDDINGS = ("image", "fused", "text")  # what the image clustering clusters (conf/embedding/)


def compose_job(overrides: list[str]):
    """The job's config: Hydra overrides, then messages.reducer.* / messages.clusterer.* on a copy."""
    late = [o for o in overrides if o.split("=")[0].startswith(("messages.reducer.", "messages.clusterer."))]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose("config", overrides=[o for o in overrides if o not in late])
    for override in late:
        key, value = override.split("=", 1)
        block = ".".join(key.split(".")[:2])
        copy = OmegaConf.create(OmegaConf.to_container(OmegaConf.select(cfg, block), resolve=True))
        OmegaConf.update(copy, key.split(".", 2)[2], _value(value))
        OmegaConf.update(cfg, block, copy, merge=False)
    return cfg


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass
class Job:
    files: RunDir
    cfg: object
    seconds: float
    load_before: float  # 1-minute load average (2 shared cores here: a run's time is only a hint)
    load_after: float


def run_job(overrides: list[str], workdir: Path, session: Session) -> Job:
    from visframe.pipeline import run

    cfg = compose_job([*overrides, *QUIET])
    run_dir = workdir / f"run-{len(list(workdir.glob('run-*'))):02d}"
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    run(cfg, run_dir, session)
    return Job(RunDir(run_dir), cfg, time.perf_counter() - started, load_before, os.getloadavg()[0])


# ------------------------------------------------------------------------------ the scores


def pair_scores(truth: np.ndarray, phrasing: np.ndarray, topic: np.ndarray) -> dict[str, float]:
    """Over pairs with different phrasings: same-message pairs in one topic (recall), different-
    message pairs in one topic (false merges), and their difference J. Topic -1 joins nothing."""
    frame = pd.DataFrame({"m": truth, "p": phrasing, "t": topic})

    def pairs(counts) -> float:
        counts = np.asarray(counts, dtype=np.float64)
        return float((counts * (counts - 1) / 2).sum())

    in_topic = frame[frame["t"] != C.NOISE]
    same_message = pairs(frame.groupby("m").size()) - pairs(frame.groupby(["m", "p"]).size())
    joined_same = pairs(in_topic.groupby(["m", "t"]).size()) - pairs(in_topic.groupby(["m", "p", "t"]).size())
    different = pairs([len(frame)]) - pairs(frame.groupby("m").size())
    joined_different = pairs(in_topic.groupby("t").size()) - pairs(in_topic.groupby(["m", "t"]).size())
    recall = joined_same / same_message if same_message else float("nan")
    false_merge = joined_different / different if different else float("nan")
    return {"xphr_recall": recall, "false_merge": false_merge, "xphr_j": recall - false_merge}


@dataclass
class Truth:
    images: pd.DataFrame  # one row per unique text-bearing image: image_id, message, phrasing
    posts: pd.DataFrame  # one row per clean post: image_id, label


def corpus_truth(run_files: RunDir, corpus_root: Path) -> Truth:
    """The clean posts with their visual label, and the unique images the generator drew a message on."""
    manifest = run_files.read_manifest()
    clean = manifest[manifest[C.STATUS] == C.STATUS_OK].copy()
    truth = [
        json.loads(line) for line in (corpus_root / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    phrasing_of = {str((corpus_root / t["file"]).resolve()): t.get("phrasing") for t in truth}
    clean["phrasing"] = [phrasing_of.get(str(Path(p).resolve())) for p in clean[C.PATH].astype(str)]
    images = clean.dropna(subset=[C.MESSAGE]).drop_duplicates(C.IMAGE_ID)
    images = images.assign(phrasing=images["phrasing"].fillna("<none>"))
    return Truth(
        images[[C.IMAGE_ID, C.MESSAGE, "phrasing"]].reset_index(drop=True),
        clean[[C.IMAGE_ID, C.PATH, C.LABEL]].reset_index(drop=True),
    )


def message_scores(run_files: RunDir, truth: Truth) -> dict[str, float]:
    images = truth.images
    messages = run_files.read_optional(C.MESSAGES, [C.IMAGE_ID, C.MESSAGE_TOPIC])
    topic_of = (
        {} if messages is None else dict(zip(messages[C.IMAGE_ID].astype(str), messages[C.MESSAGE_TOPIC]))
    )
    topic = np.array([int(topic_of.get(i, C.NOISE)) for i in images[C.IMAGE_ID].astype(str)])
    assignments = run_files.read(C.ASSIGNMENTS, [C.IMAGE_ID, C.CLUSTER]).drop_duplicates(C.IMAGE_ID)
    cluster_of = dict(zip(assignments[C.IMAGE_ID].astype(str), assignments[C.CLUSTER]))
    cluster = np.array([int(cluster_of.get(i, C.NOISE)) for i in images[C.IMAGE_ID].astype(str)])
    label, phrasing = images[C.MESSAGE].astype(str).to_numpy(), images["phrasing"].astype(str).to_numpy()
    assigned = topic != C.NOISE
    row = {
        "n_text_images": len(images),
        "message_nmi": normalized_mutual_info_score(label, topic),
        "message_ari": adjusted_rand_score(label, topic),
        "message_noise": float(np.mean(~assigned)),
        "message_nmi_assigned": normalized_mutual_info_score(label[assigned], topic[assigned])
        if assigned.any()
        else 0.0,
        "message_ari_assigned": adjusted_rand_score(label[assigned], topic[assigned])
        if assigned.any()
        else 0.0,
        "message_topics": len(set(topic_of.values()) - {C.NOISE}),
        "topic_images": len(topic_of),
        "image_message_nmi": normalized_mutual_info_score(label, cluster),
        "phrasing_grouper_nmi": normalized_mutual_info_score(label, phrasing),
        "phrasings": len(set(phrasing)),
    }
    row.update(pair_scores(label, phrasing, topic))
    row["image_xphr_j"] = pair_scores(label, phrasing, cluster)["xphr_j"]
    return row


def visual_scores(run_files: RunDir, truth: Truth) -> dict[str, float]:
    """The image clustering against the visual labels over every clean post (as metrics.json)."""
    assignments = run_files.read(C.ASSIGNMENTS, [C.PATH, C.CLUSTER])
    joined = assignments.merge(truth.posts[[C.PATH, C.LABEL]], on=C.PATH)
    return {
        "visual_ari": adjusted_rand_score(joined[C.LABEL], joined[C.CLUSTER]),
        "visual_nmi": normalized_mutual_info_score(joined[C.LABEL], joined[C.CLUSTER]),
        "clusters": int(joined.loc[joined[C.CLUSTER] != C.NOISE, C.CLUSTER].nunique()),
        "noise": float((joined[C.CLUSTER] == C.NOISE).mean()),
    }


def encoder_throughput(run_files: RunDir, cfg, repeats: int = 3, limit: int = 2000) -> dict[str, float]:
    """Lines/s of the configured text encoder on the run's own message units (no cache), and of the
    same encoder on one thread where it has a `threads` setting: on this shared 2-core machine at
    load ~11, two BLAS threads encoded 46 lines/s and one thread 186 (they wait on each other)."""
    from hydra.utils import instantiate

    messages = run_files.read_optional(C.MESSAGES, [C.MESSAGE_TEXT])
    if messages is None or cfg.text_encoder.get("_target_") is None:
        return {"text_lines_per_s": float("nan")}
    units = sorted({u for text in messages[C.MESSAGE_TEXT].astype(str) for u in text.split("\n") if u})[
        :limit
    ]
    found = {
        "text_lines_per_s": _lines_per_s(instantiate(cfg.text_encoder), units, repeats),
        "text_lines": len(units),
        "text_line_chars": float(np.mean([len(u) for u in units])),
    }
    if "threads" in cfg.text_encoder:
        found["text_lines_per_s_1thread"] = _lines_per_s(
            instantiate(cfg.text_encoder, threads=1), units, repeats
        )
    return found


def _lines_per_s(encoder, units: list[str], repeats: int) -> float:
    encoder.encode(units[:64])  # warm-up
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        encoder.encode(units)
        seconds.append(time.perf_counter() - started)
    return len(units) / statistics.median(seconds)


# ------------------------------------------------------------------------------ the modes


def synthetic(
    preset: str, seeds: list[int], variants: list[str], workdir: Path, session: Session
) -> list[dict]:
    rows = []
    for seed in seeds:
        for name in variants:
            overrides = [
                f"dataset.preset={preset}",
                f"dataset.corpus_seed={seed}",
                "text=ocr",
                *VARIANTS[name],
            ]
            job = run_job(overrides, workdir, session)
            truth = corpus_truth(job.files, Path(str(job.cfg.dataset.root)))
            row = {
                "seed": seed,
                "variant": name,
                "seconds": job.seconds,
                "load_before": job.load_before,
                "load_after": job.load_after,
                **message_scores(job.files, truth),
                **visual_scores(job.files, truth),
            }
            if name == "default":
                row.update(encoder_throughput(job.files, job.cfg))
            rows.append(row)
            print("ROW " + key_values(row, ROW_KEYS), flush=True)
    return rows


ROW_KEYS = [
    "seed",
    "variant",
    "n_text_images",
    "message_nmi",
    "message_ari",
    "message_noise",
    "message_nmi_assigned",
    "message_ari_assigned",
    "message_topics",
    "image_message_nmi",
    "phrasing_grouper_nmi",
    "xphr_recall",
    "false_merge",
    "xphr_j",
    "image_xphr_j",
    "visual_ari",
    "visual_nmi",
    "clusters",
    "text_lines_per_s",
    "text_lines_per_s_1thread",
    "seconds",
    "load_before",
    "load_after",
]


def key_values(row: dict, keys: list[str]) -> str:
    cells = []
    for key in keys:
        if key in row:
            value = row[key]
            value = f"{value:.3f}" if isinstance(value, float) else str(value).replace(" ", "_")
            cells.append(f"{key}={value}")
    return " ".join(cells)


def synthetic_result(rows: list[dict]) -> str:
    """The closing line: the first seed's default job, the goals of issue 23, and the embedding
    variants' figures where they were run."""
    default = next(r for r in rows if r["variant"] == "default")
    keys = [k for k in ROW_KEYS if k not in ("variant", "xphr_recall", "false_merge")]
    cells = [
        key_values(default, keys),
        f"goal_nmi_0.5={'pass' if default['message_nmi'] >= 0.5 else 'miss'}",
        f"nmi_over_image={default['message_nmi'] / max(default['image_message_nmi'], 1e-9):.1f}x",
    ]
    for kind in ("fused", "text"):
        row = next((r for r in rows if r["variant"] == kind and r["seed"] == default["seed"]), None)
        if row is not None:
            cells.append(
                f"{kind}_visual_nmi={row['visual_nmi']:.3f} {kind}_message_nmi={row['image_message_nmi']:.3f}"
            )
    return "RESULT " + " ".join(cells)


def print_tables(rows: list[dict]) -> None:
    print(
        "\n| seed | variant | text images | topics | noise | message NMI / ARI | NMI assigned | "
        "x-phrasing recall / false merge / J | image clusters: k / visual ARI / NMI / message NMI / J | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['seed']} | {r['variant']} | {r['n_text_images']} | {r['message_topics']} | "
            f"{r['message_noise']:.0%} | "
            f"{r['message_nmi']:.3f} / {r['message_ari']:.3f} | {r['message_nmi_assigned']:.3f} | "
            f"{r['xphr_recall']:.3f} / {r['false_merge']:.3f} / {r['xphr_j']:.3f} | "
            f"{r['clusters']} / {r['visual_ari']:.3f} / {r['visual_nmi']:.3f} / "
            f"{r['image_message_nmi']:.3f} / "
            f"{r['image_xphr_j']:.3f} | {r['seconds']:.0f} |"
        )
    for r in rows:
        if r["variant"] == "default":
            print(
                f"seed {r['seed']}: phrasing grouper NMI {r['phrasing_grouper_nmi']:.3f} "
                f"({r['phrasings']} phrasings); text encoder {r.get('text_lines_per_s', float('nan')):.0f} "
                f"lines/s (one thread {r.get('text_lines_per_s_1thread', float('nan')):.0f}) on "
                f"{r.get('text_lines', 0)} "
                f"units of {r.get('text_line_chars', float('nan')):.0f} characters"
            )


def real_sets(names: list[str], workdir: Path, session: Session) -> list[dict]:
    """embedding=image|fused|text on the real labelled sets (text=ocr), against the label-tuned grid."""
    from _real_sets import load_set, set_overrides
    from bench_quality import grid_best

    rows = []
    for name in names:
        grid, where = grid_best(load_set(name))
        row = {"set": name, "grid_nmi": grid, "grid_at": where}
        for kind in EMBEDDINGS:
            try:
                job = run_job([*set_overrides(name), "text=ocr", f"embedding={kind}"], workdir, session)
                run_files, seconds = job.files, job.seconds
            except VisframeError as error:  # the finding (e.g. fused on a set where nothing has text)
                row[kind] = {"error": f"{type(error).__name__}: {str(error).splitlines()[0]}"}
                continue
            assignments = run_files.read(C.ASSIGNMENTS, [C.PATH, C.CLUSTER])
            manifest = run_files.read_manifest()
            joined = assignments.merge(manifest[[C.PATH, C.LABEL]], on=C.PATH)
            messages = run_files.read_optional(C.MESSAGES, [C.IMAGE_ID])
            texts = run_files.read_optional(C.TEXTS, [C.N_CHARS])
            nmi = normalized_mutual_info_score(joined[C.LABEL], joined[C.CLUSTER])
            row[kind] = {
                "clusters": int(joined.loc[joined[C.CLUSTER] != C.NOISE, C.CLUSTER].nunique()),
                "ari": adjusted_rand_score(joined[C.LABEL], joined[C.CLUSTER]),
                "nmi": nmi,
                "nmi_ratio": nmi / grid,
                "seconds": seconds,
                "with_text": 0 if texts is None else int((texts[C.N_CHARS] > 0).sum()),
                "with_units": 0 if messages is None else len(messages),
            }
        rows.append(row)
        cells = [f"set={name}", f"grid_nmi={grid:.3f}", f"load={os.getloadavg()[0]:.1f}"]
        for kind in EMBEDDINGS:
            if "error" in row[kind]:
                cells.append(f"{kind}_error=1")
            else:
                cells += [
                    f"{kind}_nmi={row[kind]['nmi']:.3f}",
                    f"{kind}_nmi_ratio={row[kind]['nmi_ratio']:.3f}",
                ]
        print("ROW " + " ".join(cells), flush=True)
    print(
        "\n| set | grid best NMI (at) | images with OCR text / with message units | "
        "image: k / ARI / NMI / ratio | "
        "fused: k / ARI / NMI / ratio | text: k / ARI / NMI / ratio |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        cells = []
        for kind in EMBEDDINGS:
            k = r[kind]
            cells.append(
                k["error"]
                if "error" in k
                else f"{k['clusters']} / {k['ari']:.3f} / {k['nmi']:.3f} / {k['nmi_ratio']:.3f}"
            )
        seen = r["image"] if "error" not in r["image"] else {}
        print(
            f"| {r['set']} | {r['grid_nmi']:.3f} ({r['grid_at']}) | {seen.get('with_text', '?')} / "
            f"{seen.get('with_units', '?')} | {cells[0]} | {cells[1]} | {cells[2]} |"
        )
    return rows


def real_result(rows: list[dict]) -> str:
    """The closing line: each set's NMI ratio per embedding, and whether fused loses on any set (a
    set where fused cannot run, e.g. one without any text, counts as a loss: the default must run)."""
    cells = []
    drops = []
    fused_errors = [r["set"] for r in rows if "error" in r["fused"] and "error" not in r["image"]]
    for r in rows:
        for kind in EMBEDDINGS:
            cells.append(
                f"{r['set']}_{kind}_ratio="
                + ("error" if "error" in r[kind] else f"{r[kind]['nmi_ratio']:.3f}")
            )
        if "error" not in r["image"] and "error" not in r["fused"]:
            drops.append(r["fused"]["nmi_ratio"] - r["image"]["nmi_ratio"])
    worst = f"{min(drops):+.3f}" if drops else "nan"
    loses = any(d < 0 for d in drops) or bool(fused_errors)
    return "RESULT " + " ".join(
        [
            *cells,
            f"fused_minus_image_worst={worst}",
            f"fused_fails_on={','.join(fused_errors) or 'none'}",
            f"fused_loses_somewhere={'yes' if loses else 'no'}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--variants",
        nargs="*",
        default=None,
        help=f"no value: all of {list(VARIANTS)}; default: the default job only",
    )
    parser.add_argument(
        "--real", nargs="*", default=None, help="real sets (tuxpaint openclipart digits); no synthetic"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep the runs here (default: a temporary folder)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    variants = ["default"] if args.variants is None else (args.variants or list(VARIANTS))
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}: one of {list(VARIANTS)}")
    session = Session()
    with tempfile.TemporaryDirectory(prefix="bench-message-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.real is not None:
            rows = real_sets(args.real or ["tuxpaint", "openclipart", "digits"], workdir, session)
            print(real_result(rows), flush=True)
            return
        rows = synthetic(args.preset, args.seeds, variants, workdir, session)
        print_tables(rows)
        print(synthetic_result(rows), flush=True)


if __name__ == "__main__":
    main()
