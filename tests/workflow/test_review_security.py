"""Issue #13, security: through the local server (API Gateway's JWT authorizer, the review API function, the
local Cognito), a reviewer cannot act on another reviewer's task (IDOR), cannot use an ID token, an expired,
tampered or missing token, cannot reach the admin routes; an account in no group reaches no route. Every
such attempt gets its status and leaves the review, labels and runs tables exactly as they were.
Also: a task's presigned image URL stops working once the lease has expired, and the function's every
response carries the page's Content-Security-Policy."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from bulkqa_local.review_client import Response, Task
from tests.support.review_stack import Stack, sample_csv, self_hosted_stack

pytestmark = pytest.mark.slow

SCREENS = 6
LEASE_SECONDS = 600
MADE_UP_LEASE = "0123456789abcdef0123456789abcdef"


def _call(url: str, method: str, body: object = None, token: str | None = None) -> Response:
    """A request with exactly this Authorization (none when ``token`` is None)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # loopback
            status, raw, found = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, found = exc.code, exc.read(), dict(exc.headers)
    text = raw.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = text
    return Response(status, parsed, found)


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def _forge(claims: dict[str, Any]) -> str:
    """A token signed with the local Cognito's own key (moto's), as Cognito would sign it."""
    from joserfc import jwk, jwt
    from moto.utilities.utils import load_resource

    key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    return jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, key)


def _csp(response: Response) -> str:
    return next((v for k, v in response.headers.items() if k.lower() == "content-security-policy"), "")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with self_hosted_stack(
        2, BatchSize=1, WorkersPerObject=2, TaskTimeLimitSeconds=LEASE_SECONDS, CompletionCheckSeconds=3600
    ) as running:
        running.cloud.upload("incoming/security.csv", sample_csv(SCREENS))
        yield running


def test_attempts_on_others_tasks_tokens_and_admin_routes_change_nothing(stack: Stack) -> None:
    alice, bob = (stack.sign_in(account) for account in stack.reviewers)
    nobody = stack.sign_in(stack.user("nobody@example.com", ()))  # signed in, in no group
    job = stack.wait_for_job(alice)
    held = alice.next(job)
    assert held is not None
    mine = bob.next(job)  # bob holds a task too: never alice's screen
    assert mine is not None
    assert mine["task_id"].rsplit(".", 1)[0] != held["task_id"].rsplit(".", 1)[0]
    task, lease = quote(held["task_id"], safe=""), held["lease_id"]
    answers = {f"image-{image['id']}": {"correct": True} for image in held["images"]}
    base = stack.server.url
    access = alice.access_token
    claims = _claims(access)
    now = int(time.time())
    expired = _forge({**claims, "iat": now - 7200, "auth_time": now - 7200, "exp": now - 3600})
    head, payload, signature = access.split(".")
    flipped = ("A" if signature[10] != "A" else "B").join((signature[:10], signature[11:]))
    as_bob = base64.urlsafe_b64encode(json.dumps({**claims, "sub": _claims(bob.access_token)["sub"]}).encode())
    assert _forge(claims) and _call(base + "api/jobs", "GET", token=_forge(claims)).status == 200  # the key is right

    def answer(lease_id: str) -> dict[str, object]:
        return {"lease_id": lease_id, "answers": answers}

    attempts: list[tuple[str, int, Response]] = []

    def attempt(name: str, expected: int, response: Response) -> None:
        attempts.append((name, expected, response))

    before = stack.tables()
    # IDOR: bob on alice's task, with her lease id, a made-up one, his own
    for lease_id, which in ((lease, "alice's lease"), (MADE_UP_LEASE, "a made-up lease"), (mine["lease_id"], "his")):
        attempt(f"bob answers with {which}", 409, bob.call("POST", f"api/tasks/{task}/answer", answer(lease_id)))
        attempt(
            f"bob heartbeats with {which}", 409, bob.call("POST", f"api/tasks/{task}/heartbeat", {"lease_id": lease_id})
        )
        attempt(
            f"bob releases with {which}", 409, bob.call("POST", f"api/tasks/{task}/release", {"lease_id": lease_id})
        )
    # tokens API Gateway's authorizer refuses: the function never runs
    for name, token in (
        ("an ID token", alice.id_token),
        ("an expired access token", expired),
        ("a token with a flipped signature", f"{head}.{payload}.{flipped}"),
        ("a token whose sub was changed", f"{head}.{as_bob.decode().rstrip('=')}.{signature}"),
        ("no token", None),
    ):
        attempt(f"{name}: answer", 401, _call(f"{base}api/tasks/{task}/answer", "POST", answer(lease), token))
        attempt(f"{name}: next", 401, _call(f"{base}api/jobs/{quote(job)}/next", "POST", {}, token))
        attempt(f"{name}: stop", 401, _call(f"{base}api/jobs/{quote(job)}/stop", "POST", {}, token))
    # admin routes: a reviewer is refused
    attempt("a reviewer reads the job's reviewers", 403, alice.call("GET", f"api/jobs/{quote(job)}"))
    attempt("a reviewer stops the job", 403, alice.call("POST", f"api/jobs/{quote(job)}/stop", {}))
    # an account in no group: every route that needs a token is refused
    attempt("no group: jobs", 403, nobody.call("GET", "api/jobs"))
    attempt("no group: next", 403, nobody.call("POST", f"api/jobs/{quote(job)}/next", {}))
    attempt("no group: answer", 403, nobody.call("POST", f"api/tasks/{task}/answer", answer(lease)))
    attempt("no group: heartbeat", 403, nobody.call("POST", f"api/tasks/{task}/heartbeat", {"lease_id": lease}))
    attempt("no group: release", 403, nobody.call("POST", f"api/tasks/{task}/release", {"lease_id": lease}))
    attempt("no group: job detail", 403, nobody.call("GET", f"api/jobs/{quote(job)}"))
    attempt("no group: stop", 403, nobody.call("POST", f"api/jobs/{quote(job)}/stop", {}))
    after = stack.tables()

    wrong = [(name, expected, r.status, r.body) for name, expected, r in attempts if r.status != expected]
    assert wrong == [], wrong
    for name in before:
        assert after[name] == before[name], f"{name} changed"
    # the function's own answers (not API Gateway's 401s) carry the page's policy
    assert all(_csp(r) for _, expected, r in attempts if expected != 401), [
        name for name, expected, r in attempts if expected != 401 and not _csp(r)
    ]
    # alice's lease survived all of it
    assert alice.answer(held["task_id"], lease, answers) == {"replay": False}
    assert bob.answer(
        mine["task_id"], mine["lease_id"], {f"image-{i['id']}": {"correct": True} for i in mine["images"]}
    )


