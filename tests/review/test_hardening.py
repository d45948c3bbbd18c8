"""Issue 15 regressions: body and field limits, oversized ids, JSON nesting, JSON bodies, token
hygiene, CSV formula injection, NUL and bidi controls. Each test failed before its fix."""

from __future__ import annotations

import io
import logging

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from review_fixtures import Browser

from visframe.errors import ConfigError
from visframe.review import cli
from visframe.review.app import create_app
from visframe.review.limits import Limits
from visframe.review.security import TOKEN_COOKIE, AccessToken
from visframe.review.server import ScrubToken, serve_in_background

TOKEN = "correct-horse-battery-staple"


# -- 3. limits --------------------------------------------------------------------------------------
def test_a_huge_memo_is_413_and_nothing_is_stored(app, store, review_run):
    browser = Browser(app, coder="ana")
    image = review_run.images.index[0]
    huge = browser.code(image, [], memo="x" * (2 * 1024 * 1024), htmx=False)
    assert huge.status_code == 413 and "MiB" in huge.text
    long = browser.code(image, [], memo="x" * 10_001)
    assert long.status_code == 413 and "memo field is at most 10,000 characters" in long.text
    assert store.reviews_frame().empty
    assert browser.code(image, [], memo="x" * 10_000).status_code == 200


def test_code_and_coder_names_have_caps(app, store):
    browser = Browser(app, coder="ana")
    assert browser.post("/codebook", {"name": "n" * 101, "description": ""}).status_code == 413
    assert browser.post("/codebook", {"name": "ok", "description": "d" * 2_001}).status_code == 413
    assert browser.post("/coder", {"name": "c" * 65}).status_code == 400
    assert store.codebook() == []


def _multipart(csrf: str, payload: bytes) -> tuple[bytes, str]:
    boundary = "visframe-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.json"\r\n'
            "Content-Type: application/json\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_the_label_studio_upload_limit_holds_while_streaming(review_run, store):
    app = create_app(review_run, store, limits=Limits(upload_bytes=64 * 1024))
    browser = Browser(app, coder="ana")
    body, kind = _multipart(browser.csrf, b"[" + b" " * 200_000 + b"]")
    declared = browser.client.post("/import/labelstudio", content=body, headers={"content-type": kind})
    assert declared.status_code == 413

    def chunks():  # no Content-Length: the body must be counted as it streams
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    streamed = browser.client.post("/import/labelstudio", content=chunks(), headers={"content-type": kind})
    assert streamed.status_code == 413 and "at most 0.0625 MiB" in streamed.text
    small, kind = _multipart(browser.csrf, b"[]")
    assert (
        browser.client.post("/import/labelstudio", content=small, headers={"content-type": kind}).status_code
        == 200
    )


# -- 5. oversized ids and nested JSON ------------------------------------------------------------
@pytest.mark.parametrize("bad", [str(2**63), "9" * 40, "-1", "1e3"])
def test_oversized_or_odd_ids_are_400(app, store, review_run, bad):
    code = store.add_code("protest")
    browser = Browser(app, coder="ana")
    image = review_run.images.index[0]
    response = browser.code(image, [code.id, bad])  # type: ignore[list-item]
    assert response.status_code == 400 and "code id" in response.text
    edit = browser.post(f"/codebook/{bad}", {"name": "x", "description": ""})
    assert edit.status_code == 400
    assert store.reviews_frame().empty and [c.name for c in store.codebook()] == ["protest"]


def test_a_deeply_nested_label_studio_file_is_400_not_a_recursion_error(app):
    browser = Browser(app, coder="ana")
    nested = b"[" * 200_000 + b"]" * 200_000
    response = browser.post("/import/labelstudio", files={"file": ("deep.json", nested, "application/json")})
    assert response.status_code == 400 and "nests 200000 levels" in response.text


# -- 6. a JSON body must not wipe codes ---------------------------------------------------------------
def test_a_json_post_to_code_is_415_and_keeps_the_codes(app, store, review_run):
    code = store.add_code("protest")
    browser = Browser(app, coder="ana")
    image = review_run.images.index[0]
    assert browser.code(image, [code.id], memo="keep me").status_code == 200
    headers = {"X-CSRF-Token": browser.csrf, "HX-Request": "true"}
    as_json = browser.client.post(f"/code/{image}", json={"codes": [], "memo": ""}, headers=headers)
    assert as_json.status_code == 415
    no_memo = browser.client.post(f"/code/{image}", data={"other": "1"}, headers=headers)
    assert no_memo.status_code == 400 and "memo" in no_memo.text
    assert store.coding_for(image, "ana") == ({code.id}, "keep me", True)


# -- 4. token hygiene -----------------------------------------------------------------------------------
def test_short_tokens_are_refused_with_a_generated_one_offered(review_run, store):
    with pytest.raises(ConfigError, match="at least 16") as error:
        create_app(review_run, store, host="0.0.0.0", token="x")
    assert error.value.fix and len(error.value.fix.split()[-1]) >= 16


