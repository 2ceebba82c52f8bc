"""The review API function (functions/review_api/app.py, bulkqa.review.api) on API Gateway HTTP API events.

The events are payload format 2.0 as API Gateway sends them behind the template's routes: ``GET /``,
``GET /assets/{file}`` and ``GET /api/config`` without an authorizer, ``ANY /api/{proxy+}`` behind the JWT
authorizer, whose claims arrive in ``requestContext.authorizer.jwt.claims`` with every value a string
(``cognito:groups`` too: ``"[reviewers admins]"``) and its scopes in ``...jwt.scopes``.

Most tests route through ``api.handle`` with a recording fake service and signer: each route's success and
error codes. The last ones run the real handler, ``ReviewService`` and presigner on moto and compare the
review table before and after refused requests.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from moto import mock_aws

from bulkqa import aws, deps, settings
from bulkqa.errors import LeaseConflict, MalformedAnswer, UnknownJob, UnknownTask
from bulkqa.review import api, clock, presign
from bulkqa.review.service import Image, JobDetail, JobProgress, Lease, ReviewerProgress
from tests.support.review_queue_world import Clock, ReviewWorld

REGION = "us-east-1"
POOL = "us-east-1_Example1"
CLIENT = "5exampleclientid0000000000"
ENV = {
    "BUCKET_NAME": "stack-bucket",
    "LABELS_TABLE_NAME": "labels",
    "RUNS_TABLE_NAME": "runs",
    "REVIEW_TABLE_NAME": "review",
    "USER_POOL_ID": POOL,
    "USER_POOL_CLIENT_ID": CLIENT,
    "COGNITO_ENDPOINT": f"https://cognito-idp.{REGION}.amazonaws.com/",
    "IMAGE_BUCKET_NAME": "",
    "WORKERS_PER_OBJECT": "2",
    "TASK_TIME_LIMIT_SECONDS": "600",
    "TASK_AVAILABILITY_SECONDS": "864000",
    "REVIEW_BACKEND": "SelfHosted",
    "AWS_REGION": REGION,
}
NOW = 1_800_000_000.0
JOB = "bulkqa-sample-84f010a70d-p00"
TASK = f"{JOB}.3.1"
REVIEWER = str(uuid.UUID(int=1))
ADMIN = str(uuid.UUID(int=2))
API_ROUTE = "ANY /api/{proxy+}"


# --- events as API Gateway sends them -------------------------------------------------------------------


def access_claims(sub: str = REVIEWER, groups: str | list[str] | None = "[reviewers]") -> dict[str, Any]:
    """The claims of a Cognito access token as the JWT authorizer passes them (every value a string)."""
    claims: dict[str, Any] = {
        "auth_time": "1799999000",
        "client_id": CLIENT,
        "event_id": str(uuid.uuid4()),
        "exp": str(int(NOW) + 3600),
        "iat": str(int(NOW) - 60),
        "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}",
        "jti": str(uuid.uuid4()),
        "origin_jti": str(uuid.uuid4()),
        "scope": "aws.cognito.signin.user.admin",
        "sub": sub,
        "token_use": "access",
        "username": f"user-{sub[-4:]}",
    }
    if groups is not None:
        claims["cognito:groups"] = groups
    return claims


def id_claims(sub: str = REVIEWER) -> dict[str, Any]:
    """An ID token's claims: same issuer and signature, ``aud`` instead of ``client_id``, token_use id."""
    return {
        "aud": CLIENT,
        "auth_time": "1799999000",
        "cognito:groups": "[reviewers admins]",
        "cognito:username": "someone",
        "email": "someone@example.com",
        "event_id": str(uuid.uuid4()),
        "exp": str(int(NOW) + 3600),
        "iat": str(int(NOW) - 60),
        "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}",
        "jti": str(uuid.uuid4()),
        "origin_jti": str(uuid.uuid4()),
        "sub": sub,
        "token_use": "id",
    }


