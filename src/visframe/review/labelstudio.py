"""Label Studio interchange: the sample as tasks out, coders' annotations back in.

Export: one task per image (`data.image` is the app's image URL or, with `embed`, a data: URI so the
file opens without the app running), the visframe cluster as a prediction (Label Studio's
pre-annotation) on the `cluster_choice` control, and a labeling config whose `codes` Choices list
the codebook, with a `new_codes` text box for codes not in it yet. A run with an empty codebook gets
the text box alone: Label Studio refuses a `<Choices>` without a `<Choice>` ("'Choice' is a required
property"), so such a run could not start a project before.
Import: Label Studio's JSON export (tasks with `annotations`) or its JSON_MIN export. Each
annotation becomes one save in the store for (image_id, coder): the `codes` choices plus the
`new_codes` lines, the `memo` text, coded at the annotation's own `updated_at` (else `created_at`),
and, when the annotator chose another cluster than the run's, that cluster as the coder's
`human_cluster` (as the noise queue records one). Images are found by `data.image_id` (or an
`/image/<image_id>` URL), never by path.

Who coded: Label Studio 1.23 exports `completed_by` as the annotator's user id (JSON) and
`annotator` as the id (JSON_MIN). The id becomes the annotator's e-mail with the project's users
(`users`: the JSON of Label Studio's `GET /api/users/`, or any list of {id, email}); without them
it stays `labelstudio-user-<id>`. The cluster control was named `cluster` before: in JSON_MIN,
where each control's answer sits beside the task's data, its answer replaced `data.cluster`; the
import still reads answers of that name, from both export forms.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
from PIL import Image

from visframe import contracts as C
from visframe.review.media import ServedFiles
from visframe.review.run_data import ReviewRun, is_image_id
from visframe.review.store import ReviewStore, StoreError

CODES_FIELD = "codes"
NEW_CODES_FIELD = "new_codes"
MEMO_FIELD = "memo"
# Not `cluster`: in JSON_MIN a control's answer sits beside the task's data and would replace data.cluster.
CLUSTER_FIELD = "cluster_choice"
OLD_CLUSTER_FIELD = C.CLUSTER  # the control's name in configs exported before
_IMAGE_URL_ID = re.compile(r"/image/([0-9a-f]{16})(?:[/?#]|$)")
_CLUSTER_CHOICE = re.compile(r"^(?:cluster (-?\d+)|(noise))$")


def cluster_choice(cluster: int) -> str:
    return "noise" if int(cluster) == C.NOISE else f"cluster {int(cluster)}"


def cluster_of_choice(choice: str) -> int | None:
    """`cluster 3` → 3, `noise` → -1; None for anything else."""
    match = _CLUSTER_CHOICE.match(str(choice).strip())
    if not match:
        return None
    return C.NOISE if match.group(2) else int(match.group(1))


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
        tasks.append(
            {
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
                "predictions": [
                    {
                        "model_version": f"visframe:{run.run_id}",
                        "score": float(row[C.PROBABILITY]),
                        "result": [
                            {
                                "id": f"cluster-{image_id}",
                                "from_name": CLUSTER_FIELD,
                                "to_name": "image",
                                "type": "choices",
                                "value": {"choices": [choice]},
                            }
                        ],
                    }
                ],
            }
        )
    return tasks


def labelstudio_config(run: ReviewRun, codebook: list[tuple[str, str]]) -> str:
    """A labeling config matching the exported tasks and the codebook ((name, description) pairs)."""
    clusters = "\n".join(f"    <Choice value={quoteattr(cluster_choice(c))}/>" for c in run.cluster_ids())
    codes = "\n".join(
        f"    <Choice value={quoteattr(name)} hint={quoteattr(description)}/>"
        for name, description in codebook
    )
    # Label Studio refuses a Choices without a Choice: an empty codebook gets the text box alone.
    choices = (
        f"""  <Choices name="{CODES_FIELD}" toName="image" choice="multiple">
{codes}
  </Choices>
"""
        if codebook
        else ""
    )
    return f"""<View>
  <Image name="image" value="$image"/>
  <Text name="caption" value="$caption"/>
  <Header value="visframe cluster (pre-annotation; choose another if it belongs elsewhere)"/>
  <Choices name="{CLUSTER_FIELD}" toName="image" choice="single" showInline="true">
{clusters}
  </Choices>
  <Header value="Codes"/>
{choices}  <TextArea name="{NEW_CODES_FIELD}" toName="image" editable="true" maxSubmissions="1" rows="2"
            placeholder="codes not in the list, one per line"/>
  <TextArea name="{MEMO_FIELD}" toName="image" editable="true" maxSubmissions="1"/>
</View>
"""


@dataclass
class ImportSummary:
    saved: int = 0  # (image, coder) codings written
    codes_applied: int = 0
    clusters_changed: int = 0  # annotations that put the image in another cluster (human_cluster)
    new_codes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one reason per skipped task/annotation


@dataclass(frozen=True)
class Answer:
    """What one annotation says: codes, memo, the annotator's cluster (None: not answered)."""

    codes: list[str]
    memo: str
    cluster: int | None


def parse_users(payload: bytes | str | None) -> dict[int, str]:
    """Label Studio's users (`GET /api/users/`: a list, or {"results": [...]}) as id → e-mail (else
    username)."""
    if not payload:
        return {}
    try:
        users = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"the users file is not JSON ({error}): save Label Studio's /api/users/ answer"
        ) from error
    users = users.get("results", users) if isinstance(users, dict) else users
    if not isinstance(users, list):
        # ValueError, as for every unreadable upload: the import form shows it (a TypeError would not be).
        raise ValueError("the users file should be a list of users ({id, email}) as /api/users/ gives")  # noqa: TRY004
    found = {}
    for user in users:
        if (
            isinstance(user, dict)
            and isinstance(user.get("id"), int)
            and (user.get("email") or user.get("username"))
        ):
            found[user["id"]] = str(user.get("email") or user.get("username"))
    return found


