"""The OCR backends: RapidOCR (PP-OCR models bundled in its wheel, offline) and Tesseract.

`RapidOcr` is the default. rapidocr 3.10's wheel ships the PP-OCRv6 detection and recognition
models (multilingual Latin: its character list has á é í ó ú ü ñ ¿, but not ¡) and the text-angle
classifier. We pass those files as explicit `model_path`s, so rapidocr never reaches the branch
that would download a model, and we check they are there before building the engine: a wheel
without them is a clear error, not a network call. Measured on this 2-core machine (shared, load
~15) with one onnxruntime thread, on all 1,895 unique images of the small synthetic corpus (256 px):
CER 0.046, text-presence F1 0.988, 0.17 CPU-s per image, 17.6 min wall; at 512 px (120 images)
CER 0.010 and 0.29 CPU-s per image (benchmarks/bench_text.py). Most errors are the 6-9 px body type
of communiqués, barely legible at 256 px.

`Tesseract` calls pytesseract over the `tesseract` binary (Debian: `tesseract-ocr` +
`tesseract-ocr-spa`); language(s) configurable, e.g. `spa+eng`.
"""

from __future__ import annotations

import importlib.metadata
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from visframe.errors import ConfigError, StageError
from visframe.text.base import TextBackend, TextLine, drop_specks
from visframe.text.pool import resolve_workers

RECOGNITION = ("per_line", "rapidocr")  # who reads the detected lines: LineReader, or rapidocr's batches
# The files rapidocr 3.10 ships in rapidocr/models/ (its config's defaults: PP-OCRv6 small, ch/Latin).
RAPIDOCR_MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