def http_event(
    method: str,
    path: str,
    *,
    claims: dict[str, Any] | None = None,
    body: object = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A payload format 2.0 event of the review API's ``$default`` stage for ``method path``."""
    if path == "/":
        route_key, params = "GET /", None
    elif path.startswith("/assets/"):
        route_key, params = "GET /assets/{file}", {"file": path.removeprefix("/assets/")}
    elif path == "/api/config" and method == "GET":
        route_key, params = "GET /api/config", None
    else:
        route_key, params = API_ROUTE, {"proxy": path.removeprefix("/api/")}
    headers = {
        "accept": "application/json",
        "accept-encoding": "gzip, deflate, br",
        "content-length": "0",
        "host": "abc123defg.execute-api.us-east-1.amazonaws.com",
        "user-agent": "Mozilla/5.0",
        "x-amzn-trace-id": "Root=1-67e0e0e0-0123456789abcdef01234567",
        "x-forwarded-for": "198.51.100.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if claims is not None:
        headers["authorization"] = "Bearer eyJraWQiOi.eyJzdWIiOi.c2lnbmF0dXJl"
    raw: bytes | None  # the body as the client sent it
    if body is None or isinstance(body, bytes):
        raw = body
    else:
        raw = (body if isinstance(body, str) else json.dumps(body)).encode()
    text: str | None = None
    if raw is not None:
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(raw))
        base64_body = base64_body or isinstance(body, bytes)  # API Gateway base64-encodes binary bodies
        text = base64.b64encode(raw).decode() if base64_body else raw.decode()
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abc123defg",
        "domainName": "abc123defg.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abc123defg",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "198.51.100.7",
            "userAgent": "Mozilla/5.0",
        },
        "requestId": "NlNs0j3NoAMEVkA=",
        "routeKey": route_key,
        "stage": "$default",
        "time": "15/Jan/2027:08:00:00 +0000",
        "timeEpoch": int(NOW * 1000),
    }
    if claims is not None:  # only the JWT routes have an authorizer
        request_context["authorizer"] = {"jwt": {"claims": claims, "scopes": ["aws.cognito.signin.user.admin"]}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": request_context,
        "isBase64Encoded": base64_body,
    }
    if params is not None:
        event["pathParameters"] = params
    if text is not None:
        event["body"] = text
    return event


# --- fakes ----------------------------------------------------------------------------------------------


