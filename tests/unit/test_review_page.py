"""The self-hosted reviewer page's files and policy (bulkqa.review.page), checked without a browser.

tests/browser/test_review_page.py drives the page in Chromium; here: the exact Content-Security-Policy,
the origins presigned image URLs use, the asset allow-list, and the sources' rules (no inline script or
style, no HTML sinks, no cookies).
"""

from __future__ import annotations

import fnmatch
import importlib
import re
import tomllib
from html.parser import HTMLParser
from importlib import resources

import pytest

from bulkqa.errors import SettingsError
from bulkqa.review import page
from tests.support.browser import REPO

COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/"


def source(path: str) -> str:
    return resources.files("bulkqa").joinpath("templates", *path.split("/")).read_text("utf-8")


def code_of(js: str) -> str:
    """The JavaScript without its block comments (which name what is banned)."""
    return re.sub(r"/\*.*?\*/", "", js, flags=re.S)


# --- Content-Security-Policy -----------------------------------------------------------------------


def test_policy_is_exactly_the_documented_one() -> None:
    origins = page.image_origins("stack-bucket", "eu-west-1", "photos")
    assert page.content_security_policy(origins, COGNITO) == (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self' https://stack-bucket.s3.eu-west-1.amazonaws.com https://stack-bucket.s3.amazonaws.com "
        "https://photos.s3.eu-west-1.amazonaws.com https://photos.s3.amazonaws.com; "
        "connect-src 'self' https://cognito-idp.eu-west-1.amazonaws.com; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def test_policy_for_the_local_cloud() -> None:
    csp = page.content_security_policy([], "http://127.0.0.1:8123/_local/cognito-idp")
    assert "img-src 'self';" in csp
    assert "connect-src 'self' http://127.0.0.1:8123;" in csp


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "cognito-idp.eu-west-1.amazonaws.com",
        "javascript:alert(1)",
        "https://a b.com/",
        "https://x.com;script-src *",
    ],
)
def test_policy_refuses_an_endpoint_that_is_not_an_http_url(endpoint: str) -> None:
    with pytest.raises(SettingsError, match="COGNITO_ENDPOINT"):
        page.content_security_policy([], endpoint)


@pytest.mark.parametrize("origin", ["https://b.s3.amazonaws.com/key", "https://x.com 'unsafe-inline'", "*", "data:"])
def test_policy_refuses_an_image_origin_that_is_not_a_bare_origin(origin: str) -> None:
    with pytest.raises(SettingsError):
        page.content_security_policy([origin], COGNITO)


def test_image_origins_cover_regional_and_global_virtual_hosts() -> None:
    assert page.image_origins("stack-bucket", "us-east-1", "") == [
        "https://stack-bucket.s3.us-east-1.amazonaws.com",
        "https://stack-bucket.s3.amazonaws.com",
    ]
    assert page.image_origins("same", "eu-west-1", "same") == [
        "https://same.s3.eu-west-1.amazonaws.com",
        "https://same.s3.amazonaws.com",
    ]
    assert page.image_origins("bk1", "cn-north-1", "") == [
        "https://bk1.s3.cn-north-1.amazonaws.com.cn",
        "https://bk1.s3.amazonaws.com.cn",
    ]


def test_a_dotted_bucket_also_allows_s3_path_style_endpoints() -> None:
    assert page.image_origins("stack-bucket", "eu-west-1", "my.photos") == [
        "https://stack-bucket.s3.eu-west-1.amazonaws.com",
        "https://stack-bucket.s3.amazonaws.com",
        "https://my.photos.s3.eu-west-1.amazonaws.com",
        "https://my.photos.s3.amazonaws.com",
        "https://s3.eu-west-1.amazonaws.com",
        "https://s3.amazonaws.com",
    ]


@pytest.mark.parametrize(("bucket", "region"), [("Bad_Bucket", "us-east-1"), ("b", "us-east-1"), ("ok-bkt", "mars")])
def test_image_origins_refuse_bad_names(bucket: str, region: str) -> None:
    with pytest.raises(SettingsError):
        page.image_origins(bucket, region, "")


def test_presigned_urls_of_boto3_fall_under_the_policy() -> None:
    import boto3

    for region in ("us-east-1", "eu-west-1"):
        s3 = boto3.client("s3", region_name=region, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "stack-bucket", "Key": "a/b.jpg"})
        origin = re.match(r"https://[^/]+", url)
        assert origin is not None
        assert origin.group(0) in page.image_origins("stack-bucket", region, ""), url


# --- assets ------------------------------------------------------------------------------------------


def test_assets_are_exactly_the_four_files_with_their_types() -> None:
    assert set(page.ASSETS) == {"app.js", "app.css", "grid.js", "grid.css"}
    for name, content_type in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("grid.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("grid.css", "text/css; charset=utf-8"),
    ]:
        found = page.asset(name)
        assert found is not None
        assert found[1] == content_type
        assert (
            found[0] == resources.files("bulkqa").joinpath("templates", *page.ASSETS[name][0].split("/")).read_bytes()
        )


@pytest.mark.parametrize(
    "name",
    ["", "index.html", "../grid.js", "review/app.js", "APP.JS", "app.js.map", "worker_task.liquid.html", "%2e%2e/x"],
)
def test_anything_else_is_not_an_asset(name: str) -> None:
    assert page.asset(name) is None


