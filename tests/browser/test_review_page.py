"""The self-hosted reviewer page alone in headless Chromium, against a fake review API and a fake Cognito.

The page and its assets are served exactly as the review API serves them (``bulkqa.review.page``, with its
Content-Security-Policy) on http://review.test through Playwright routes; ``/api/*`` and Cognito's JSON API
are answered by :class:`FakeBackend`, which records every request. The end-to-end test through the real
API function and the local server is tests/browser/test_review_page_e2e.py.

Screenshots go to tests/artifacts/review-*.png (git-ignored).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from bulkqa.review import page as review_page
from tests.support.browser import REPO, image_png

pytestmark = pytest.mark.browser

ORIGIN = "http://review.test"
COGNITO = "https://cognito-idp.us-east-1.amazonaws.com/"
BUCKET = "bkt"
JOB = "bulkqa-20261129-abc-p00"
HOSTILE = "<img src=x onerror=alert(1)>"
ARTIFACTS = REPO / "tests" / "artifacts"
CSP = review_page.content_security_policy(review_page.image_origins(BUCKET, "us-east-1", ""), COGNITO)
CORS = {
    "Access-Control-Allow-Origin": ORIGIN,
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "content-type, x-amz-target, x-amz-user-agent",
    "Access-Control-Max-Age": "600",
}


def iso(seconds_from_now: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).strftime("%Y-%m-%dT%H:%M:%SZ")


def screen(n: int, count: int = 25, label: str = HOSTILE, lease_seconds: float = 600) -> dict[str, Any]:
    ids = [f"{n:02d}{i:014x}" for i in range(count)]
    return {
        "task_id": f"{JOB}.{n}.0",
        "lease_id": f"lease-{n}",
        "lease_expires_at": iso(lease_seconds),
        "label": label,
        "images": [
            {
                "id": i,
                "name": f"images/cat/{k}.jpg",
                "url": f"https://{BUCKET}.s3.amazonaws.com/images/{n}/{k}.jpg?X-Amz-Expires=600&X-Amz-Signature=ab",
            }
            for k, i in enumerate(ids)
        ],
    }


@dataclass
class FakeBackend:
    """The review API and Cognito as the page sees them; ``screens`` are handed out in order, then 204."""

    screens: list[dict[str, Any]]
    answer_status: list[int] = field(default_factory=list)  # statuses of the next answers (default 200)
    heartbeat_status: list[int] = field(default_factory=list)
    password: str = "Temp-Passw0rd!"
    new_password: str | None = None
    calls: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path or X-Amz-Target, body)
    cognito_headers: list[dict[str, str]] = field(default_factory=list)
    api_auth: list[str | None] = field(default_factory=list)
    token: str = "access-token-1"
    refresh_works: bool = True
    mfa_code: str | None = None  # TOTP turned on: the password is followed by SOFTWARE_TOKEN_MFA, answered with this
    mfa_sessions: int = 0  # SOFTWARE_TOKEN_MFA challenges handed out (their Session is f"mfa-session-{n}")
    mfa_session_valid: bool = True  # False: Cognito's session of the challenge has expired

    def _signed_in(self, route: Any, auth: dict[str, Any]) -> None:
        """Tokens, or first the SOFTWARE_TOKEN_MFA challenge when the user has TOTP turned on."""
        if self.mfa_code is None:
            self._json(route, 200, {"AuthenticationResult": auth}, CORS)
            return
        self.mfa_sessions += 1
        self.mfa_session_valid = True
        challenge = {
            "ChallengeName": "SOFTWARE_TOKEN_MFA",
            "ChallengeParameters": {"USER_ID_FOR_SRP": "alice"},
            "Session": f"mfa-session-{self.mfa_sessions}",
        }
        self._json(route, 200, challenge, CORS)

    def route(self, route: Any) -> None:
        request = route.request
        url = urlsplit(request.url)
        if request.url.startswith(COGNITO):
            self._cognito(route, request)
        elif url.netloc == f"{BUCKET}.s3.amazonaws.com":
            route.fulfill(status=200, content_type="image/png", body=image_png(request.url))
        elif f"{url.scheme}://{url.netloc}" == ORIGIN:
            self._site(route, request, url.path)
        else:
            route.abort()

    # -- Cognito's JSON API
    def _cognito(self, route: Any, request: Any) -> None:
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=CORS)
            return
        target = str(request.headers.get("x-amz-target", ""))
        body = json.loads(request.post_data or "{}")
        self.calls.append(("COGNITO", target, body))
        self.cognito_headers.append(dict(request.headers))
        action = target.rsplit(".", 1)[-1]
        auth = {"AccessToken": self.token, "ExpiresIn": 3600, "TokenType": "Bearer", "RefreshToken": "refresh-1"}
        if action == "InitiateAuth":
            params = body.get("AuthParameters", {})
            refresh = body.get("AuthFlow") == "REFRESH_TOKEN_AUTH" and params.get("REFRESH_TOKEN") == "refresh-1"
            if refresh and self.refresh_works:
                self._json(route, 200, {"AuthenticationResult": {**auth, "RefreshToken": None}}, CORS)
            elif self.new_password is None and params.get("PASSWORD") == self.password:
                self._json(route, 200, {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "session-1"}, CORS)
            elif self.new_password is not None and params.get("PASSWORD") == self.new_password:
                self._signed_in(route, auth)
            else:
                error = {"__type": "NotAuthorizedException", "message": "Incorrect username or password."}
                self._json(route, 400, error, CORS)
        elif action == "RespondToAuthChallenge" and body.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":
            answer = body.get("ChallengeResponses", {})
            if not self.mfa_session_valid or body.get("Session") != f"mfa-session-{self.mfa_sessions}":
                error = {
                    "__type": "NotAuthorizedException",
                    "message": "Invalid session for the user, session is expired.",
                }
                self._json(route, 400, error, CORS)
            elif answer.get("SOFTWARE_TOKEN_MFA_CODE") != self.mfa_code or answer.get("USERNAME") != "alice":
                error = {"__type": "CodeMismatchException", "message": "Invalid code received for user"}
                self._json(route, 400, error, CORS)
            else:
                self._json(route, 200, {"AuthenticationResult": auth}, CORS)
        elif action == "RespondToAuthChallenge":
            self.new_password = body["ChallengeResponses"]["NEW_PASSWORD"]
            self._signed_in(route, auth)
        elif action == "GlobalSignOut":
            self._json(route, 200, {}, CORS)
        else:
            self._json(route, 400, {"__type": "InvalidParameterException", "message": action}, CORS)

    # -- the review API and the page
    def _site(self, route: Any, request: Any, path: str) -> None:
        if path == "/":
            headers = review_page.response_headers(review_page.HTML, CSP)
            route.fulfill(status=200, headers=headers, body=review_page.page_html())
            return
        if path.startswith("/assets/"):
            found = review_page.asset(path[len("/assets/") :])
            if found is None:
                route.fulfill(status=404, body="")
            else:
                route.fulfill(status=200, headers=review_page.response_headers(found[1]), body=found[0])
            return
        body = json.loads(request.post_data) if request.post_data else None
        self.calls.append((request.method, path, body))
        if path == "/api/config":
            config = {"region": "us-east-1", "userPoolId": "us-east-1_Pool", "clientId": "client-1"}
            self._json(route, 200, {**config, "cognitoEndpoint": COGNITO})
            return
        self.api_auth.append(request.headers.get("authorization"))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            self._json(route, 401, {"message": "Unauthorized"})
        elif path == "/api/jobs":
            job = {"job": JOB, "run_id": "20261129-abc", "screens": 40, "done": 12, "open": 28, "expired": 0}
            self._json(route, 200, [{**job, "available_until": iso(86400)}])
        elif path == f"/api/jobs/{JOB}/next":
            if self.screens:
                self._json(route, 200, self.screens.pop(0))
            else:
                route.fulfill(status=204, body="")
        elif re.fullmatch(r"/api/tasks/[^/]+/answer", path):
            status = self.answer_status.pop(0) if self.answer_status else 200
            self._json(route, status, {"replay": False} if status == 200 else {"message": "lease lost"})
        elif re.fullmatch(r"/api/tasks/[^/]+/heartbeat", path):
            status = self.heartbeat_status.pop(0) if self.heartbeat_status else 200
            self._json(route, status, {"lease_expires_at": iso(600)} if status == 200 else {"message": "lost"})
        elif re.fullmatch(r"/api/tasks/[^/]+/release", path):
            self._json(route, 200, {})
        else:
            self._json(route, 404, {"message": "no such route"})

    @staticmethod
    def _json(route: Any, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body), headers=headers)

    def api_calls(self, suffix: str) -> list[Any]:
        return [body for method, path, body in self.calls if method == "POST" and path.endswith(suffix)]


class Site:
    """One browser page on the fake site, with what went wrong in its console and any dialog.

    The page's CSP forbids eval: Playwright's wait_for_function must be given a function ("() => ..."),
    never a bare expression, which it would evaluate with eval inside the page."""

    def __init__(self, browser: Any, backend: FakeBackend, width: int = 1440, height: int = 900) -> None:
        self.backend = backend
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.csp_violations: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", backend.route)
        self.response = self.page.goto(ORIGIN + "/", wait_until="load")

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)
        elif "Failed to load resource" not in message.text:  # 4xx answers the page handles (409, 401, 400)
            self.errors.append(message.text)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def status(self) -> str:
        return " ".join(self.page.locator("#status").inner_text().split())

    def wait_status(self, text: str) -> None:
        self.page.wait_for_function(
            "t => document.getElementById('status').textContent.includes(t)", arg=text, timeout=5000
        )

    def sign_in(self, first_time: bool = True) -> None:
        page = self.page
        page.wait_for_selector("#signin-username:focus")
        page.keyboard.type("alice")
        page.fill("#signin-password", self.backend.password if first_time else str(self.backend.new_password))
        page.keyboard.press("Enter")
        if first_time:
            page.wait_for_selector("#newpw-password:focus")
            page.keyboard.type("My-New-Passw0rd!")
            page.fill("#newpw-confirm", "My-New-Passw0rd!")
            page.click("#newpw-submit")
        page.wait_for_selector(".app-job button[data-job]")

    def start(self) -> None:
        self.page.click(".app-job button[data-job]")
        self.wait_grid()

    def wait_grid(self) -> None:
        self.page.wait_for_selector("#bq [data-tile]")
        self.page.wait_for_function(
            "() => Array.from(document.querySelectorAll('#bq img[data-zoom]'))"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )

    def counter(self, expect: str) -> str:
        self.page.wait_for_function(
            "t => document.querySelector('[data-qa-count]').textContent.trim() === t", arg=expect, timeout=2000
        )
        return " ".join(self.page.locator("[data-qa-count]").inner_text().split())

    def active_name(self) -> Any:
        return self.page.evaluate("document.activeElement.getAttribute('name')")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend([screen(1)])


@pytest.fixture
def site(browser: Any, backend: FakeBackend) -> Iterator[Site]:
    s = Site(browser, backend)
    yield s
    s.close()


# --- tests -------------------------------------------------------------------------------------------


def test_the_page_is_served_with_its_policy_and_only_its_own_files(site: Site) -> None:
    assert site.response is not None
    headers = site.response.headers
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    site.page.wait_for_selector("#signin-username:focus")
    assert site.errors == [] and site.csp_violations == []  # the page's own files obey it
    scripts = site.page.eval_on_selector_all("script", "els => els.map(e => e.getAttribute('src'))")
    assert scripts == ["assets/grid.js", "assets/app.js"]
    assert site.backend.calls[0][:2] == ("GET", "/api/config")
    # The browser enforces the policy: an inline script (as an injection would add) does not run.
    site.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';"
        " document.head.appendChild(s); }"
    )
    site.page.wait_for_timeout(100)
    assert site.page.evaluate("window.__inline") is None
    assert site.csp_violations and "script-src 'self'" in site.csp_violations[0]


def test_sign_in_with_a_new_password_then_review_by_keyboard_and_submit(site: Site, backend: FakeBackend) -> None:
    page = site.page
    site.sign_in()

    # Cognito's JSON API, as the SDKs call it
    initiate, respond = [c for c in backend.calls if c[0] == "COGNITO"][:2]
    assert initiate[1] == "AWSCognitoIdentityProviderService.InitiateAuth"
    assert initiate[2] == {
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": "client-1",
        "AuthParameters": {"USERNAME": "alice", "PASSWORD": backend.password},
    }
    assert respond[1] == "AWSCognitoIdentityProviderService.RespondToAuthChallenge"
    assert respond[2] == {
        "ChallengeName": "NEW_PASSWORD_REQUIRED",
        "ClientId": "client-1",
        "Session": "session-1",
        "ChallengeResponses": {"USERNAME": "alice", "NEW_PASSWORD": "My-New-Passw0rd!"},
    }
    assert backend.cognito_headers[0]["content-type"] == "application/x-amz-json-1.1"
    assert backend.api_auth == ["Bearer access-token-1"]  # GET /api/jobs
    assert page.context.cookies() == []  # the token is never a cookie
    assert page.locator("#user-name").inner_text() == "alice"
    assert page.locator(".app-job-name").inner_text() == JOB

    site.start()
    task = screen(1)
    ids = [i["id"] for i in task["images"]]
    assert page.locator("#bq [data-tile]").count() == 25
    assert page.locator("#bq input[type=checkbox]:checked").count() == 25
    assert site.counter("0 of 25 marked wrong") == "0 of 25 marked wrong"
    srcs = page.eval_on_selector_all("#bq img[data-zoom]", "els => els.map(e => e.getAttribute('src'))")
    assert srcs == [i["url"] for i in task["images"]]  # the presigned URLs, as given

    # Keyboard only: the heading has focus, Tab reaches each box, Space unchecks.
    page.keyboard.press("Tab")
    assert site.active_name() == f"image-{ids[0]}"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert site.active_name() == f"image-{ids[2]}"
    page.keyboard.press("Space")
    assert site.counter("2 of 25 marked wrong") == "2 of 25 marked wrong"
    assert page.locator("#bq .bq-tile.is-wrong").count() == 2
    tile = page.locator("#bq [data-tile]").nth(2)
    assert tile.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # the focus ring

    page.keyboard.press("z")  # enlarge the focused tile, then Esc back to its box
    assert page.locator(".bq-lb-pos").inner_text() == "Image 3 of 25"
    assert page.locator(".bq-lb-label b").inner_text() == HOSTILE
    page.keyboard.press("ArrowRight")
    assert page.locator(".bq-lb-pos").inner_text() == "Image 4 of 25"
    page.keyboard.press("Escape")
    assert page.locator(".bq-lb").is_hidden()
    assert site.active_name() == f"image-{ids[3]}"

    _screenshot(site, "review-grid.png")
    page.click("#review-submit")
    site.wait_status("Nothing left for you in this job")

    (answer,) = backend.api_calls("/answer")
    assert answer == {
        "lease_id": "lease-1",
        "answers": {f"image-{i}": {"correct": i not in (ids[0], ids[2])} for i in ids},
    }
    assert [p for m, p, _ in backend.calls if m == "POST"] == [
        f"/api/jobs/{JOB}/next",
        f"/api/tasks/{JOB}.1.0/answer",
        f"/api/jobs/{JOB}/next",
    ]
    assert page.locator("#view-jobs").is_visible()
    _screenshot(site, "review-done.png")
    assert site.errors == [] and site.dialogs == [] and site.csp_violations == []


def test_a_hostile_label_is_shown_literally_and_never_runs(site: Site) -> None:
    site.sign_in()
    site.start()
    page = site.page
    page.wait_for_timeout(200)
    assert page.locator("[data-qa-label]").inner_text() == HOSTILE
    assert page.locator("[data-qa-label] *").count() == 0
    assert page.locator("#bq img").count() == 25  # no injected <img>
    page.locator("#bq img[data-zoom]").first.click()
    assert page.locator(".bq-lb-label b").inner_text() == HOSTILE
    page.keyboard.press("Escape")
    assert site.dialogs == []
    assert site.errors == []


def test_a_lost_lease_says_so_and_loads_the_next_screen(browser: Any) -> None:
    backend = FakeBackend([screen(1, label="Sea Turtle"), screen(2, count=3, label="Tortoise")], answer_status=[409])
    site = Site(browser, backend)
    try:
        site.sign_in()
        site.start()
        site.page.click("#review-submit")
        site.wait_status("this screen was given to someone else; loading the next".capitalize())
        site.page.wait_for_function("() => document.querySelector('[data-qa-label]').textContent === 'Tortoise'")
        site.wait_grid()
        # the second screen's grid: one enlarged view on the page, one counter step per click
        page = site.page
        assert page.locator(".bq-lb").count() == 1
        assert page.locator("#bq [data-tile]").count() == 3
        page.locator("#bq input[type=checkbox]").nth(1).click()
        assert site.counter("1 of 3 marked wrong") == "1 of 3 marked wrong"
        page.locator("#bq img[data-zoom]").nth(2).click()
        assert page.locator(".bq-lb-pos").inner_text() == "Image 3 of 3"
        page.keyboard.press("ArrowRight")
        assert page.locator(".bq-lb-pos").inner_text() == "Image 1 of 3"
        page.locator(".bq-lb-toggle").click()
        assert site.counter("2 of 3 marked wrong") == "2 of 3 marked wrong"
        page.keyboard.press("Escape")
        page.click("#review-submit")
        site.wait_status("Nothing left for you in this job")
        answers = backend.api_calls("/answer")
        assert len(answers) == 2
        ids = [i["id"] for i in screen(2, count=3)["images"]]
        assert answers[1] == {
            "lease_id": "lease-2",
            "answers": {
                f"image-{ids[0]}": {"correct": False},
                f"image-{ids[1]}": {"correct": False},
                f"image-{ids[2]}": {"correct": True},
            },
        }
        assert site.errors == []
    finally:
        site.close()


def test_heartbeat_every_third_of_the_lease_and_skip_releases(browser: Any) -> None:
    backend = FakeBackend([screen(1, lease_seconds=30)])
    site = Site(browser, backend)
    try:
        site.page.clock.install()
        site.sign_in()
        site.start()
        assert backend.api_calls("/heartbeat") == []
        site.page.clock.run_for(11_000)  # a third of 30 s, plus one
        site.page.wait_for_timeout(100)
        assert backend.api_calls("/heartbeat") == [{"lease_id": "lease-1"}]
        site.page.click("#review-skip")
        site.wait_status("Screen skipped")
        assert backend.api_calls("/release") == [{"lease_id": "lease-1"}]
        assert site.page.locator("#view-jobs").is_visible()
        assert site.page.locator("#bq").count() == 0
        assert site.errors == []
    finally:
        site.close()


def test_wrong_password_and_sign_out(site: Site, backend: FakeBackend) -> None:
    page = site.page
    page.wait_for_selector("#signin-username:focus")
    page.fill("#signin-username", "alice")
    page.fill("#signin-password", "nope")
    page.click("#signin-submit")
    page.wait_for_selector("#signin-error:visible")
    assert page.locator("#signin-error").inner_text() == "Incorrect user name or password. Check both and try again."
    _screenshot(site, "review-signin.png")
    page.fill("#signin-username", "")
    site.sign_in()
    assert page.evaluate("Object.keys(sessionStorage)") == ["bulkqa.review.session"]
    page.click("#sign-out")
    page.wait_for_selector("#signin-username:visible")
    site.wait_status("You are signed out")
    assert page.evaluate("Object.keys(sessionStorage)") == []
    assert [c[1] for c in backend.calls if c[0] == "COGNITO"][-1] == "AWSCognitoIdentityProviderService.GlobalSignOut"
    assert site.errors == []


def test_a_reload_keeps_the_session_of_this_tab(site: Site, backend: FakeBackend) -> None:
    site.sign_in()
    site.page.reload(wait_until="load")
    site.page.wait_for_selector(".app-job button[data-job]")
    assert site.page.locator("#user-name").inner_text() == "alice"
    assert site.errors == []


def _screenshot(site: Site, name: str) -> None:
    page = site.page
    page.mouse.move(0, 0)
    page.wait_for_timeout(250)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_an_expired_access_token_is_refreshed_once_then_the_call_repeated(site: Site, backend: FakeBackend) -> None:
    site.sign_in()
    backend.token = "access-token-2"  # the API now refuses the first token
    site.page.click("#jobs-refresh")
    site.page.wait_for_function("() => document.querySelectorAll('.app-job').length === 1")
    site.page.wait_for_timeout(100)
    refresh = [
        c[2] for c in backend.calls if c[1].endswith("InitiateAuth") and c[2]["AuthFlow"] == "REFRESH_TOKEN_AUTH"
    ]
    assert refresh == [
        {"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": "client-1", "AuthParameters": {"REFRESH_TOKEN": "refresh-1"}}
    ]
    assert backend.api_auth[-2:] == ["Bearer access-token-1", "Bearer access-token-2"]
    backend.token, backend.refresh_works = "access-token-3", False  # refused again, and no refresh: sign in
    site.page.click("#jobs-refresh")
    site.page.wait_for_selector("#signin-error:visible")
    assert site.page.locator("#signin-error").inner_text() == "Your session has ended: sign in again."
    assert site.page.evaluate("Object.keys(sessionStorage)") == []
    assert site.errors == []


# --- SOFTWARE_TOKEN_MFA: the code of the reviewer's authenticator app ---------------------------------


def _cognito_calls(backend: FakeBackend) -> list[tuple[str, Any]]:
    return [(target.rsplit(".", 1)[-1], body) for method, target, body in backend.calls if method == "COGNITO"]


def _mfa_answer(session: str, code: str) -> dict[str, Any]:
    """The exact RespondToAuthChallenge body the page sends for a code."""
    return {
        "ChallengeName": "SOFTWARE_TOKEN_MFA",
        "ClientId": "client-1",
        "Session": session,
        "ChallengeResponses": {"USERNAME": "alice", "SOFTWARE_TOKEN_MFA_CODE": code},
    }


def _password(site: Site, password: str) -> None:
    page = site.page
    page.wait_for_selector("#signin-username:focus")
    page.fill("#signin-username", "alice")
    page.fill("#signin-password", password)
    page.keyboard.press("Enter")


def _code_error(site: Site) -> str:
    site.page.wait_for_selector("#mfa-error:visible")
    return " ".join(site.page.locator("#mfa-error").inner_text().split())


def test_a_totp_code_is_asked_after_the_password_a_wrong_one_then_the_right_one(browser: Any) -> None:
    backend = FakeBackend([screen(1)], new_password="My-New-Passw0rd!", mfa_code="123456")
    site = Site(browser, backend)
    try:
        page = site.page
        _password(site, "My-New-Passw0rd!")
        page.wait_for_selector("#mfa-code:focus")  # the code form, its input focused
        assert page.locator("#view-signin").is_hidden() and page.locator("#view-newpw").is_hidden()
        assert page.locator("#mfa-title").inner_text() == "Enter your sign-in code"
        assert "Enter the 6-digit code from your authenticator app for alice." in page.locator("#view-mfa").inner_text()
        code = page.locator("#mfa-code")
        assert code.get_attribute("autocomplete") == "one-time-code"
        assert code.get_attribute("inputmode") == "numeric"
        assert code.get_attribute("pattern") == "[0-9]{6}"
        assert page.locator("#mfa-error").get_attribute("role") == "alert"
        assert page.locator("#mfa-error").get_attribute("aria-live") == "assertive"
        assert page.locator("#user").is_hidden()  # not signed in yet
        assert page.evaluate("Object.keys(sessionStorage)") == []
        _screenshot(site, "review-mfa.png")

        # not 6 digits: said on the page, nothing sent
        page.keyboard.type("12345")
        page.keyboard.press("Enter")
        assert _code_error(site) == "Enter the 6 digits your authenticator app shows, without spaces."
        assert [a for a, _ in _cognito_calls(backend)] == ["InitiateAuth"]

        # a wrong code: said, the field emptied and focused, the same challenge answered again
        page.fill("#mfa-code", "000000")
        page.click("#mfa-submit")
        page.wait_for_function("() => document.getElementById('mfa-error').textContent.includes('not right')")
        assert _code_error(site) == "That code is not right. Enter the code your authenticator app shows now."
        page.wait_for_selector("#mfa-code:focus")
        assert code.input_value() == ""
        assert page.locator("#mfa-submit").is_enabled()
        _screenshot(site, "review-mfa-wrong.png")

        page.keyboard.type("123 456")  # as some apps show it: the space is dropped
        page.keyboard.press("Enter")
        page.wait_for_selector(".app-job button[data-job]")
        assert _cognito_calls(backend) == [
            (
                "InitiateAuth",
                {
                    "AuthFlow": "USER_PASSWORD_AUTH",
                    "ClientId": "client-1",
                    "AuthParameters": {"USERNAME": "alice", "PASSWORD": "My-New-Passw0rd!"},
                },
            ),
            ("RespondToAuthChallenge", _mfa_answer("mfa-session-1", "000000")),
            ("RespondToAuthChallenge", _mfa_answer("mfa-session-1", "123456")),
        ]
        # then exactly as a password sign-in: the session of this tab, the job list, the user shown
        assert page.locator("#user-name").inner_text() == "alice"
        assert page.evaluate("Object.keys(sessionStorage)") == ["bulkqa.review.session"]
        assert backend.api_auth == ["Bearer access-token-1"]
        assert page.locator("#view-mfa").is_hidden() and page.locator("#mfa-error").is_hidden()
        assert page.locator("#mfa-code").input_value() == ""
        site.start()  # and reviewing works
        assert page.locator("#bq [data-tile]").count() == 25
        assert site.errors == [] and site.dialogs == [] and site.csp_violations == []
    finally:
        site.close()


def test_a_new_password_then_the_totp_code(browser: Any) -> None:
    backend = FakeBackend([screen(1)], mfa_code="654321")
    site = Site(browser, backend)
    try:
        page = site.page
        _password(site, backend.password)
        page.wait_for_selector("#newpw-password:focus")
        page.keyboard.type("My-New-Passw0rd!")
        page.fill("#newpw-confirm", "My-New-Passw0rd!")
        page.click("#newpw-submit")
        page.wait_for_selector("#mfa-code:focus")
        assert page.locator("#view-newpw").is_hidden()
        page.keyboard.type("654321")
        page.keyboard.press("Enter")
        page.wait_for_selector(".app-job button[data-job]")
        assert [(a, b.get("ChallengeName")) for a, b in _cognito_calls(backend)] == [
            ("InitiateAuth", None),
            ("RespondToAuthChallenge", "NEW_PASSWORD_REQUIRED"),
            ("RespondToAuthChallenge", "SOFTWARE_TOKEN_MFA"),
        ]
        assert _cognito_calls(backend)[-1][1] == _mfa_answer("mfa-session-1", "654321")
        assert page.locator("#user-name").inner_text() == "alice"
        assert site.errors == [] and site.csp_violations == []
    finally:
        site.close()


def test_an_expired_sign_in_session_goes_back_to_sign_in_and_back_to_sign_in_cancels(browser: Any) -> None:
    backend = FakeBackend([screen(1)], new_password="My-New-Passw0rd!", mfa_code="123456")
    site = Site(browser, backend)
    try:
        page = site.page
        _password(site, "My-New-Passw0rd!")
        page.wait_for_selector("#mfa-code:focus")
        backend.mfa_session_valid = False  # Cognito's session of the challenge ran out (3 minutes)
        page.keyboard.type("123456")
        page.keyboard.press("Enter")
        page.wait_for_selector("#signin-username:focus")
        assert page.locator("#signin-error").inner_text() == (
            "Your sign-in expired before a code was accepted: sign in again with your password,"
            " then enter the code your app shows."
        )
        assert page.locator("#view-mfa").is_hidden()
        assert page.evaluate("Object.keys(sessionStorage)") == []

        # a new sign-in gets a new challenge, and its Session is the one answered
        _password(site, "My-New-Passw0rd!")
        page.wait_for_selector("#mfa-code:focus")
        assert page.locator("#mfa-error").is_hidden()  # nothing left over from before
        page.click("#mfa-cancel")  # Back to sign-in: nothing sent
        page.wait_for_selector("#signin-username:focus")
        assert page.locator("#signin-error").is_hidden()
        _password(site, "My-New-Passw0rd!")
        page.wait_for_selector("#mfa-code:focus")
        page.keyboard.type("123456")
        page.keyboard.press("Enter")
        page.wait_for_selector(".app-job button[data-job]")
        assert [(a, b.get("Session")) for a, b in _cognito_calls(backend)] == [
            ("InitiateAuth", None),
            ("RespondToAuthChallenge", "mfa-session-1"),
            ("InitiateAuth", None),
            ("InitiateAuth", None),
            ("RespondToAuthChallenge", "mfa-session-3"),
        ]
        assert site.errors == [] and site.csp_violations == []
    finally:
        site.close()