@dataclass
class FakeService:
    """Records every call; ``fail`` makes the next calls raise it."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    fail: Exception | None = None
    lease: Lease | None = None
    replay: bool = False
    stopped: bool = True

    def _call(self, *args: Any) -> None:
        self.calls.append(args)
        if self.fail is not None:
            raise self.fail

    def open_jobs(self) -> list[JobProgress]:
        self._call("open_jobs")
        return [progress()]

    def next_task(self, job: str, reviewer: str) -> Lease | None:
        self._call("next_task", job, reviewer)
        return self.lease

    def answer(self, task_id: str, reviewer: str, lease_id: str, answers: object) -> bool:
        self._call("answer", task_id, reviewer, lease_id, answers)
        return self.replay

    def heartbeat(self, task_id: str, reviewer: str, lease_id: str) -> float:
        self._call("heartbeat", task_id, reviewer, lease_id)
        return NOW + 600.5

    def release(self, task_id: str, reviewer: str, lease_id: str) -> None:
        self._call("release", task_id, reviewer, lease_id)

    def job_detail(self, job: str) -> JobDetail:
        self._call("job_detail", job)
        return JobDetail(progress(), (ReviewerProgress(REVIEWER, 3, 1), ReviewerProgress(ADMIN, 0, 0)))

    def stop(self, job: str) -> bool:
        self._call("stop", job)
        return self.stopped


@dataclass
class FakeSigner:
    signed: list[tuple[str, int]] = field(default_factory=list)

    def url(self, uri: str, expires_in: int) -> str:
        self.signed.append((uri, expires_in))
        return f"https://signed.example/{uri.removeprefix('s3://')}?expires={expires_in}"


def progress() -> JobProgress:
    return JobProgress(
        job=JOB,
        run_id="sample-84f010a70d",
        screens=10,
        done=4,
        open=6,
        expired=0,
        available_until=NOW + 86_400.9,
        status="InProgress",
    )


def a_lease(seconds_left: float = 600.0) -> Lease:
    images = (
        Image(id="a1", name="cat-1.jpg", uri="s3://stack-bucket/images/cats/cat-1.jpg"),
        Image(id="b2", name="<img src=x onerror=alert(1)>.jpg", uri="s3://photos/x/y.jpg"),
    )
    return Lease(task_id=TASK, lease_id="lease-1", lease_expires_at=NOW + seconds_left, label="cat", images=images)


@dataclass
class Api:
    service: FakeService
    signer: FakeSigner
    backend: api.Backend
    built: list[str]

    def __call__(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return dict(api.handle(http_event(method, path, **kwargs), None, self.backend))  # type: ignore[arg-type]


@pytest.fixture
def call(monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    service, signer, built = FakeService(), FakeSigner(), []

    def make_service() -> FakeService:
        built.append("service")
        return service

    def make_signer() -> FakeSigner:
        built.append("signer")
        return signer

    backend = api.Backend(settings.review_settings(ENV), make_service, make_signer)
    return Api(service, signer, backend, built)


def body_of(response: dict[str, Any]) -> Any:
    text = response["body"]
    if response.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    return json.loads(text) if text else None


def assert_refused(response: dict[str, Any], status: int, error: str) -> None:
    assert response["statusCode"] == status, response
    assert body_of(response)["error"] == error
    assert body_of(response)["message"]
    assert response["headers"]["Cache-Control"] == "no-store"


# --- public routes --------------------------------------------------------------------------------------


def test_the_page_is_html_with_the_security_headers(call: Api) -> None:
    response = call("GET", "/")
    assert response["statusCode"] == 200
    headers = response["headers"]
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"] == api_csp(call)
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] != "no-store"
    page = response["body"] if not response["isBase64Encoded"] else base64.b64decode(response["body"]).decode()
    assert "<html" in page.lower()
    assert call.built == []  # no AWS client for the page


def api_csp(call: Api) -> str:
    """The page's policy for this stack: images from the stack bucket's S3 hosts, sign-in at Cognito."""
    csp = api.content_security_policy(call.backend.settings)
    assert "img-src 'self' https://stack-bucket.s3.us-east-1.amazonaws.com" in csp
    assert f"connect-src 'self' https://cognito-idp.{REGION}.amazonaws.com" in csp
    return csp


@pytest.mark.parametrize("name", ["app.js", "app.css", "grid.js", "grid.css"])
def test_every_asset_is_served_with_its_type(call: Api, name: str) -> None:
    response = call("GET", f"/assets/{name}")
    assert response["statusCode"] == 200, response
    kind = response["headers"]["Content-Type"]
    assert ("javascript" in kind) if name.endswith(".js") else kind.startswith("text/css")
    assert response["headers"]["Content-Security-Policy"] == api_csp(call)
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["nothing.js", "..%2Ftemplate.yaml", "worker_task.liquid.html"])
def test_an_unknown_asset_is_404(call: Api, name: str) -> None:
    response = call("GET", f"/assets/{name}")
    assert response["statusCode"] == 404
    assert body_of(response)["error"] == "NotFound"
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"


def test_config_is_public_and_names_the_user_pool(call: Api) -> None:
    response = call("GET", "/api/config")
    assert response["statusCode"] == 200
    assert body_of(response) == {
        "region": REGION,
        "userPoolId": POOL,
        "clientId": CLIENT,
        "cognitoEndpoint": f"https://cognito-idp.{REGION}.amazonaws.com/",
    }
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["Content-Security-Policy"] == api_csp(call)
    assert call.built == []


def test_an_unknown_route_is_404_json(call: Api) -> None:
    for method, path in [("GET", "/api/nothing"), ("DELETE", f"/api/jobs/{JOB}"), ("GET", "/api/tasks/x/answer")]:
        assert_refused(call(method, path, claims=access_claims()), 404, "NotFound")
    assert call.service.calls == []


# --- who may call ---------------------------------------------------------------------------------------

JWT_ROUTES = [
    ("GET", "/api/jobs", None),
    ("POST", f"/api/jobs/{JOB}/next", None),
    ("POST", f"/api/tasks/{TASK}/answer", {"lease_id": "lease-1", "answers": {"image-a1": {"correct": True}}}),
    ("POST", f"/api/tasks/{TASK}/heartbeat", {"lease_id": "lease-1"}),
    ("POST", f"/api/tasks/{TASK}/release", {"lease_id": "lease-1"}),
    ("GET", f"/api/jobs/{JOB}", None),
    ("POST", f"/api/jobs/{JOB}/stop", None),
]


@pytest.mark.parametrize(("method", "path", "body"), JWT_ROUTES)
def test_without_claims_every_api_route_is_401_and_calls_nothing(
    call: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    event = http_event(method, path, claims=access_claims(), body=body)
    del event["requestContext"]["authorizer"]  # a route deployed without the authorizer, or a direct invoke
    response = dict(api.handle(event, None, call.backend))  # type: ignore[arg-type]
    assert_refused(response, 401, "Unauthorized")
    event["requestContext"]["authorizer"] = {"jwt": {"claims": None, "scopes": None}}
    assert_refused(dict(api.handle(event, None, call.backend)), 401, "Unauthorized")  # type: ignore[arg-type]
    assert call.service.calls == []


@pytest.mark.parametrize(("method", "path", "body"), JWT_ROUTES)
def test_an_id_token_is_401_on_every_api_route(call: Api, method: str, path: str, body: dict[str, Any] | None) -> None:
    response = call(method, path, claims=id_claims(), body=body)
    assert_refused(response, 401, "Unauthorized")
    assert response["headers"]["WWW-Authenticate"].startswith("Bearer")
    assert call.service.calls == []


def test_claims_without_sub_or_token_use_are_401(call: Api) -> None:
    no_sub = access_claims()
    del no_sub["sub"]
    no_use = access_claims()
    del no_use["token_use"]
    for claims in (no_sub, no_use, {**access_claims(), "token_use": "ACCESS"}, {**access_claims(), "sub": ""}):
        assert_refused(call("GET", "/api/jobs", claims=claims), 401, "Unauthorized")
    assert call.service.calls == []


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        ("[reviewers admins]", {"reviewers", "admins"}),
        ("[admins]", {"admins"}),
        ("[]", set()),
        ("", set()),
        (["reviewers", "admins"], {"reviewers", "admins"}),
        ('["reviewers","admins"]', {"reviewers", "admins"}),
        ("reviewers", {"reviewers"}),
        (None, set()),
        (7, set()),
    ],
)
def test_cognito_groups_parse_in_both_forms(value: object, groups: set[str]) -> None:
    assert api.parse_groups(value) == groups


@pytest.mark.parametrize("groups", ["[reviewers]", None, "[]", ["reviewers"], "[reviewers administrators]"])
@pytest.mark.parametrize(("method", "path"), [("GET", f"/api/jobs/{JOB}"), ("POST", f"/api/jobs/{JOB}/stop")])
def test_a_reviewer_on_an_admin_route_is_403(call: Api, method: str, path: str, groups: Any) -> None:
    assert_refused(call(method, path, claims=access_claims(groups=groups)), 403, "Forbidden")
    assert call.service.calls == []


@pytest.mark.parametrize("groups", [None, "[]", "[reviewerz]", ["viewers"]])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/jobs"),
        ("POST", f"/api/jobs/{JOB}/next"),
        ("POST", f"/api/tasks/{JOB}.0.0/answer"),
        ("POST", f"/api/tasks/{JOB}.0.0/heartbeat"),
        ("POST", f"/api/tasks/{JOB}.0.0/release"),
    ],
)
def test_a_user_in_no_reviewer_group_is_403_on_reviewer_routes(call: Api, method: str, path: str, groups: Any) -> None:
    body = {"lease_id": "x", "answers": {}} if method == "POST" else None
    response = call(method, path, claims=access_claims(groups=groups), body=body)
    assert_refused(response, 403, "Forbidden")
    assert "admin-add-user-to-group" in json.loads(response["body"])["message"]
    assert call.service.calls == []


@pytest.mark.parametrize("groups", ["[reviewers]", "[admins]", ["reviewers"]])
def test_reviewers_and_admins_may_review(call: Api, groups: Any) -> None:
    assert call("GET", "/api/jobs", claims=access_claims(groups=groups))["statusCode"] == 200


# --- reviewers ------------------------------------------------------------------------------------------


def test_jobs_lists_the_open_jobs_with_their_progress(call: Api) -> None:
    response = call("GET", "/api/jobs", claims=access_claims())
    assert response["statusCode"] == 200
    assert body_of(response) == [
        {
            "job": JOB,
            "run_id": "sample-84f010a70d",
            "screens": 10,
            "done": 4,
            "open": 6,
            "expired": 0,
            "available_until": "2027-01-16T08:00:00Z",
            "status": "InProgress",
        }
    ]
    assert response["headers"]["Cache-Control"] == "no-store"


def test_next_gives_the_lease_with_presigned_images(call: Api) -> None:
    call.service.lease = a_lease(seconds_left=600.7)
    response = call("POST", f"/api/jobs/{JOB}/next", claims=access_claims())
    assert response["statusCode"] == 200
    assert call.service.calls == [("next_task", JOB, REVIEWER)]
    got = body_of(response)
    assert got == {
        "task_id": TASK,
        "lease_id": "lease-1",
        "lease_expires_at": "2027-01-15T08:10:00Z",
        "label": "cat",
        "images": [
            {
                "id": "a1",
                "name": "cat-1.jpg",
                "url": "https://signed.example/stack-bucket/images/cats/cat-1.jpg?expires=600",
            },
            {
                "id": "b2",
                "name": "<img src=x onerror=alert(1)>.jpg",
                "url": "https://signed.example/photos/x/y.jpg?expires=600",
            },
        ],
    }
    assert "confidence" not in json.dumps(got)
    assert response["headers"]["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("left", "expires"), [(600.7, 600), (3600.0, 900), (901.0, 900), (0.4, 1), (-30.0, 1), (1.9, 1)]
)
def test_image_urls_expire_with_the_lease_and_within_15_minutes(call: Api, left: float, expires: int) -> None:
    call.service.lease = a_lease(seconds_left=left)
    assert call("POST", f"/api/jobs/{JOB}/next", claims=access_claims())["statusCode"] == 200
    assert {seconds for _, seconds in call.signer.signed} == {expires}


def test_next_with_nothing_left_is_204_with_no_body(call: Api) -> None:
    call.service.lease = None
    response = call("POST", f"/api/jobs/{JOB}/next", claims=access_claims())
    assert response["statusCode"] == 204
    assert not response["body"]
    assert response["headers"]["Cache-Control"] == "no-store"
    assert "signer" not in call.built


def test_next_on_an_unknown_job_is_404(call: Api) -> None:
    call.service.fail = UnknownJob("no job 'x': list the open jobs with GET /api/jobs")
    assert_refused(call("POST", "/api/jobs/x/next", claims=access_claims()), 404, "UnknownJob")


def test_answer_passes_the_answers_and_says_replay(call: Api) -> None:
    answers = {"image-a1": {"correct": True}, "image-b2": {"correct": False}}
    response = call(
        "POST", f"/api/tasks/{TASK}/answer", claims=access_claims(), body={"lease_id": "lease-1", "answers": answers}
    )
    assert (response["statusCode"], body_of(response)) == (200, {"replay": False})
    assert call.service.calls == [("answer", TASK, REVIEWER, "lease-1", answers)]
    call.service.replay = True
    response = call(
        "POST",
        f"/api/tasks/{TASK}/answer",
        claims=access_claims(),
        body={"lease_id": "lease-1", "answers": answers},
        base64_body=True,
    )
    assert (response["statusCode"], body_of(response)) == (200, {"replay": True})


@pytest.mark.parametrize(
    "body",
    [
        None,
        "",
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        '"lease-1"',
        {"answers": {"image-a1": {"correct": True}}},  # no lease_id
        {"lease_id": "", "answers": {"image-a1": {"correct": True}}},
        {"lease_id": 12, "answers": {"image-a1": {"correct": True}}},
        {"lease_id": "lease-1"},  # no answers
        {"lease_id": "lease-1", "answers": None},
        {"lease_id": "lease-1", "answers": [{"correct": True}]},
        {"lease_id": "lease-1", "answers": "image-a1"},
    ],
)
def test_a_malformed_answer_body_is_422_and_reaches_no_service(call: Api, body: Any) -> None:
    response = call("POST", f"/api/tasks/{TASK}/answer", claims=access_claims(), body=body)
    assert_refused(response, 422, "MalformedAnswer")
    assert call.service.calls == []


def test_answers_the_service_refuses_are_422(call: Api) -> None:
    call.service.fail = MalformedAnswer("the answer has no entry for image-b2: answer every image of the task")
    body = {"lease_id": "lease-1", "answers": {"image-a1": {"correct": "yes"}}}
    response = call("POST", f"/api/tasks/{TASK}/answer", claims=access_claims(), body=body)
    assert_refused(response, 422, "MalformedAnswer")
    assert "image-b2" in body_of(response)["message"]


@pytest.mark.parametrize("action", ["answer", "heartbeat", "release"])
def test_a_lease_that_is_not_the_callers_is_409(call: Api, action: str) -> None:
    call.service.fail = LeaseConflict("the lease has passed to another reviewer: ask for the next task")
    body = {"lease_id": "lease-1", "answers": {"image-a1": {"correct": True}}}
    assert_refused(call("POST", f"/api/tasks/{TASK}/{action}", claims=access_claims(), body=body), 409, "LeaseConflict")


@pytest.mark.parametrize("action", ["answer", "heartbeat", "release"])
def test_an_unknown_task_is_404(call: Api, action: str) -> None:
    call.service.fail = UnknownTask("no task 'nope': ask for the next task of a job")
    body = {"lease_id": "lease-1", "answers": {}}
    assert_refused(call("POST", f"/api/tasks/nope/{action}", claims=access_claims(), body=body), 404, "UnknownTask")


@pytest.mark.parametrize("action", ["heartbeat", "release"])
@pytest.mark.parametrize("body", [None, "{", {}, {"lease_id": None}, ["lease-1"]])
def test_heartbeat_and_release_need_a_lease_id(call: Api, action: str, body: Any) -> None:
    assert_refused(
        call("POST", f"/api/tasks/{TASK}/{action}", claims=access_claims(), body=body), 422, "MalformedAnswer"
    )
    assert call.service.calls == []


def test_heartbeat_gives_the_new_expiry(call: Api) -> None:
    response = call("POST", f"/api/tasks/{TASK}/heartbeat", claims=access_claims(), body={"lease_id": "lease-1"})
    assert (response["statusCode"], body_of(response)) == (200, {"lease_expires_at": "2027-01-15T08:10:00Z"})
    assert call.service.calls == [("heartbeat", TASK, REVIEWER, "lease-1")]


def test_release_is_200_empty_object(call: Api) -> None:
    response = call("POST", f"/api/tasks/{TASK}/release", claims=access_claims(), body={"lease_id": "lease-1"})
    assert (response["statusCode"], body_of(response)) == (200, {})
    assert call.service.calls == [("release", TASK, REVIEWER, "lease-1")]


# --- admins ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("groups", ["[reviewers admins]", "[admins]", ["admins"]])
def test_an_admin_sees_a_jobs_reviewers(call: Api, groups: Any) -> None:
    response = call("GET", f"/api/jobs/{JOB}", claims=access_claims(ADMIN, groups))
    assert response["statusCode"] == 200
    got = body_of(response)
    assert got["job"] == JOB and got["done"] == 4 and got["available_until"] == "2027-01-16T08:00:00Z"
    assert got["reviewers"] == [
        {"reviewer": REVIEWER, "done": 3, "leased": 1},
        {"reviewer": ADMIN, "done": 0, "leased": 0},
    ]
    assert call.service.calls == [("job_detail", JOB)]


def test_an_admin_stops_a_job(call: Api) -> None:
    response = call("POST", f"/api/jobs/{JOB}/stop", claims=access_claims(ADMIN, "[admins]"))
    assert (response["statusCode"], body_of(response)) == (200, {"stopped": True})
    call.service.stopped = False
    response = call("POST", f"/api/jobs/{JOB}/stop", claims=access_claims(ADMIN, "[admins]"))
    assert (response["statusCode"], body_of(response)) == (200, {"stopped": False})
    assert call.service.calls == [("stop", JOB), ("stop", JOB)]


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/jobs/nope"), ("POST", "/api/jobs/nope/stop")])
def test_admin_routes_on_an_unknown_job_are_404(call: Api, method: str, path: str) -> None:
    call.service.fail = UnknownJob("no job 'nope': list the open jobs with GET /api/jobs")
    assert_refused(call(method, path, claims=access_claims(ADMIN, "[admins]")), 404, "UnknownJob")


# --- pieces ---------------------------------------------------------------------------------------------


def test_times_are_iso_8601_utc_seconds_with_z() -> None:
    assert api.iso_z(0) == "1970-01-01T00:00:00Z"
    assert api.iso_z(NOW + 0.999) == "2027-01-15T08:00:00Z"


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1"])
def test_presigned_urls_are_sigv4_on_the_regional_host(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    aws.reset_clients()
    try:
        urls = presign.image_urls()
        virtual = urlsplit(urls.url("s3://photos/cats/a b.jpg", 300))
        path = urlsplit(urls.url("s3://my.photos/cats/a.jpg", 7))
        with pytest.raises(ValueError, match="s3://"):
            urls.url("https://photos/cats/a.jpg", 300)
    finally:
        aws.reset_clients()
    assert (virtual.scheme, virtual.netloc, virtual.path) == (
        "https",
        f"photos.s3.{region}.amazonaws.com",
        "/cats/a%20b.jpg",
    )
    query = parse_qs(virtual.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["300"]
    # a dotted bucket name would not match S3's certificate as a virtual host: path style
    assert (path.netloc, path.path) == (f"s3.{region}.amazonaws.com", "/my.photos/cats/a.jpg")
    assert parse_qs(path.query)["X-Amz-Expires"] == ["7"]
    # the page's policy allows both origins
    from bulkqa.review import page

    origins = page.image_origins("photos", region, "my.photos")
    assert f"https://{virtual.netloc}" in origins and f"https://{path.netloc}" in origins


def test_the_handler_does_nothing_at_import_time() -> None:
    """Importing the function reads no variable, builds no client, imports neither boto3 nor Powertools."""
    code = (
        "import os, sys\n"
        "for k in [k for k in os.environ if k.startswith(('AWS_', 'REVIEW_', 'USER_POOL', 'BUCKET'))]:\n"
        "    del os.environ[k]\n"
        "read = []\n"
        "class Env(dict):\n"
        "    def get(self, k, d=None): read.append(k); return super().get(k, d)\n"
        "    def __getitem__(self, k): read.append(k); return super().__getitem__(k)\n"
        "os.environ = Env(os.environ)\n"
        "import review_api.app as app\n"
        "assert callable(app.lambda_handler)\n"
        "loaded = sorted(m for m in ('boto3', 'aws_lambda_powertools') if m in sys.modules)\n"
        "print(loaded, read)\n"
    )
    functions = Path(__file__).resolve().parents[2] / "functions"
    done = subprocess.run([sys.executable, "-c", code], cwd=functions, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] []"  # neither boto3 nor Powertools, no variable read


# --- the real handler and ReviewService on moto -----------------------------------------------------------


@dataclass
class Context:
    function_name: str = "stack-review-api"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:stack-review-api"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "req-1"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReviewWorld]:
    """A job of 3 screens of 2 images, 2 reviewers each, leases of 1,800 s; the API's environment set."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    now = Clock(NOW)
    monkeypatch.setattr("bulkqa.review.clock.now", now)
    aws.reset_clients()
    with mock_aws():
        made = ReviewWorld(now, screens=3, images=2, workers=2, lease_seconds=1800)
        made.start()
        review = made.review_settings
        for name, value in {
            **ENV,
            "BUCKET_NAME": review.stack.bucket,
            "LABELS_TABLE_NAME": review.stack.labels_table,
            "RUNS_TABLE_NAME": review.stack.runs_table,
            "REVIEW_TABLE_NAME": review.review_table,
            "WORKERS_PER_OBJECT": "2",
            "TASK_TIME_LIMIT_SECONDS": "1800",
            "TASK_AVAILABILITY_SECONDS": "3600",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(deps, "callbacks", lambda: made.callbacks)  # counts every resume
        yield made
    aws.reset_clients()


def handler(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    import review_api.app

    response: dict[str, Any] = review_api.app.lambda_handler(http_event(method, path, **kwargs), Context())
    return response


def snapshot(world: ReviewWorld) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True, default=str) for item in world.scan())


