"""Security: CSRF on every POST, no path ever read from a request, the access token, host checks."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from review_fixtures import Browser

from visframe.review.app import create_app

POSTS = ["/coder", "/codebook", "/codebook/1", "/export/mlflow", "/import/labelstudio"]


@pytest.mark.parametrize("url", POSTS)
def test_posts_without_csrf_are_403(app, store, url):
    store.add_code("protest")
    browser = Browser(app, coder="ana")
    response = browser.client.post(url, data={"name": "evil", "description": "x"})
    assert response.status_code == 403
    assert [c.name for c in store.codebook()] == ["protest"]


def test_code_post_csrf_missing_wrong_or_from_another_session(app, store, review_run):
    code = store.add_code("protest")
    image = review_run.images.index[0]
    ana, eve = Browser(app, coder="ana"), Browser(app, coder="eve")
    data = {"codes": [str(code.id)], "memo": ""}
    assert ana.client.post(f"/code/{image}", data=data).status_code == 403
    assert ana.client.post(f"/code/{image}", data={**data, "csrf_token": "0" * 64}).status_code == 403
    assert ana.client.post(f"/code/{image}", data=data, headers={"X-CSRF-Token": eve.csrf}).status_code == 403
    fresh = TestClient(app, base_url="http://127.0.0.1")  # no session cookie at all
    assert fresh.post(f"/code/{image}", data={**data, "csrf_token": ana.csrf}).status_code == 403
    assert store.count_codings() == 0 and store.reviews_frame().empty
    assert ana.code(image, [code.id]).status_code == 200  # the right token works


TRAVERSALS = [
    "/image/..%2f..%2fetc%2fpasswd",
    "/thumb/..%2f..%2fetc%2fpasswd",
    "/image/%2Fetc%2Fpasswd",
    "/image/..%5c..%5cwindows%5cwin.ini",
    "/image/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static/../../etc/passwd",
    "/image//etc/passwd",
    "/image/etc%00passwd",
    "/cluster/0?offset=../../etc/passwd",
    "/cluster/0?offset=/etc/passwd",
    "/export/labelstudio/tasks.json?embed=/etc/passwd",
    "/?file=../../etc/passwd",
    "/?file=C:\\Windows\\win.ini",
    "/?p=~/.ssh/id_rsa",
]


@pytest.mark.parametrize("url", TRAVERSALS)
def test_path_like_parameters_are_refused(app, url):
    browser = Browser(app)
    response = browser.client.get(url)
    assert response.status_code in (400, 404, 422), (url, response.status_code)
    assert b"root:" not in response.content and b"[fonts]" not in response.content


def test_only_manifest_image_ids_are_served(app, review_run, run_dir):
    browser = Browser(app)
    manifest_path = review_run.path_for(review_run.images.index[0])
    for image_id in [
        "0123456789abcdef",
        "ZZZZZZZZZZZZZZZZ",
        "0123456789ABCDEF",
        "abc",
        str(manifest_path),
        manifest_path.name,
        "run/manifest.parquet",
    ]:
        for kind in ("image", "thumb"):
            response = browser.get(f"/{kind}/{image_id}")
            assert response.status_code in (400, 404), (kind, image_id)
    # The broken download is in the manifest with a non-ok status: never served.
    import pandas as pd

    manifest = pd.read_parquet(run_dir / "manifest.parquet")
    broken = manifest.loc[manifest.status != "ok", "image_id"].iloc[0]
    assert browser.get(f"/image/{broken}").status_code == 404


def test_a_non_loopback_host_needs_a_token(review_run, store):
    with pytest.raises(ValueError, match="token"):
        create_app(review_run, store, host="0.0.0.0")


def test_token_via_query_then_cookie_or_header(review_run, store):
    app = create_app(review_run, store, host="0.0.0.0", token="s3cret-token-0123456789")
    client = TestClient(app, base_url="http://192.0.2.10", follow_redirects=False)
    assert client.get("/").status_code == 401
    assert client.get(f"/image/{review_run.images.index[0]}").status_code == 401
    assert client.get("/static/htmx.min.js").status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    assert client.get("/", headers={"X-Review-Token": "wrong"}).status_code == 401
    redirect = client.get("/cluster/0?token=s3cret-token-0123456789&offset=0")
    assert redirect.status_code == 303 and "token" not in redirect.headers["location"]
    assert redirect.headers["location"] == "/cluster/0?offset=0"
    assert "httponly" in redirect.headers["set-cookie"].lower()
    assert client.get("/cluster/0").status_code == 200  # the cookie now carries it
    other = TestClient(app, base_url="http://192.0.2.10")
    assert other.get("/", headers={"X-Review-Token": "s3cret-token-0123456789"}).status_code == 200
    assert other.get("/", headers={"Authorization": "Bearer s3cret-token-0123456789"}).status_code == 200


def test_loopback_without_token_refuses_foreign_host_headers(app):
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not read the app.
    assert TestClient(app, base_url="http://evil.example").get("/").status_code == 400
    assert TestClient(app, base_url="http://localhost:8765").get("/").status_code == 200


def test_security_headers(app):
    response = Browser(app).get("/")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    session_cookie = [c for c in response.headers.get_list("set-cookie") if "visframe_session" in c]
    assert not session_cookie or "samesite=strict" in session_cookie[0].lower()