def test_the_shared_grid_is_the_ground_truth_pages() -> None:
    from bulkqa import worker_page

    uploaded = worker_page.worker_template().decode("utf-8")
    for name in ("grid.css", "grid.js"):
        found = page.asset(name)
        assert found is not None
        assert found[0].decode("utf-8").strip("\n") in uploaded


def test_package_data_ships_every_file_of_the_page() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["bulkqa"]
    for path in ["review/index.html", *(p for p, _ in page.ASSETS.values())]:
        assert any(fnmatch.fnmatch(f"templates/{path}", g) for g in globs), path


def test_nothing_is_read_at_import_time(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("read at import time")

    monkeypatch.setattr(resources, "files", refuse)
    importlib.reload(page)
    monkeypatch.undo()
    importlib.reload(page)


# --- the page's sources ------------------------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


def test_index_has_no_inline_script_style_or_handler_and_loads_only_its_assets() -> None:
    html = page.page_html().decode("utf-8")
    parser = _Elements()
    parser.feed(html)
    tags = [t for t, _ in parser.elements]
    assert "style" not in tags
    assert parser.script_text == []
    for tag, attrs in parser.elements:
        assert "style" not in attrs, tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for attr in ("href", "src", "action"):
            value = attrs.get(attr)
            assert value is None or not re.match(r"\s*(javascript|data):", value, re.I), (tag, attr, value)
    scripts = [a.get("src") for t, a in parser.elements if t == "script"]
    sheets = [a.get("href") for t, a in parser.elements if t == "link" and a.get("rel") == "stylesheet"]
    assert scripts == ["assets/grid.js", "assets/app.js"]
    assert sheets == ["assets/grid.css", "assets/app.css"]
    assert {s.removeprefix("assets/") for s in scripts + sheets if s} == set(page.ASSETS)
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere
    # the views app.js switches between
    ids = {a.get("id") for _, a in parser.elements}
    assert {"view-signin", "view-newpw", "view-mfa", "view-jobs", "view-review", "status", "sign-out"} <= ids
    # the authenticator code: a one-time code field phones and password managers recognise, errors announced
    (code,) = [a for t, a in parser.elements if t == "input" and a.get("id") == "mfa-code"]
    assert code.get("autocomplete") == "one-time-code" and code.get("inputmode") == "numeric"
    assert code.get("pattern") == "[0-9]{6}" and code.get("type") == "text"
    (code_error,) = [a for _, a in parser.elements if a.get("id") == "mfa-error"]
    assert code_error.get("role") == "alert" and code_error.get("aria-live") == "assertive"
    (status,) = [a for _, a in parser.elements if a.get("id") == "status"]
    assert status.get("aria-live") == "polite" and status.get("role") == "status"
    # every input has a label
    labelled = {a.get("for") for t, a in parser.elements if t == "label"}
    inputs = [a.get("id") for t, a in parser.elements if t == "input"]
    assert inputs and set(inputs) <= labelled


@pytest.mark.parametrize("path", ["review/app.js", "grid.js"])
def test_scripts_never_use_html_sinks_eval_or_cookies(path: str) -> None:
    code = code_of(source(path))
    for banned in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "document.cookie",
        "localStorage",
        '.setAttribute("on',
        "createContextualFragment",
        "DOMParser",
    ):
        assert banned not in code, banned
    assert not re.search(r"set(Timeout|Interval)\(\s*[\"'`]", code)  # no string timers


def test_app_writes_api_values_with_text_content_only() -> None:
    code = code_of(source("review/app.js"))
    # every write of text goes through textContent or a text node; the label and names never reach an attribute
    # other than via DOM properties (img.src, box.name) that do not parse HTML
    assert "textContent" in code and "createTextNode" in code
    assert "task.label" in code
    assert re.findall(r"task\.label", code) == ["task.label"]
    assert "text: String(task.label)" in code
    assert "image.name" not in code  # file names are not shown (they may name the true class)


@pytest.mark.parametrize("path", ["grid.css", "review/app.css"])
def test_stylesheets_load_nothing(path: str) -> None:
    css = source(path)
    assert "url(" not in css and "@import" not in css


def test_app_calls_cognito_and_the_api_as_documented() -> None:
    code = code_of(source("review/app.js"))
    for expected in (
        '"AWSCognitoIdentityProviderService."',
        '"application/x-amz-json-1.1"',
        '"X-Amz-Target"',
        'AuthFlow: "USER_PASSWORD_AUTH"',
        '"NEW_PASSWORD_REQUIRED"',
        '"RespondToAuthChallenge"',
        'ChallengeName: "SOFTWARE_TOKEN_MFA"',
        "SOFTWARE_TOKEN_MFA_CODE: code",
        '"CodeMismatchException"',
        '"Bearer "',
        '"api/config"',
        '"api/jobs"',
        'jobPath(job, "next")',
        'taskPath(task, "answer")',
        'taskPath(task, "heartbeat")',
        'taskPath(task, "release")',
        "sessionStorage",
        'credentials: "omit"',
    ):
        assert expected in code, expected