def test_a_reviewer_takes_answers_and_replays_through_the_handler(world: ReviewWorld) -> None:
    alice = access_claims(str(uuid.UUID(int=11)))
    jobs = body_of(handler("GET", "/api/jobs", claims=alice))
    assert [(j["job"], j["screens"], j["done"], j["status"]) for j in jobs] == [(world.job, 3, 0, "InProgress")]
    taken = handler("POST", f"/api/jobs/{world.job}/next", claims=alice)
    assert taken["statusCode"] == 200
    lease = body_of(taken)
    assert lease["lease_expires_at"] == api.iso_z(NOW + 1800)
    assert body_of(handler("POST", f"/api/jobs/{world.job}/next", claims=alice))["lease_id"] == lease["lease_id"]
    for image in lease["images"]:
        url = urlsplit(image["url"])
        assert url.netloc == f"{world.bucket}.s3.{REGION}.amazonaws.com"
        assert parse_qs(url.query)["X-Amz-Expires"] == ["900"]  # the lease has 1,800 s left: capped
    world.clock.advance(1500)  # 300 s left
    again = body_of(handler("POST", f"/api/jobs/{world.job}/next", claims=alice))
    assert {parse_qs(urlsplit(i["url"]).query)["X-Amz-Expires"][0] for i in again["images"]} == {"300"}

    answers = {f"image-{i['id']}": {"correct": n > 0} for n, i in enumerate(lease["images"])}
    body = {"lease_id": lease["lease_id"], "answers": answers}
    first = handler("POST", f"/api/tasks/{lease['task_id']}/answer", claims=alice, body=body)
    assert (first["statusCode"], body_of(first)) == (200, {"replay": False})
    after_first = snapshot(world)
    second = handler("POST", f"/api/tasks/{lease['task_id']}/answer", claims=alice, body=body)
    assert (second["statusCode"], body_of(second)) == (200, {"replay": True})
    assert snapshot(world) == after_first  # nothing counted twice
    jobs = body_of(handler("GET", "/api/jobs", claims=alice))
    assert jobs[0]["done"] == 1


