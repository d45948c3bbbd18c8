"""The OCR backends read known Spanish posters within the CER bound, offline."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from PIL import Image
from text_posters import cer, write_posters

from visframe.errors import ConfigError
from visframe.text import build_backend, summarise, text_config, text_enabled
from visframe.text.backends import Tesseract

CER_BOUND = 0.10


@pytest.fixture(scope="module")
def posters(tmp_path_factory):
    return write_posters(tmp_path_factory.mktemp("posters"))


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection (a model download) fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the OCR backend tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    from rapidocr.utils import download_file

    monkeypatch.setattr(download_file.DownloadFile, "run", classmethod(lambda cls, *a, **k: refuse()))


@pytest.fixture(scope="module", params=["per_line", "rapidocr"])
def ocr(request):
    """A RapidOCR backend per recognition setting (its models load on the first read, under no_network)."""
    return build_backend(text_config("ocr", recognition=request.param))


def read_text(backend, path) -> str:
    image = Image.open(path).convert("RGB")
    return summarise(backend.read(image), image.width, image.height).text


def test_rapidocr_reads_spanish_posters_offline(ocr, posters, no_network):
    texts = []
    for path, truth in posters:
        texts.append(read_text(ocr, path))
        assert cer(texts[-1], truth) <= CER_BOUND, (truth, texts[-1])
    # Accents, ñ and ¿ come through as such (not stripped to ASCII), lines in reading order.
    assert all(ch in " ".join(texts) for ch in "ó¿ñ"), texts
    assert texts[0].split("\n")[0].casefold() == "ni una menos"


def test_rapidocr_finds_no_text_on_a_blank_image(ocr, no_network):
    assert ocr.read(Image.new("RGB", (320, 320), (120, 40, 160))) == []


def test_rapidocr_cache_key_names_its_models_and_settings():
    a = build_backend(text_config("ocr")).cache_key
    b = build_backend(text_config("ocr", min_confidence=0.7)).cache_key
    assert a["models"]["Rec"][0].endswith(".onnx") and a["models"]["Rec"][1] > 1_000_000
    assert a != b
    # Who recognises the lines, and how, changes what is read.
    assert a != build_backend(text_config("ocr", recognition="rapidocr")).cache_key
    assert a != build_backend(text_config("ocr", rec_margin=16)).cache_key
    with pytest.raises(ConfigError, match="text.recognition"):
        build_backend(text_config("ocr", recognition="fast"))


def test_the_line_reader_decodes_ctc_and_pads_each_line_to_its_own_width():
    reader = build_backend(text_config("ocr", rec_margin=48)).line_reader()
    assert len(reader.characters) > 18_000 and reader.characters[0] == "" and reader.characters[-1] == " "
    index = {ch: i for i, ch in enumerate(reader.characters)}
    # Steps: l l <blank> l a a -> "lla" (repeats merge, a blank separates a double letter).
    steps = [index["l"], index["l"], 0, index["l"], index["a"], index["a"]]
    probabilities = np.full((len(steps), len(reader.characters)), 1e-6, dtype=np.float32)
    probabilities[np.arange(len(steps)), steps] = [0.9, 0.7, 0.99, 0.8, 0.6, 0.4]
    text, score = reader.decode(probabilities)
    assert text == "lla" and score == pytest.approx((0.9 + 0.8 + 0.6) / 3)
    assert reader.decode(np.eye(3, len(reader.characters), dtype=np.float32)[[0, 0, 0]]) == ("", 0.0)
    # A 10 x 40 crop is read at 48 x 192, then 48 blank (0) columns.
    tensor = reader.tensor(np.full((10, 40, 3), 255, dtype=np.uint8))
    assert tensor.shape == (1, 3, 48, 192 + 48)
    assert np.allclose(tensor[..., :192], 1.0) and not tensor[..., 192:].any()


@pytest.mark.skipif(
    not Tesseract.available("spa"), reason="tesseract-ocr with tesseract-ocr-spa not installed"
)
def test_tesseract_reads_spanish_posters(posters):
    backend = build_backend(text_config("tesseract"))
    assert backend.language == "spa"
    for path, truth in posters:
        got = read_text(backend, path)
        assert cer(got, truth) <= CER_BOUND, (truth, got)


def test_none_turns_the_stage_off():
    assert not text_enabled(text_config("none"))
    assert text_enabled(text_config("ocr")) and text_enabled(text_config("tesseract"))