class RapidOcr(TextBackend):
    """RapidOCR on onnxruntime with the models bundled in its wheel (defaults: conf/text/ocr.yaml).

    Detection (and the optional angle classifier) is rapidocr's own; recognition (`per_line`) is
    `LineReader` on the same bundled model, each line at its own width (see there: 1.2x fewer
    CPU-seconds, same CER); `recognition: rapidocr` reads as rapidocr does (the setting before).

    min_confidence: lines the recogniser is less sure of are dropped (rapidocr's `text_score`).
    det_side / det_limit: the detector resizes the image so its `det_limit` ("min" or "max") side is
        `det_side` pixels; small social-media images read better scaled up.
    use_angle_cls: run the 0/180° text classifier (off: our posts are upright, it costs time).
    min_line_chars: lines with fewer letters/digits are dropped (shapes read as lone characters).
    rec_margin: blank pixels after each line at the recogniser's 48 px height (see `LineReader`).
    threads: onnxruntime intra-op threads (-1 = onnxruntime's choice).
    workers: processes reading at once, each with its own engine ("auto" = the cores, at most 8).
    """

    name = "rapidocr"

    def __init__(
        self,
        min_confidence: float,
        det_side: int,
        det_limit: str,
        use_angle_cls: bool,
        box_thresh: float,
        unclip_ratio: float,
        threads: int,
        min_line_chars: int,
        recognition: str = "per_line",
        rec_margin: int = 48,
        workers: int | str = "auto",
    ):
        if not 0.0 <= float(min_confidence) <= 1.0:
            raise ConfigError(
                f"text.min_confidence={min_confidence} is outside 0..1",
                fix="use a share such as 0.5 (lines below it are dropped)",
            )
        if det_limit not in ("min", "max"):
            raise ConfigError(
                f"text.det_limit={det_limit!r} is not 'min' or 'max'",
                fix="'min' scales the short side to det_side, 'max' caps the long side",
            )
        if recognition not in RECOGNITION:
            raise ConfigError(
                f"text.recognition={recognition!r} is not one of {sorted(RECOGNITION)}",
                fix="per_line (each line at its own width, the default) or rapidocr (its own batches)",
            )
        if int(rec_margin) < 0:
            raise ConfigError(
                f"text.rec_margin={rec_margin} is negative",
                fix="use 0 or more pixels (48 reads best on the synthetic corpus)",
            )
        self.params = {
            "min_confidence": float(min_confidence),
            "det_side": int(det_side),
            "det_limit": det_limit,
            "use_angle_cls": bool(use_angle_cls),
            "box_thresh": float(box_thresh),
            "unclip_ratio": float(unclip_ratio),
            "min_line_chars": int(min_line_chars),
            "recognition": recognition,
        }
        if recognition == "per_line":  # the margin is ours: rapidocr's batches pad as they do
            self.params["rec_margin"] = int(rec_margin)
        self.threads = int(threads)
        resolve_workers(workers)  # a bad value is a clear error now, not in the middle of a run
        self.workers = workers
        self._engine = None
        self._lines = None

    @staticmethod
    def model_dir() -> Path:
        try:
            import rapidocr
        except ImportError as error:
            raise StageError(
                "text=ocr needs the rapidocr package (with onnxruntime)",
                fix="pip install 'rapidocr>=3.10' onnxruntime, or run with text=none",
            ) from error
        return Path(rapidocr.__file__).resolve().parent / "models"

    def model_paths(self) -> dict[str, Path]:
        """The bundled model files; a StageError (no download) when the wheel lacks one."""
        directory = self.model_dir()
        paths = {stage: directory / name for stage, name in RAPIDOCR_MODEL_FILES.items()}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise StageError(
                f"rapidocr {_version('rapidocr')} lacks its bundled model file(s) {missing}; "
                "visframe never downloads OCR models",
                fix="pip install 'rapidocr>=3.10' (its wheel ships the PP-OCR models), or run with text=none",
            )
        return paths

    @property
    def cache_key(self) -> dict[str, Any]:
        paths = self.model_paths()
        return {
            "backend": self.name,
            "rapidocr": _version("rapidocr"),
            "onnxruntime": _version("onnxruntime"),
            "models": {stage: [p.name, p.stat().st_size] for stage, p in paths.items()},
            **({"line_reader": LineReader.VERSION} if self.params["recognition"] == "per_line" else {}),
            **self.params,
        }

    def engine(self):
        """rapidocr's pipeline: detection (and the angle classifier); recognition too with `rapidocr`."""
        if self._engine is None:
            from rapidocr import RapidOCR

            paths = self.model_paths()
            p = self.params
            settings = {
                "Global.log_level": "error",
                "Global.text_score": p["min_confidence"],
                "Global.use_cls": p["use_angle_cls"],
                "Global.use_rec": p["recognition"] == "rapidocr",
                "Det.limit_side_len": p["det_side"],
                "Det.limit_type": p["det_limit"],
                "Det.box_thresh": p["box_thresh"],
                "Det.unclip_ratio": p["unclip_ratio"],
                "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
            }
            settings.update({f"{stage}.model_path": str(path) for stage, path in paths.items()})
            self._engine = RapidOCR(params=settings)
        return self._engine

    def line_reader(self) -> LineReader:
        if self._lines is None:
            self._lines = LineReader(self.model_paths()["Rec"], self.threads, self.params["rec_margin"])
        return self._lines

    def read(self, image: Image.Image) -> list[TextLine]:
        # rapidocr takes numpy arrays as BGR (OpenCV order).
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        if self.params["recognition"] == "rapidocr":
            found = self.engine()(bgr)
            if getattr(found, "txts", None) is None or getattr(found, "boxes", None) is None:
                return []
            read = list(zip(found.txts, found.scores))
        else:
            found = self.engine()(bgr, use_rec=False, use_cls=False)
            if getattr(found, "boxes", None) is None or len(found.boxes) == 0:
                return []
            read = self.line_reader().read(self.crops(bgr, found.boxes))
        lines = []
        for (text, score), quad in zip(read, found.boxes):
            if text.strip() and score >= self.params["min_confidence"]:
                quad = np.asarray(quad, dtype=float).reshape(-1, 2)
                box = (
                    float(quad[:, 0].min()),
                    float(quad[:, 1].min()),
                    float(quad[:, 0].max()),
                    float(quad[:, 1].max()),
                )
                lines.append(TextLine(str(text), box, float(score)))
        return drop_specks(lines, self.params["min_line_chars"])

    def crops(self, bgr: np.ndarray, quads) -> list[np.ndarray]:
        """Each detected quadrilateral cut out straight (rapidocr's own cropping), turned upright by the
        angle classifier when it is on."""
        from rapidocr.utils.process_img import get_rotate_crop_image

        crops = [
            get_rotate_crop_image(bgr, np.asarray(quad, dtype=np.float32).reshape(4, 2)) for quad in quads
        ]
        if self.params["use_angle_cls"]:
            crops, _ = self.engine().cls_and_rotate(crops)
        return crops

    def __getstate__(self):  # the onnxruntime sessions do not pickle; a worker builds its own
        return {**self.__dict__, "_engine": None, "_lines": None}