def test_refused_requests_leave_every_table_unchanged(world: ReviewWorld) -> None:
    alice, bob = access_claims(str(uuid.UUID(int=11))), access_claims(str(uuid.UUID(int=12)))
    lease = body_of(handler("POST", f"/api/jobs/{world.job}/next", claims=alice))
    task, lease_id = lease["task_id"], lease["lease_id"]
    ids = [f"image-{i['id']}" for i in lease["images"]]
    good = {name: {"correct": True} for name in ids}
    before = snapshot(world)

    refused = [
        # another reviewer's lease (IDOR), a wrong lease id
        (409, "POST", f"/api/tasks/{task}/answer", bob, {"lease_id": lease_id, "answers": good}),
        (409, "POST", f"/api/tasks/{task}/answer", alice, {"lease_id": "not-the-lease", "answers": good}),
        (409, "POST", f"/api/tasks/{task}/heartbeat", bob, {"lease_id": lease_id}),
        (409, "POST", f"/api/tasks/{task}/release", bob, {"lease_id": lease_id}),
        # malformed answers: a missing id, an extra id, a non-boolean, not an object, not JSON
        (
            422,
            "POST",
            f"/api/tasks/{task}/answer",
            alice,
            {"lease_id": lease_id, "answers": {ids[0]: {"correct": True}}},
        ),
        (
            422,
            "POST",
            f"/api/tasks/{task}/answer",
            alice,
            {"lease_id": lease_id, "answers": {**good, "image-x": {"correct": True}}},
        ),
        (
            422,
            "POST",
            f"/api/tasks/{task}/answer",
            alice,
            {"lease_id": lease_id, "answers": {n: {"correct": "yes"} for n in ids}},
        ),
        (422, "POST", f"/api/tasks/{task}/answer", alice, {"lease_id": lease_id, "answers": [True, True]}),
        (422, "POST", f"/api/tasks/{task}/answer", alice, "{not json"),
        (422, "POST", f"/api/tasks/{task}/heartbeat", alice, {}),
        # unknown job and task
        (404, "POST", "/api/jobs/bulkqa-nothing-0123456789-p00/next", alice, None),
        (404, "POST", f"/api/tasks/{world.job}.99.0/answer", alice, {"lease_id": lease_id, "answers": good}),
        (404, "POST", "/api/tasks/garbage/heartbeat", alice, {"lease_id": lease_id}),
        # an ID token, no claims; a reviewer on the admin routes
        (401, "POST", f"/api/tasks/{task}/answer", id_claims(alice["sub"]), {"lease_id": lease_id, "answers": good}),
        (401, "POST", f"/api/jobs/{world.job}/next", None, None),
        (403, "POST", f"/api/jobs/{world.job}/stop", alice, None),
        (403, "GET", f"/api/jobs/{world.job}", bob, None),
    ]
    for status, method, path, claims, body in refused:
        response = handler(method, path, claims=claims, body=body)
        assert response["statusCode"] == status, (method, path, body, response)
        assert snapshot(world) == before, (method, path, body)
    assert world.succeed_calls() == 0 and world.callbacks.sent == []

    # the lease is still alice's: her answer counts
    response = handler("POST", f"/api/tasks/{task}/answer", claims=alice, body={"lease_id": lease_id, "answers": good})
    assert (response["statusCode"], body_of(response)) == (200, {"replay": False})


