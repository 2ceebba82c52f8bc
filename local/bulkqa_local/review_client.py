"""A reviewer as an HTTP client of the self-hosted review API: signs in through Cognito, claims, answers.

``ReviewerClient(base_url, username, password, cognito_endpoint)`` signs in with boto3's cognito-idp
client pointed at ``cognito_endpoint`` (USER_PASSWORD_AUTH; a first sign-in with a temporary password
answers NEW_PASSWORD_REQUIRED with ``new_password``) and calls the API with urllib, ``Authorization:
Bearer <access token>``. Every call returns typed data; an unexpected status raises :class:`ReviewApiError`
with the status code. The client is for the local cloud and tests: it never logs tokens.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, TypedDict, cast
from urllib.parse import quote

REGION = "us-east-1"


class ReviewApiError(Exception):
    """The review API answered with an unexpected status (``status``); the message holds its answer."""

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {body[:300]}")
        self.status, self.method, self.path, self.body = status, method, path, body


class SignInFailed(Exception):
    """Cognito refused the sign-in: check the username and password (serve.json holds them)."""


class Config(TypedDict):
    region: str
    userPoolId: str
    clientId: str
    cognitoEndpoint: str


class JobSummary(TypedDict, total=False):
    job: str
    run_id: str
    screens: int
    done: int
    open: int
    available_until: str | float
    label_count: int


class TaskImage(TypedDict):
    id: str
    name: str
    url: str


class Task(TypedDict):
    task_id: str
    lease_id: str
    lease_expires_at: str
    label: str
    images: list[TaskImage]


class AnswerResult(TypedDict):
    replay: bool


class HeartbeatResult(TypedDict):
    lease_expires_at: str


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: dict[str, str]


def answers_for(task: Task, rejected: set[str] | frozenset[str] = frozenset()) -> dict[str, dict[str, bool]]:
    """The page's answer for a task: every image confirmed except the ids in ``rejected``."""
    return {f"image-{image['id']}": {"correct": image["id"] not in rejected} for image in task["images"]}


def public_config(base_url: str) -> Config:
    """``GET /api/config``: where the page signs in (no token needed)."""
    response = _request(base_url, "GET", "api/config", None, None)
    if response.status != 200:
        raise ReviewApiError(response.status, "GET", "/api/config", json.dumps(response.body))
    return cast("Config", response.body)


class ReviewerClient:
    """One signed-in reviewer (or admin) of the review API."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        cognito_endpoint: str | None = None,
        *,
        client_id: str | None = None,
        new_password: str | None = None,
        region: str = REGION,
        timeout: float = 30,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.username = username
        self.timeout = timeout
        config: Config | None = None
        if cognito_endpoint is None or client_id is None:
            config = public_config(self.base_url)
        self.cognito_endpoint = cognito_endpoint or (config["cognitoEndpoint"] if config else "")
        self.client_id = client_id or (config["clientId"] if config else "")
        self.region = region
        self.password = password
        self.access_token, self.id_token = self._sign_in(password, new_password or f"{password}-Set1")

    # -------------------------------------------------------------- sign-in
    def _sign_in(self, password: str, new_password: str) -> tuple[str, str]:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config as BotoConfig
        from botocore.exceptions import ClientError

        idp = boto3.session.Session().client(
            "cognito-idp",
            region_name=self.region,
            endpoint_url=self.cognito_endpoint,
            config=BotoConfig(signature_version=UNSIGNED, retries={"max_attempts": 2, "mode": "standard"}),
        )
        try:
            result = idp.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": self.username, "PASSWORD": password},
            )
            if result.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
                result = idp.respond_to_auth_challenge(
                    ClientId=self.client_id,
                    ChallengeName="NEW_PASSWORD_REQUIRED",
                    Session=result["Session"],
                    ChallengeResponses={"USERNAME": self.username, "NEW_PASSWORD": new_password},
                )
                self.password = new_password
            elif result.get("ChallengeName"):
                raise SignInFailed(
                    f"{self.username}: Cognito asked for {result['ChallengeName']}, which this client cannot answer"
                )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise SignInFailed(f"{self.username}: {error.get('Code')}: {error.get('Message')}") from exc
        tokens = result["AuthenticationResult"]
        return tokens["AccessToken"], tokens["IdToken"]

    # -------------------------------------------------------------- raw calls
    def call(self, method: str, path: str, body: object = None, *, token: str | None = None) -> Response:
        """Any call of the API with this reviewer's access token (or ``token``); no status check."""
        return _request(self.base_url, method, path, body, token or self.access_token, self.timeout)

    def _expect(self, method: str, path: str, body: object, *statuses: int) -> Response:
        response = self.call(method, path, body)
        if response.status not in statuses:
            raise ReviewApiError(response.status, method, "/" + path, json.dumps(response.body))
        return response

    # -------------------------------------------------------------- the API
    def jobs(self) -> list[JobSummary]:
        return cast("list[JobSummary]", self._expect("GET", "api/jobs", None, 200).body)

    def next(self, job: str) -> Task | None:
        """The reviewer's next task in ``job`` (the same one while its lease holds), None when none is left."""
        response = self._expect("POST", f"api/jobs/{quote(job, safe='')}/next", {}, 200, 204)
        return None if response.status == 204 else cast("Task", response.body)

    def answer(self, task_id: str, lease_id: str, answers: dict[str, dict[str, bool]]) -> AnswerResult:
        path = f"api/tasks/{quote(task_id, safe='')}/answer"
        return cast("AnswerResult", self._expect("POST", path, {"lease_id": lease_id, "answers": answers}, 200).body)

    def heartbeat(self, task_id: str, lease_id: str) -> HeartbeatResult:
        path = f"api/tasks/{quote(task_id, safe='')}/heartbeat"
        return cast("HeartbeatResult", self._expect("POST", path, {"lease_id": lease_id}, 200).body)

    def release(self, task_id: str, lease_id: str) -> None:
        self._expect("POST", f"api/tasks/{quote(task_id, safe='')}/release", {"lease_id": lease_id}, 200)

    def job_detail(self, job: str) -> dict[str, Any]:
        """Admins only: the job's per-reviewer progress."""
        return cast("dict[str, Any]", self._expect("GET", f"api/jobs/{quote(job, safe='')}", None, 200).body)

    def stop(self, job: str) -> dict[str, Any]:
        """Admins only: end the job as stopped (the workflow writes the partial report)."""
        body = self._expect("POST", f"api/jobs/{quote(job, safe='')}/stop", {}, 200).body
        return cast("dict[str, Any]", body if isinstance(body, dict) else {})

    def review_all(self, job: str, rejected: set[str] | frozenset[str] = frozenset(), limit: int = 100_000) -> int:
        """Claim and answer tasks of ``job`` until none is left (images in ``rejected`` by id: unchecked).

        Returns the number of tasks answered.
        """
        answered = 0
        while answered < limit:
            task = self.next(job)
            if task is None:
                break
            self.answer(task["task_id"], task["lease_id"], answers_for(task, rejected))
            answered += 1
        return answered


def _request(base_url: str, method: str, path: str, body: object, token: str | None, timeout: float = 30) -> Response:
    data = json.dumps(body).encode("utf-8") if body is not None else None
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{base_url!r} is not an http(s) URL: give the URL serve.json names")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310  # checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # checked above
            status, raw, found = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, found = exc.code, exc.read(), dict(exc.headers)
    text = raw.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = text
    return Response(status, parsed, found)
