"""A reviewer as an HTTP client of the self-hosted review API: signs in through Cognito, claims, answers.

``ReviewerClient(base_url, username, password, cognito_endpoint)`` signs in with boto3's cognito-idp
client pointed at ``cognito_endpoint`` (USER_PASSWORD_AUTH; a first sign-in with a temporary password
answers NEW_PASSWORD_REQUIRED with ``new_password``) and calls the API with urllib, ``Authorization:
Bearer <access token>``. Every call returns typed data; an unexpected status raises :class:`ReviewApiError`
with the status code. The client is for the local cloud and tests: it never logs tokens.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, cast
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
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # the scheme is checked above # nosec B310
            status, raw, found = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, found = exc.code, exc.read(), dict(exc.headers)
    text = raw.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = text
    return Response(status, parsed, found)


# ------------------------------------------------------------------------------------------- simulated crews
class Decider(Protocol):
    """Who answers: ``bulkqa_local.reviewers.SimulatedReviewers`` or ``ScriptedReviewers`` fit."""

    def confirms(self, worker: str, image_key: str, label: str) -> bool: ...


def image_key(url: str) -> str:
    """The object key an image URL shows (``.../_local/s3/<bucket>/<key>?...`` or an S3 URL), as a person
    sees it in the placeholder: the reviewers decide on it."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    path = unquote(parts.path)
    if path.startswith("/_local/s3/"):
        return path.removeprefix("/_local/s3/").split("/", 1)[1]
    if parts.hostname and parts.hostname.startswith("s3."):  # path style: /<bucket>/<key>
        return path.lstrip("/").split("/", 1)[1]
    return path.lstrip("/")


def _unit(*parts: object) -> float:
    import hashlib

    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class CrewReport:
    """What a crew did: answered tasks and abandoned (released) leases per worker, and errors seen."""

    answered: dict[str, int] = field(default_factory=dict)
    abandoned: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: workers that stopped because the server went away (it closes when the run ends)
    disconnected: list[str] = field(default_factory=list)


class ReviewerCrew:
    """Reviewers working the open jobs over HTTP in threads until ``stop()``: sign in, claim, answer.

    ``accounts`` maps a worker id (what ``decider.confirms`` is asked with) to its account. Each thread
    claims the next task of each open job, sometimes abandons it first (releases the lease, a pure
    function of (seed, worker, task): ``abandon_rate``), then answers every image with the decider's
    verdict on the key the image URL shows. Answers are therefore the same as the local Ground Truth's
    for the same decider and worker ids.
    """

    def __init__(
        self,
        base_url: str,
        cognito_endpoint: str,
        client_id: str,
        accounts: Mapping[str, tuple[str, str]],
        decider: Decider,
        *,
        abandon_rate: float = 0.0,
        seed: int = 0,
        idle_seconds: float = 0.2,
    ) -> None:
        self.base_url, self.cognito_endpoint, self.client_id = base_url, cognito_endpoint, client_id
        self.accounts = dict(accounts)
        self.decider = decider
        self.abandon_rate, self.seed, self.idle_seconds = abandon_rate, seed, idle_seconds
        self.report = CrewReport()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> ReviewerCrew:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        for worker, (username, password) in self.accounts.items():
            thread = threading.Thread(
                target=self._work, args=(worker, username, password), name=f"reviewer-{worker}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 30) -> CrewReport:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        return self.report

    def _count(self, into: dict[str, int], worker: str) -> None:
        with self._lock:
            into[worker] = into.get(worker, 0) + 1

    def _work(self, worker: str, username: str, password: str) -> None:
        try:
            client = ReviewerClient(self.base_url, username, password, self.cognito_endpoint, client_id=self.client_id)
            abandoned: set[str] = set()
            while not self._stop.is_set():
                busy = False
                for job in client.jobs():
                    task = client.next(job["job"])
                    if task is None:
                        continue
                    busy = True
                    if (
                        task["task_id"] not in abandoned
                        and _unit(self.seed, worker, task["task_id"]) < self.abandon_rate
                    ):
                        abandoned.add(task["task_id"])
                        client.release(task["task_id"], task["lease_id"])
                        self._count(self.report.abandoned, worker)
                        continue
                    answers = {
                        f"image-{image['id']}": {
                            "correct": self.decider.confirms(worker, image_key(image["url"]), task["label"])
                        }
                        for image in task["images"]
                    }
                    client.answer(task["task_id"], task["lease_id"], answers)
                    self._count(self.report.answered, worker)
                if not busy:
                    self._stop.wait(self.idle_seconds)
        except (ConnectionError, urllib.error.URLError):  # the server closed: the run is over
            with self._lock:
                self.report.disconnected.append(worker)
        except Exception as exc:  # the crew reports, the caller decides (a test asserts no errors)
            with self._lock:
                self.report.errors.append(f"{worker}: {type(exc).__name__}: {exc}")