def test_heartbeat_release_and_the_admin_routes_through_the_handler(world: ReviewWorld) -> None:
    alice, admin = access_claims(str(uuid.UUID(int=11))), access_claims(ADMIN, "[reviewers admins]")
    lease = body_of(handler("POST", f"/api/jobs/{world.job}/next", claims=alice))
    world.clock.advance(100)
    beat = handler(
        "POST", f"/api/tasks/{lease['task_id']}/heartbeat", claims=alice, body={"lease_id": lease["lease_id"]}
    )
    assert beat["statusCode"] == 200
    assert body_of(beat)["lease_expires_at"] > lease["lease_expires_at"]

    detail = body_of(handler("GET", f"/api/jobs/{world.job}", claims=admin))
    assert detail["job"] == world.job and detail["screens"] == 3
    assert [(r["reviewer"], r["leased"]) for r in detail["reviewers"]] == [(alice["sub"], 1)]

    released = handler(
        "POST", f"/api/tasks/{lease['task_id']}/release", claims=alice, body={"lease_id": lease["lease_id"]}
    )
    assert (released["statusCode"], body_of(released)) == (200, {})
    gone = handler(
        "POST", f"/api/tasks/{lease['task_id']}/heartbeat", claims=alice, body={"lease_id": lease["lease_id"]}
    )
    assert gone["statusCode"] == 409

    stop = handler("POST", f"/api/jobs/{world.job}/stop", claims=admin)
    assert (stop["statusCode"], body_of(stop)) == (200, {"stopped": True})
    assert [sent[1] for sent in world.callbacks.sent] == ["LabelingJobStopped"]
    again = handler("POST", f"/api/jobs/{world.job}/stop", claims=admin)
    assert (again["statusCode"], body_of(again)) == (200, {"stopped": False})
    assert handler("POST", f"/api/jobs/{world.job}/next", claims=alice)["statusCode"] == 204  # not open
    assert body_of(handler("GET", "/api/jobs", claims=alice)) == []