def _coder_of(annotation: dict[str, Any], users: Mapping[int, str]) -> str | None:
    who = annotation.get("completed_by", annotation.get("annotator"))
    if isinstance(who, dict):
        who = who.get("email") or who.get("username") or who.get("id")
    if who is None or who == "":
        return None
    if isinstance(who, int) or (isinstance(who, str) and who.isdigit()):
        return users.get(int(who)) or f"labelstudio-user-{int(who)}"
    return str(who)


def _coded_at(annotation: dict[str, Any]) -> datetime | None:
    """The annotation's own time (updated_at, else created_at), in UTC; None when absent or unreadable."""
    for key in ("updated_at", "created_at"):
        value = annotation.get(key)
        if not value:
            continue
        try:
            when = datetime.fromisoformat(str(value))  # Python 3.11 reads the trailing Z
        except ValueError:
            continue
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return None


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


def _lines(texts) -> list[str]:
    return [line for text in texts for line in str(text).splitlines() if line.strip()]


def _read_result(result: list[dict[str, Any]]) -> Answer:
    codes: list[str] = []
    memo: list[str] = []
    cluster = None
    for item in result or []:
        value = item.get("value") or {}
        name = item.get("from_name")
        if name == CODES_FIELD:
            codes.extend(str(c) for c in value.get("choices") or [])
        elif name == NEW_CODES_FIELD:
            codes.extend(_lines(value.get("text") or []))
        elif name == MEMO_FIELD:
            memo.extend(str(t) for t in value.get("text") or [])
        elif name in (CLUSTER_FIELD, OLD_CLUSTER_FIELD):
            chosen = [cluster_of_choice(c) for c in value.get("choices") or []]
            cluster = next((c for c in chosen if c is not None), None)
    return Answer(codes, "\n".join(memo), cluster)


def _min_values(value) -> list[str]:
    """A JSON_MIN answer: a string, a list of strings, or {"choices": [...]} / {"text": [...]}."""
    if isinstance(value, dict):
        value = value.get("choices", value.get("text"))
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _min_annotations(task: dict[str, Any]) -> list[dict[str, Any]]:
    """JSON_MIN rows carry the answer on the task itself, one row per annotation."""
    result = [
        {"from_name": CODES_FIELD, "value": {"choices": _min_values(task.get(CODES_FIELD))}},
        {"from_name": NEW_CODES_FIELD, "value": {"text": _min_values(task.get(NEW_CODES_FIELD))}},
        {"from_name": MEMO_FIELD, "value": {"text": _min_values(task.get(MEMO_FIELD))}},
    ]
    for name in (CLUSTER_FIELD, OLD_CLUSTER_FIELD):
        answer = task.get(name)
        # An old config's `cluster` answer replaced data.cluster: a number there is still the run's data.
        if answer is not None and not isinstance(answer, (int, float)):
            result.append({"from_name": name, "value": {"choices": _min_values(answer)}})
    return [
        {
            "result": result,
            "completed_by": task.get("annotator"),
            "updated_at": task.get("updated_at"),
            "created_at": task.get("created_at"),
        }
    ]


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
        raise ValueError(
            f"this JSON nests {depth} levels deep; a Label Studio export nests a few "
            f"(at most {MAX_JSON_DEPTH} accepted): export the project again as JSON or JSON_MIN"
        )
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
    run: ReviewRun,
    store: ReviewStore,
    payload: bytes | str,
    coder: str | None = None,
    users: Mapping[int, str] | None = None,
) -> ImportSummary:
    """Write each annotation's codes and memo into the store (codes missing from the codebook are added),
    coded at the annotation's own time; a cluster the annotator changed becomes the coder's human_cluster.
    `users`: Label Studio user id → e-mail (`parse_users`), for exports that name annotators by id."""
    summary = ImportSummary()
    users = users or {}
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
        for annotation in sorted(
            annotations, key=lambda a: str(a.get("updated_at") or a.get("created_at") or "")
        ):
            if annotation.get("was_cancelled"):
                summary.skipped.append(f"task {number}: a cancelled annotation")
                continue
            who = coder or _coder_of(annotation, users)
            if not who:
                summary.skipped.append(
                    f"task {number}: an annotation without completed_by (give a coder name)"
                )
                continue
            latest[who] = annotation  # a coder's later annotation of the same task wins
        for who, annotation in latest.items():
            _save(run, store, image_id, who, annotation, codebook, summary, number)
    return summary


def _save(
    run: ReviewRun,
    store: ReviewStore,
    image_id: str,
    who: str,
    annotation: dict[str, Any],
    codebook: dict[str, int],
    summary: ImportSummary,
    number: int,
) -> None:
    answer = _read_result(annotation.get("result") or [])
    ids = []
    try:
        for name in answer.codes:
            key = " ".join(name.split())
            if key not in codebook:
                code = store.add_code(key, "added by a Label Studio import", coder=who)
                codebook[code.name] = code.id
                summary.new_codes.append(code.name)
            ids.append(codebook[key])
        store.save_coding(image_id, who, ids, answer.memo, at=_coded_at(annotation))
        # Another cluster than the run's: the coder's own (the pre-annotation kept leaves any earlier one).
        if answer.cluster is not None and answer.cluster != int(run.images.at[image_id, C.CLUSTER]):
            store.assign_cluster(image_id, who, answer.cluster)
            summary.clusters_changed += 1
    except StoreError as error:
        summary.skipped.append(f"task {number}: {error}")
        return
    summary.saved += 1
    summary.codes_applied += len(set(ids))
