"""Label Studio interchange: the sample as tasks out, coders' annotations back in.

Export: one task per image (`data.image` is the app's image URL or, with `embed`, a data: URI so the
file opens without the app running), the visframe cluster as a prediction (Label Studio's
pre-annotation), and a labeling config whose `codes` Choices list the codebook.
Import: Label Studio's JSON export (tasks with `annotations`) or its JSON_MIN export. Each
annotation becomes one save in the store for (image_id, coder): the `codes` choices and the `memo`
text. Images are found by `data.image_id` (or an `/image/<image_id>` URL), never by path.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
from PIL import Image

from visframe import contracts as C
from visframe.review.media import ServedFiles
from visframe.review.run_data import ReviewRun, is_image_id
from visframe.review.store import ReviewStore, StoreError

CODES_FIELD = "codes"
MEMO_FIELD = "memo"
CLUSTER_FIELD = C.CLUSTER
_IMAGE_URL_ID = re.compile(r"/image/([0-9a-f]{16})(?:[/?#]|$)")


def cluster_choice(cluster: int) -> str:
    return "noise" if int(cluster) == C.NOISE else f"cluster {int(cluster)}"


def _data_uri(path) -> str | None:
    try:
        with Image.open(path) as image:
            mime = Image.MIME.get(image.format or "", "application/octet-stream")
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    except (OSError, ValueError):
        return None


def labelstudio_tasks(run: ReviewRun, image_url: Callable[[str], str], embed: bool = False) -> list[dict]:
    """Label Studio tasks for every codeable image, with the cluster as a prediction."""
    tasks = []
    files = ServedFiles.for_run(run) if embed else None  # only files inside the run's image folder
    for row in run.records(run.images.index):
        image_id = row[C.IMAGE_ID]
        source = image_url(image_id)
        if files is not None:
            path = files.path_for(image_id)
            source = (_data_uri(path) if path is not None and path.is_file() else None) or source
        choice = cluster_choice(row[C.CLUSTER])
        tasks.append({
            "data": {
                "image": source,
                C.IMAGE_ID: image_id,
                C.RUN_ID: run.run_id,
                C.CLUSTER: int(row[C.CLUSTER]),
                C.PROBABILITY: float(row[C.PROBABILITY]),
                C.BAND: row[C.BAND],
                C.CAPTION: row[C.CAPTION],
                C.HASHTAGS: " ".join(row[C.HASHTAGS]),
                C.ACCOUNT: row[C.ACCOUNT],
                C.LIKES: row[C.LIKES],
                C.POSTED_AT: row[C.POSTED_AT],
                C.ALT_TEXT: row[C.ALT_TEXT],
            },
            "predictions": [{
                "model_version": f"visframe:{run.run_id}",
                "score": float(row[C.PROBABILITY]),
                "result": [{
                    "id": f"cluster-{image_id}",
                    "from_name": CLUSTER_FIELD,
                    "to_name": "image",
                    "type": "choices",
                    "value": {"choices": [choice]},
                }],
            }],
        })
    return tasks


def labelstudio_config(run: ReviewRun, codebook: list[tuple[str, str]]) -> str:
    """A labeling config matching the exported tasks and the codebook ((name, description) pairs)."""
    clusters = "\n".join(f"    <Choice value={quoteattr(cluster_choice(c))}/>" for c in run.cluster_ids())
    codes = "\n".join(
        f"    <Choice value={quoteattr(name)} hint={quoteattr(description)}/>" for name, description in codebook
    )
    return f"""<View>
  <Image name="image" value="$image"/>
  <Text name="caption" value="$caption"/>
  <Header value="visframe cluster (pre-annotation)"/>
  <Choices name="{CLUSTER_FIELD}" toName="image" choice="single" showInline="true">
{clusters}
  </Choices>
  <Header value="Codes"/>
  <Choices name="{CODES_FIELD}" toName="image" choice="multiple">
{codes}
  </Choices>
  <TextArea name="{MEMO_FIELD}" toName="image" editable="true" maxSubmissions="1"/>