def test_every_response_carries_the_pages_csp(stack: Stack) -> None:
    carol = stack.sign_in(stack.user("carol@example.com", ("reviewers",)))
    admin = stack.sign_in(stack.admin)
    job = stack.wait_for_job(carol)
    base = stack.server.url
    responses = {
        "GET /": _call(base, "GET"),
        "GET /assets/app.js": _call(base + "assets/app.js", "GET"),
        "GET /assets/missing.js": _call(base + "assets/missing.js", "GET"),
        "GET /api/config": _call(base + "api/config", "GET"),
        "GET /api/jobs": carol.call("GET", "api/jobs"),
        "POST next": carol.call("POST", f"api/jobs/{quote(job)}/next", {}),
        "POST answer (malformed)": carol.call("POST", f"api/tasks/{quote(job)}.0.0/answer", {"lease_id": "x"}),
        "POST unknown job": carol.call("POST", "api/jobs/bulkqa-nope-p00/next", {}),
        "GET job detail (admin)": admin.call("GET", f"api/jobs/{quote(job)}"),
    }
    page = responses["GET /"]
    assert page.status == 200 and _csp(page)
    missing = {name: r.status for name, r in responses.items() if not _csp(r)}
    assert missing == {}
    assert {_csp(r).split(";")[0] for r in responses.values()} == {_csp(page).split(";")[0]}


def test_image_urls_stop_working_when_the_lease_expires(stack: Stack) -> None:
    dave = stack.sign_in(stack.user("dave@example.com", ("reviewers",)))
    job = stack.wait_for_job(dave)
    task: Task | None = dave.next(job)
    assert task is not None
    url = task["images"][0]["url"]
    assert url.startswith(stack.server.origin + "/_local/s3/")
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback
        assert response.status == 200
    stack.server.advance(LEASE_SECONDS + 1)  # past the lease's expiry
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)  # loopback
    assert refused.value.code == 403
    assert b"expired" in refused.value.read()
