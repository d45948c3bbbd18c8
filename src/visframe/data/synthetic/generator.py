"""`generate_corpus`: write a synthetic corpus to a folder, deterministically, resumably, in parallel.

Layout of `out_dir`:
    images/NNNNNN.jpg|png   one file per post image (some broken on purpose)
    metadata.jsonl          what a scraper would have saved, one line per image file
    truth.jsonl             what only the generator knows: broken_kind, reshare_of, near_duplicate_of, and
                            phrasing (which of its message's phrasings the image shows, null without one)

Each metadata line also carries `rendered_text` (contracts.RENDERED_TEXT): the text the image shows,
line by line in reading order ("" for none), the ground truth the OCR benchmark scores against. It
is a column a scraper would not have; ingest keeps it as an extra metadata column. So is `message`
(contracts.MESSAGE): which of the study's seven messages the image's text says (messages.py), null
for an image without text; the ground truth a grouping of images by what they say is scored against.
Its phrasing stays in truth.jsonl: the 1,421 message images of `small` show 128 phrasings, and a
grouping that only put identical phrasings together, understanding nothing, would already score NMI
0.58 against the messages; a score should also ask whether different phrasings of one message meet.
    corpus.json             the generation key and a summary, written LAST: its presence means complete
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

from tqdm.auto import tqdm

from visframe.contracts import RENDERED_TEXT
from visframe.data.synthetic.drawing import DrawnLine, reading_order
from visframe.data.synthetic.plan import CorpusPlan, ImageSpec, build_plan, resolve_n_posts
from visframe.data.synthetic.render import near_duplicate_bytes, near_duplicate_lines, render_with_text

log = logging.getLogger(__name__)

GENERATOR_VERSION = (
    "3"  # 2: metadata gained rendered_text; 3: the text says one of seven messages (`message`)
)
MANIFEST_NAME, PARTIAL_NAME = "corpus.json", "corpus.partial.json"
METADATA_NAME, TRUTH_NAME = "metadata.jsonl", "truth.jsonl"
_IMAGE_NAME = re.compile(r"^\d{6,}\.(jpg|png)$")
_CHUNK = 48
# Below this many images a worker pool costs more (process start-up) than it saves.
_MIN_IMAGES_FOR_POOL = 400


def generation_key(preset: str, seed: int, n_posts: int, image_size: int) -> dict:
    """What decides a corpus's bytes: same key → byte-identical files."""
    return {
        "generator_version": GENERATOR_VERSION,
        "preset": preset,
        "seed": int(seed),
        "n_posts": int(n_posts),
        "image_size": int(image_size),
    }


def generate_corpus(
    out_dir: str | os.PathLike,
    preset: str = "small",
    seed: int = 0,
    n_posts: int | None = None,
    image_size: int = 256,
    show_progress: bool = True,
    workers: int | None = None,
) -> Path:
    """Generate (or find complete) the synthetic corpus in `out_dir`; returns `out_dir/metadata.jsonl`.

    Idempotent: a folder already holding the complete corpus for the same key returns at once.
    Resumable: a folder left half-written by an interrupted run with the same key is completed,
    keeping the images already written. `workers` defaults to up to 2 processes for larger corpora;
    the bytes do not depend on it.
    """
    out = Path(out_dir).expanduser()
    n_posts = resolve_n_posts(preset, n_posts)
    if not 64 <= int(image_size) <= 2048:
        raise ValueError(f"image_size={image_size} is outside 64..2048 pixels.")
    key = generation_key(preset, seed, n_posts, image_size)
    if _is_complete(out, key):
        log.info("Synthetic corpus already complete in %s", out)
        return out / METADATA_NAME

    started = time.perf_counter()
    _prepare_folder(out, key)
    plan = build_plan(n_posts, int(seed), int(image_size))
    missing = [s for s in plan.images if not (out / s.file).exists()]
    todo = [s for s in missing if s.reshare_of is None and s.near_duplicate_of is None]
    copies = [s for s in missing if s.reshare_of is not None or s.near_duplicate_of is not None]
    done_already = len(plan.images) - len(missing)

    n_workers = _worker_count(workers, len(todo))
    drawn: dict[int, list[DrawnLine]] = {}
    with tqdm(
        total=len(plan.images),
        initial=done_already,
        unit="img",
        desc="synthetic corpus",
        disable=not show_progress,
        file=sys.stderr,
    ) as bar:
        chunks = [todo[i : i + _CHUNK] for i in range(0, len(todo), _CHUNK)]
        if n_workers > 1:
            # spawn, not fork: the caller may hold threads (torch, BLAS) that fork would copy mid-lock.
            with mp.get_context("spawn").Pool(n_workers) as pool:
                for lines in pool.imap_unordered(_render_chunk, [(str(out), int(seed), c) for c in chunks]):
                    drawn.update(lines)
                    bar.update(len(lines))
        else:
            for chunk in chunks:
                lines = _render_chunk((str(out), int(seed), chunk))
                drawn.update(lines)
                bar.update(len(lines))
        # Copies read their source's bytes, which exist now.
        for spec in copies:
            _write_copy(out, spec, plan, int(seed))
            bar.update(1)

    texts = _rendered_texts(plan, int(seed), drawn)
    _write_lines(out / METADATA_NAME, ({**s.metadata(), RENDERED_TEXT: texts[s.index]} for s in plan.images))
    _write_lines(out / TRUTH_NAME, (_truth(s, plan) for s in plan.images))
    summary = summarize(plan)
    _atomic_write(
        out / MANIFEST_NAME, (json.dumps({**key, **summary}, indent=2, ensure_ascii=False) + "\n").encode()
    )
    (out / PARTIAL_NAME).unlink(missing_ok=True)
    line = (
        f"synthetic corpus: {summary['n_images']} images in {summary['n_posts']} posts by "
        f"{summary['n_accounts']} accounts, {len(summary['label_counts'])} genres, "
        f"{summary['n_reshares']} reshares, {summary['n_near_duplicates']} near-duplicates, "
        f"{sum(summary['broken_counts'].values())} broken → {out} ({time.perf_counter() - started:.1f}s, "
        f"{n_workers} worker{'s' if n_workers > 1 else ''})"
    )
    log.info(line)
    if show_progress:
        print(line, file=sys.stderr)
    return out / METADATA_NAME