</View>
"""


@dataclass
class ImportSummary:
    saved: int = 0  # (image, coder) codings written
    codes_applied: int = 0
    new_codes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one reason per skipped task/annotation


def _coder_of(annotation: dict[str, Any]) -> str | None:
    who = annotation.get("completed_by", annotation.get("annotator"))
    if isinstance(who, dict):
        who = who.get("email") or who.get("username") or who.get("id")
    if who is None or who == "":
        return None
    return str(who) if not isinstance(who, int) else f"labelstudio-user-{who}"


def _image_id_of(task: dict[str, Any]) -> str | None:
    data = task.get("data", task)
    image_id = data.get(C.IMAGE_ID) if isinstance(data, dict) else None
    if isinstance(image_id, str) and is_image_id(image_id):
        return image_id
    image = data.get("image") if isinstance(data, dict) else None
    if isinstance(image, str):
        match = _IMAGE_URL_ID.search(image)
        if match:
            return match.group(1)
    return None


def _read_result(result: list[dict[str, Any]]) -> tuple[list[str], str]:
    codes: list[str] = []
    memo: list[str] = []
    for item in result or []:
        value = item.get("value") or {}
        if item.get("from_name") == CODES_FIELD:
            codes.extend(str(c) for c in value.get("choices") or [])
        elif item.get("from_name") == MEMO_FIELD:
            memo.extend(str(t) for t in value.get("text") or [])
    return codes, "\n".join(memo)


def _min_annotations(task: dict[str, Any]) -> list[dict[str, Any]]:
    """JSON_MIN rows carry the answer on the task itself: {"codes": {"choices": [...]} or [...]}."""
    codes = task.get(CODES_FIELD)
    if isinstance(codes, dict):
        codes = codes.get("choices")
    if isinstance(codes, str):
        codes = [codes]
    memo = task.get(MEMO_FIELD) or ""
    if isinstance(memo, list):
        memo = "\n".join(str(m) for m in memo)
    result = [{"from_name": CODES_FIELD, "value": {"choices": list(codes or [])}},
              {"from_name": MEMO_FIELD, "value": {"text": [str(memo)] if memo else []}}]
    return [{"result": result, "completed_by": task.get("annotator"),
             "updated_at": task.get("updated_at", "")}]


# A Label Studio export nests about 6 levels deep; 64 leaves room and stops a nesting bomb.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def json_depth(payload: bytes) -> int:
    """How deeply `payload`'s arrays and objects nest (strings skipped), without parsing it."""
    data = np.frombuffer(_JSON_STRING.sub(b'""', payload), dtype=np.uint8)
    steps = np.isin(data, (ord("["), ord("{"))).astype(np.int32) - np.isin(data, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max()) if steps.size else 0


def parse_export(payload: bytes | str) -> list[dict[str, Any]]:
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"this JSON nests {depth} levels deep; a Label Studio export nests a few "
                         f"(at most {MAX_JSON_DEPTH} accepted): export the project again as JSON or JSON_MIN")
    try:
        tasks = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ValueError(f"not a Label Studio JSON export ({error}); export as JSON or JSON_MIN") from error
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise ValueError("a Label Studio JSON export is a list of task objects; this file is not")
    return tasks


def import_annotations(
    run: ReviewRun, store: ReviewStore, payload: bytes | str, coder: str | None = None
) -> ImportSummary:
    """Write each annotation's codes and memo into the store (codes missing from the codebook are added)."""
    summary = ImportSummary()
    codebook = {c.name: c.id for c in store.codebook()}
    for number, task in enumerate(parse_export(payload), start=1):
        image_id = _image_id_of(task)
        if image_id is None:
            summary.skipped.append(f"task {number}: no data.image_id and no /image/<image_id> URL")
            continue
        if not run.has_image(image_id):
            summary.skipped.append(f"task {number}: image {image_id} is not one of this run's images")
            continue
        annotations = task.get("annotations")
        if annotations is None:
            annotations = _min_annotations(task)
        latest: dict[str, dict[str, Any]] = {}
        for annotation in sorted(annotations, key=lambda a: str(a.get("updated_at") or a.get("created_at") or "")):
            if annotation.get("was_cancelled"):
                summary.skipped.append(f"task {number}: a cancelled annotation")
                continue
            who = coder or _coder_of(annotation)
            if not who:
                summary.skipped.append(f"task {number}: an annotation without completed_by (give a coder name)")
                continue
            latest[who] = annotation  # a coder's later annotation of the same task wins
        for who, annotation in latest.items():
            names, memo = _read_result(annotation.get("result") or [])
            ids = []
            try:
                for name in names:
                    key = " ".join(name.split())
                    if key not in codebook:
                        code = store.add_code(key, "added by a Label Studio import", coder=who)
                        codebook[code.name] = code.id
                        summary.new_codes.append(code.name)
                    ids.append(codebook[key])
                store.save_coding(image_id, who, ids, memo)
            except StoreError as error:
                summary.skipped.append(f"task {number}: {error}")
                continue
            summary.saved += 1
            summary.codes_applied += len(set(ids))
    return summary