class LineReader:
    """PP-OCR's CTC line recogniser on onnxruntime (the rapidocr wheel's model), one line at a time.

    rapidocr pads every line to at least 320 px wide at the model's 48 px height and each batch of
    six to its widest line, so a short line ("#8M", a shape) costs as much as a long one. On one
    onnxruntime thread the model's time is linear in the input's width and batching gains nothing
    (batch 1 / 6 / 16 of 320 px: 229 / 241 / 254 ms per 1000 px here), so each line is read at its
    own width plus `margin` blank pixels: the padding is what the model needs at a line's end (no
    margin: CER 0.0749, 16 px: 0.0702, 48 px: 0.0660, rapidocr's padding: 0.0671 on the 120-image
    bench subset) and what it spent beyond that is saved: 42 instead of 52 CPU-s of recognition there.
    Narrower inputs cost accuracy: squeezing lines to 0.8 of their width gave CER 0.108.
    """

    VERSION = 1  # what the read depends on besides the model and the margin: bump when it changes
    HEIGHT = 48  # the model's input height (fixed in its graph)

    def __init__(self, model_path: Path, threads: int, margin: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads > 0:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self.input = self.session.get_inputs()[0].name
        # The model's own character list (metadata), with CTC's blank first and a space last, as PaddleOCR.
        listed = self.session.get_modelmeta().custom_metadata_map["character"].splitlines()
        self.characters = np.array(["", *listed, " "], dtype=object)
        self.margin = int(margin)

    def read(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, mean character probability) per BGR line crop."""
        return [self.decode(self.session.run(None, {self.input: self.tensor(crop)})[0][0]) for crop in crops]

    def tensor(self, crop: np.ndarray) -> np.ndarray:
        """The crop at the model's height and its own aspect ratio, scaled to -1..1, then `margin` zeros."""
        import cv2

        height, width = crop.shape[:2]
        resized_width = max(1, math.ceil(self.HEIGHT * width / max(1, height)))
        resized = cv2.resize(crop, (resized_width, self.HEIGHT)).astype(np.float32)
        out = np.zeros((1, 3, self.HEIGHT, resized_width + self.margin), dtype=np.float32)
        out[0, :, :, :resized_width] = resized.transpose(2, 0, 1) / 127.5 - 1.0
        return out

    def decode(self, probabilities: np.ndarray) -> tuple[str, float]:
        """CTC greedy decoding: the best class per step, repeats merged, blanks dropped."""
        best = probabilities.argmax(axis=1)
        keep = np.ones(len(best), dtype=bool)
        keep[1:] = best[1:] != best[:-1]
        keep &= best != 0
        if not keep.any():
            return "", 0.0
        steps = np.flatnonzero(keep)
        return "".join(self.characters[best[steps]]), float(probabilities[steps, best[steps]].mean())


class Tesseract(TextBackend):
    """Tesseract through pytesseract (defaults: conf/text/tesseract.yaml). `lang` is Tesseract's code
    list (`spa`, `spa+eng`); `psm` its page-segmentation mode (11 = sparse text, suits posters); words
    below `min_confidence` are dropped."""

    name = "tesseract"

    def __init__(
        self,
        lang: str,
        psm: int,
        min_confidence: float,
        upscale_to: int,
        min_line_chars: int,
        workers: int | str = "auto",
    ):
        self.lang, self.psm, self.min_confidence = str(lang), int(psm), float(min_confidence)
        resolve_workers(workers)
        self.workers = workers
        self.min_line_chars = int(min_line_chars)
        self.upscale_to = int(upscale_to)
        # A single language is the language of what it reads; several: unknown per image.
        self.language = self.lang if "+" not in self.lang else None

    @staticmethod
    def available(lang: str = "spa") -> bool:
        """Whether the binary and the language data are installed (tests skip without them)."""
        if shutil.which("tesseract") is None:
            return False
        try:
            import pytesseract

            return set(lang.split("+")) <= set(pytesseract.get_languages(config=""))
        except Exception:  # noqa: BLE001 - any failure means "not usable here"
            return False

    def _check(self) -> None:
        if not self.available(self.lang):
            raise StageError(
                f"text=tesseract needs the tesseract binary with language data {self.lang!r}",
                fix="apt-get install tesseract-ocr tesseract-ocr-spa && pip install pytesseract, "
                "or use text=ocr",
            )

    @property
    def cache_key(self) -> dict[str, Any]:
        self._check()
        import pytesseract

        return {
            "backend": self.name,
            "tesseract": str(pytesseract.get_tesseract_version()),
            "pytesseract": _version("pytesseract"),
            "lang": self.lang,
            "psm": self.psm,
            "min_confidence": self.min_confidence,
            "upscale_to": self.upscale_to,
            "min_line_chars": self.min_line_chars,
        }

    def read(self, image: Image.Image) -> list[TextLine]:
        import pytesseract

        scale = 1.0
        if self.upscale_to and max(image.size) < self.upscale_to:
            scale = self.upscale_to / max(image.size)
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BICUBIC)
        data = pytesseract.image_to_data(
            image.convert("RGB"),
            lang=self.lang,
            config=f"--psm {self.psm}",
            output_type=pytesseract.Output.DICT,
        )
        words: dict[tuple, list[tuple[str, float, tuple]]] = {}
        for i, word in enumerate(data["text"]):
            conf = float(data["conf"][i]) / 100.0
            if not str(word).strip() or conf < self.min_confidence:
                continue
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            box = (
                data["left"][i],
                data["top"][i],
                data["left"][i] + data["width"][i],
                data["top"][i] + data["height"][i],
            )
            words.setdefault(key, []).append((str(word), conf, box))
        lines = []
        for found in words.values():
            boxes = np.array([b for _, _, b in found], dtype=float) / scale
            lines.append(
                TextLine(
                    " ".join(w for w, _, _ in found),
                    (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()),
                    float(np.mean([c for _, c, _ in found])),
                )
            )
        return drop_specks(lines, self.min_line_chars)