def test_the_cookie_holds_a_derived_value_and_is_secure_over_https(review_run, store):
    app = create_app(review_run, store, host="0.0.0.0", token=TOKEN)
    client = TestClient(app, base_url="https://192.0.2.10", follow_redirects=False)
    redirect = client.get(f"/?token={TOKEN}")
    cookie = redirect.headers["set-cookie"]
    assert redirect.status_code == 303 and TOKEN not in cookie and "secure" in cookie.lower()
    assert client.cookies.get(TOKEN_COOKIE) and client.get("/").status_code == 200
    forged = TestClient(app, base_url="https://192.0.2.10", cookies={TOKEN_COOKIE: TOKEN})
    assert forged.get("/").status_code == 401  # the raw token is not a valid cookie


def test_wrong_tokens_are_slowed_then_locked_out(review_run, store):
    access = AccessToken(TOKEN, max_failures=3, lockout_seconds=60, failure_delay=0)
    app = create_app(review_run, store, host="0.0.0.0", access=access)
    client = TestClient(app, base_url="http://192.0.2.10", follow_redirects=False)
    for guess in range(3):
        assert client.get("/", headers={"X-Review-Token": f"wrong-guess-{guess:08d}"}).status_code == 401
    locked = client.get("/", headers={"X-Review-Token": TOKEN})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert AccessToken(TOKEN).failure_delay > 0  # the default answers a wrong token slowly


def test_the_access_log_never_shows_the_token(review_run, store):
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", f"/cluster/0?offset=0&token={TOKEN}", "1.1", 303),
        None,
    )
    ScrubToken().filter(record)
    assert TOKEN not in record.getMessage() and "token=***" in record.getMessage()
    app = create_app(review_run, store, host="127.0.0.1", token=TOKEN, allowed_hosts=["127.0.0.1"])
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda r: lines.append(r.getMessage())
    with serve_in_background(app, log_level="info") as base_url:
        logging.getLogger("uvicorn.access").addHandler(handler)
        import httpx

        httpx.get(f"{base_url}/?token={TOKEN}", follow_redirects=False)
        logging.getLogger("uvicorn.access").removeHandler(handler)
    assert lines and not any(TOKEN in line for line in lines) and any("token=***" in line for line in lines)


def test_the_cli_reads_the_token_from_env_or_file_never_argv(run_dir, tmp_path, monkeypatch, capsys):
    served = {}
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    monkeypatch.delenv(cli.TOKEN_ENV, raising=False)
    assert cli.main([str(run_dir), "--host", "0.0.0.0", "--token", TOKEN]) == 2
    assert "shows in ps" in capsys.readouterr().err and not served
    (tmp_path / "short").write_text("abc\n")
    assert cli.main([str(run_dir), "--host", "0.0.0.0", "--token-file", str(tmp_path / "short")]) == 2
    assert "at least 16" in capsys.readouterr().err
    (tmp_path / "token").write_text(TOKEN + "\n")
    assert cli.main([str(run_dir), "--host", "0.0.0.0", "--token-file", str(tmp_path / "token")]) == 0
    client = TestClient(served["app"], base_url="http://192.0.2.1")
    assert client.get("/", headers={"X-Review-Token": TOKEN}).status_code == 200


# -- 7. CSV formula injection -----------------------------------------------------------------------
def test_csv_cells_that_look_like_formulas_are_neutralised(app, store, review_run):
    code = store.add_code("@SUM(1+1)", "=cmd|' /C calc'!A0")
    image = review_run.images.index[0]
    store.save_coding(image, "ana", [code.id], '=HYPERLINK("http://evil.example", "click")')
    store.save_coding(review_run.images.index[1], "bea", [], "-2+3")
    text = Browser(app).get("/export/codes.csv").text
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    for column in ("code", "code_description", "memo"):
        assert not frame[column].str.match(r"^[=+\-@\t\r]").any(), column
    assert "'=HYPERLINK" in text and "'@SUM(1+1)" in text and "'-2+3" in text
    parquet = pd.read_parquet(io.BytesIO(Browser(app).get("/export/codes.parquet").content))
    assert parquet.memo.str.startswith("=HYPERLINK").any()  # Parquet keeps the value as typed


# -- 8. NUL and bidi controls -----------------------------------------------------------------------
def test_nul_and_bidi_overrides_are_not_displayed(review_run, store):
    image = review_run.images.index[0]
    review_run.images.at[image, "caption"] = "gpj.\u202eexe\x00 caption"
    app = create_app(review_run, store)
    store.add_code("code\u202ename")
    browser = Browser(app, coder="ana\u202e")
    assert [c.name for c in store.codebook()] == ["codename"]
    response = browser.code(image, [], memo="memo\x00\u202ehere")
    cluster = int(review_run.images.at[image, "cluster"])
    page = browser.get(f"/cluster/{cluster}").text + response.text + browser.get("/").text
    assert "\u202e" not in page and "\x00" not in page
    assert "gpj.exe caption" in page and "memohere" in page
    assert browser.post("/coder", {"name": "a\x00b"}).status_code == 400