def test_the_page_and_config_build_no_aws_client(world: ReviewWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_client(*args: Any) -> Any:
        raise AssertionError("a public route built an AWS client")

    with monkeypatch.context() as patch:
        patch.setattr(aws, "client", no_client)
        patch.setattr(presign, "signing_client", no_client)
        assert handler("GET", "/")["statusCode"] == 200
        assert handler("GET", "/assets/app.js")["statusCode"] == 200
        config = handler("GET", "/api/config")
    assert body_of(config)["userPoolId"] == POOL


def test_the_api_prefix_is_found_behind_a_named_stage() -> None:
    event = http_event("GET", "/prod/api/jobs", claims=access_claims())
    event["requestContext"]["stage"] = "prod"
    assert api.request_path(event) == "/api/jobs"
    assert api.security_headers(api.request_path(event), "csp")["Cache-Control"] == "no-store"
    assert api.request_path(http_event("GET", "/")) == "/"


def test_the_logs_hold_no_url_token_or_answer(call: Api, capsys: pytest.CaptureFixture[str]) -> None:
    call.service.lease = a_lease()
    call("POST", f"/api/jobs/{JOB}/next", claims=access_claims())
    body = {"lease_id": "lease-1", "answers": {"image-a1": {"correct": False}}}
    call("POST", f"/api/tasks/{TASK}/answer", claims=access_claims(), body=body)
    call("GET", "/api/jobs", claims=id_claims())
    logged = capsys.readouterr().out
    assert "task leased" in logged and "request refused" in logged
    for secret in ("signed.example", "eyJ", '"correct"', "s3://"):
        assert secret not in logged