def summarize(plan: CorpusPlan) -> dict:
    """Counts recorded in corpus.json (no timings: the file must be byte-identical across runs)."""
    return {
        "n_posts": plan.n_posts,
        "n_images": len(plan.images),
        "n_accounts": len(plan.accounts),
        "label_counts": dict(sorted(Counter(s.label for s in plan.images).items())),
        "message_counts": dict(sorted(Counter(s.message for s in plan.images if s.message).items())),
        "n_without_message": sum(s.message is None for s in plan.images),
        "broken_counts": dict(sorted(Counter(s.broken_kind for s in plan.images if s.broken_kind).items())),
        "n_reshares": sum(s.reshare_of is not None for s in plan.images),
        "n_near_duplicates": sum(s.near_duplicate_of is not None for s in plan.images),
        "n_carousel_posts": len({s.post_id for s in plan.images if s.carousel_index > 0}),
        "account_favourites": {a.handle: list(a.favourites) for a in plan.accounts},
    }


def _truth(spec: ImageSpec, plan: CorpusPlan) -> dict:
    def file_of(index: int | None) -> str | None:
        return None if index is None else plan.images[index].file

    return {
        "file": spec.file,
        "broken_kind": spec.broken_kind,
        "reshare_of": file_of(spec.reshare_of),
        "near_duplicate_of": file_of(spec.near_duplicate_of),
        "phrasing": spec.phrasing or None,
    }


def _is_complete(out: Path, key: dict) -> bool:
    manifest = out / MANIFEST_NAME
    if not (manifest.is_file() and (out / METADATA_NAME).is_file() and (out / TRUTH_NAME).is_file()):
        return False
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return all(recorded.get(k) == v for k, v in key.items())


def _prepare_folder(out: Path, key: dict) -> None:
    """Keep the images of an interrupted run with the same key; otherwise start from a clean folder."""
    partial = out / PARTIAL_NAME
    if out.exists() and any(out.iterdir()):
        ours = (out / MANIFEST_NAME).exists() or partial.exists()
        if not ours:
            raise FileExistsError(
                f"{out} is not empty and holds no synthetic corpus "
                f"({MANIFEST_NAME} or {PARTIAL_NAME} missing); "
                "pass an empty or new folder as out_dir so no files of yours are overwritten."
            )
        same_run = False
        if partial.exists():
            try:
                same_run = json.loads(partial.read_text(encoding="utf-8")) == key
            except (OSError, json.JSONDecodeError):
                same_run = False
        images = out / "images"
        for path in images.iterdir() if images.is_dir() else ():
            stale_tmp = path.name.startswith(".") and ".tmp" in path.name
            if stale_tmp or (not same_run and _IMAGE_NAME.match(path.name)):
                path.unlink()
        for name in (MANIFEST_NAME, METADATA_NAME, TRUTH_NAME):
            (out / name).unlink(missing_ok=True)
    (out / "images").mkdir(parents=True, exist_ok=True)
    _atomic_write(partial, json.dumps(key, sort_keys=True).encode())


def _worker_count(workers: int | None, n_todo: int) -> int:
    if workers is not None:
        return max(1, int(workers))
    if n_todo < _MIN_IMAGES_FOR_POOL:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def _render_chunk(args: tuple[str, int, list[ImageSpec]]) -> dict[int, list[DrawnLine]]:
    """Write a chunk of original images; returns the lines of text each one shows, by image index."""
    out, seed, specs = args
    drawn = {}
    for spec in specs:
        data, drawn[spec.index] = render_with_text(spec, seed)
        _atomic_write(Path(out) / spec.file, data)
    return drawn


def _rendered_texts(plan: CorpusPlan, seed: int, drawn: dict[int, list[DrawnLine]]) -> dict[int, str]:
    """Every image's rendered text. Originals written by an earlier, interrupted run are painted
    again (not written) to learn theirs; copies show their source's lines, a crop may cut some off."""
    lines: dict[int, list[DrawnLine]] = {}
    for spec in plan.images:  # sources always come before their copies
        if spec.reshare_of is not None:
            lines[spec.index] = lines[spec.reshare_of]
        elif spec.near_duplicate_of is not None:
            lines[spec.index] = near_duplicate_lines(spec, lines[spec.near_duplicate_of], seed)
        else:
            lines[spec.index] = drawn[spec.index] if spec.index in drawn else render_with_text(spec, seed)[1]
    return {index: reading_order(found) for index, found in lines.items()}


def _write_copy(out: Path, spec: ImageSpec, plan: CorpusPlan, seed: int) -> None:
    if spec.reshare_of is not None:
        data = (out / plan.images[spec.reshare_of].file).read_bytes()
    else:
        source = (out / plan.images[spec.near_duplicate_of].file).read_bytes()
        data = near_duplicate_bytes(spec, source, seed)
    _atomic_write(out / spec.file, data)


def _write_lines(path: Path, records) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    _atomic_write(path, text.encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    """Write-then-rename, so an interrupted run never leaves a half-written file under the real name."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
