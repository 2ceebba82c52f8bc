"""The review API's routes: API Gateway HTTP API events (payload format 2.0) on Powertools' resolver.

Thin: a route reads the caller from the JWT authorizer's claims, parses the body, calls one
``ReviewService`` method and shapes its answer as JSON (``interfaces.md``, "Self-hosted review API").
The queue's rules (leases, overlap, replay, "nothing written on any error") live in the service.

- ``GET /``, ``GET /assets/{file}`` and ``GET /api/config`` are public (no authorizer in the template);
  every other ``/api/`` route needs the claims of a Cognito *access* token, which API Gateway's JWT
  authorizer has checked (signature, issuer, client, expiry, scope). The function checks again that the
  claims are there and that ``token_use`` is ``access`` (an ID token has the same issuer and signature):
  401 otherwise. Reviewer routes need the ``reviewers`` (or ``admins``) group and admin routes the ``admins``
  group (``cognito:groups``): 403 otherwise.
- Errors are JSON ``{"error": <error name>, "message": <what to do>}``: UnknownJob/UnknownTask 404,
  LeaseConflict 409, MalformedAnswer 422 (also a body that is not a JSON object or lacks a field).
- Every response carries the page's Content-Security-Policy, ``X-Content-Type-Options: nosniff`` and
  ``Referrer-Policy: no-referrer``; ``/api/`` responses ``Cache-Control: no-store``.
- Image URIs become presigned GET URLs valid for the lease's seconds left, at most 15 minutes.
- Nothing happens at import time: Powertools is imported and the resolver built on the first request.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, TypedDict
from urllib.parse import unquote

from bulkqa import log
from bulkqa.errors import BulkQAError, LeaseConflict, MalformedAnswer, UnknownJob, UnknownTask
from bulkqa.review import clock
from bulkqa.review.presign import url_seconds

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

    from bulkqa.ports import LambdaContext, RawEvent
    from bulkqa.review.service import JobDetail, JobProgress, Lease
    from bulkqa.settings import ReviewSettings

#: the Cognito group whose members may see a job's reviewers and stop a job
ADMINS: Final = "admins"
REVIEWERS: Final = "reviewers"
#: ``token_use`` of the only tokens the API accepts (an ID token is refused)
ACCESS: Final = "access"

JSON: Final = "application/json"
API_PREFIX: Final = "/api/"


class Unauthorized(BulkQAError):
    """401: the request carries no claims of a Cognito access token."""


class Forbidden(BulkQAError):
    """403: the caller is signed in but not in the group the route needs."""


class NotFound(BulkQAError):
    """404: no such route or asset."""


#: the API's error names -> HTTP status
STATUS: Final[Mapping[type[Exception], int]] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    UnknownJob: 404,
    UnknownTask: 404,
    LeaseConflict: 409,
    MalformedAnswer: 422,
}


# ---------------------------------------------------------------------------------------------- ports
class ReviewPort(Protocol):
    """What the routes call of ``bulkqa.review.service.ReviewService``."""

    def open_jobs(self) -> list[JobProgress]: ...
    def next_task(self, job: str, reviewer: str) -> Lease | None: ...
    def answer(self, task_id: str, reviewer: str, lease_id: str, answers: object) -> bool: ...
    def heartbeat(self, task_id: str, reviewer: str, lease_id: str) -> float: ...
    def release(self, task_id: str, reviewer: str, lease_id: str) -> None: ...
    def job_detail(self, job: str) -> JobDetail: ...
    def stop(self, job: str) -> bool: ...


class ImageSigner(Protocol):
    """``bulkqa.review.presign.ImageUrls``: an s3:// URI -> a presigned GET URL."""

    def url(self, uri: str, expires_in: int) -> str: ...


@dataclass(frozen=True, slots=True)
class Backend:
    """What the routes of one invocation use; the service and the signer are built when a route needs them
    (``GET /`` and ``/api/config`` build no AWS client)."""

    settings: ReviewSettings
    service: Callable[[], ReviewPort]
    images: Callable[[], ImageSigner]


# ------------------------------------------------------------------------------------------- JSON
class HttpResponse(TypedDict, total=False):
    """A payload format 2.0 response as Powertools builds it."""

    statusCode: int
    body: str | None
    isBase64Encoded: bool
    headers: dict[str, str]
    cookies: list[str]


class ConfigJson(TypedDict):
    region: str
    userPoolId: str
    clientId: str
    cognitoEndpoint: str


class JobJson(TypedDict):
    job: str
    run_id: str
    screens: int
    done: int
    open: int
    expired: int
    available_until: str
    status: str


class ReviewerJson(TypedDict):
    reviewer: str
    done: int
    leased: int


class JobDetailJson(JobJson):
    reviewers: list[ReviewerJson]


class ImageJson(TypedDict):
    id: str
    name: str
    url: str


class LeaseJson(TypedDict):
    task_id: str
    lease_id: str
    lease_expires_at: str
    label: str
    images: list[ImageJson]


class ErrorJson(TypedDict):
    error: str
    message: str


def iso_z(epoch: float) -> str:
    """Epoch seconds -> ``2026-11-29T19:17:34Z`` (UTC, whole seconds, rounded down)."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def job_json(progress: JobProgress) -> JobJson:
    return {
        "job": progress.job,
        "run_id": progress.run_id,
        "screens": progress.screens,
        "done": progress.done,
        "open": progress.open,
        "expired": progress.expired,
        "available_until": iso_z(progress.available_until),
        "status": progress.status,
    }


def job_detail_json(detail: JobDetail) -> JobDetailJson:
    reviewers: list[ReviewerJson] = [
        {"reviewer": r.reviewer, "done": r.done, "leased": r.leased} for r in detail.reviewers
    ]
    return {**job_json(detail.progress), "reviewers": reviewers}


def lease_json(lease: Lease, signer: ImageSigner, now: float) -> LeaseJson:
    """The lease as the page gets it: images as presigned URLs that expire with the lease (<= 15 min)."""
    seconds = url_seconds(lease.lease_expires_at - now)
    return {
        "task_id": lease.task_id,
        "lease_id": lease.lease_id,
        "lease_expires_at": iso_z(lease.lease_expires_at),
        "label": lease.label,
        "images": [{"id": i.id, "name": i.name, "url": signer.url(i.uri, seconds)} for i in lease.images],
    }


# ----------------------------------------------------------------------------------------- caller
@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in reviewer: the token's ``sub`` and Cognito groups."""

    sub: str
    groups: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMINS in self.groups

    @property
    def may_review(self) -> bool:
        """Reviewer routes are for the ``reviewers`` group (admins may review too): a user of the pool in
        neither group (created but not yet assigned) reviews nothing."""
        return REVIEWERS in self.groups or ADMINS in self.groups


_GROUP_SEPARATORS = re.compile(r"[\s,]+")


def parse_groups(value: object) -> frozenset[str]:
    """``cognito:groups`` as API Gateway passes it (the string ``"[reviewers admins]"``) or as a list."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        names: Sequence[object] = _GROUP_SEPARATORS.split(text)
    elif isinstance(value, list | tuple):
        names = value
    else:
        return frozenset()
    return frozenset(n for n in (str(name).strip().strip("\"'") for name in names) if n)


def caller_from(claims: Mapping[str, Any]) -> Caller:
    """The caller named by an access token's claims; Unauthorized for no claims, another token, no sub."""
    if not claims:
        raise Unauthorized(
            "this route needs a Cognito access token: sign in and send it as 'Authorization: Bearer <token>'"
        )
    if claims.get("token_use") != ACCESS:
        raise Unauthorized(
            "the token is not an access token (an ID token?): send the access token of your sign-in "
            "as 'Authorization: Bearer <token>'"
        )
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("the access token names no user (no 'sub' claim): sign in again")
    return Caller(sub=sub, groups=parse_groups(claims.get("cognito:groups")))


# ------------------------------------------------------------------------------------------ bodies
def json_object(body: str | None) -> dict[str, Any]:
    """The request body as a JSON object; MalformedAnswer if it is empty, not JSON or not an object."""
    try:
        value = json.loads(body) if body else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise MalformedAnswer('the request body must be a JSON object such as {"lease_id": "..."}: fix the request')
    return value


def lease_id_of(body: Mapping[str, Any]) -> str:
    lease_id = body.get("lease_id")
    if not isinstance(lease_id, str) or not lease_id:
        raise MalformedAnswer(
            "the body has no 'lease_id': send the lease_id that POST /api/jobs/{job}/next returned with the task"
        )
    return lease_id


def answers_of(body: Mapping[str, Any]) -> dict[str, Any]:
    answers = body.get("answers")
    if not isinstance(answers, dict):
        raise MalformedAnswer(
            'the body has no \'answers\' object: send {"lease_id": ..., "answers": '
            '{"image-<id>": {"correct": true|false}, ...}} with one entry per image of the task'
        )
    return answers


# -------------------------------------------------------------------------------------------- headers
def security_headers(path: str, content_security_policy: str) -> dict[str, str]:
    """The headers every response carries (``/api/`` responses are never stored by any cache)."""
    headers = {
        "Content-Security-Policy": content_security_policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if path.startswith(API_PREFIX):
        headers["Cache-Control"] = "no-store"
    return headers


# --------------------------------------------------------------------------------------------- routes
def _response(status: int, body: object = None, content_type: str | None = JSON, **headers: str) -> Response[Any]:
    from aws_lambda_powertools.event_handler import Response

    return Response(status_code=status, content_type=content_type, body=body, headers=headers or None)


def _text_or_bytes(data: bytes) -> str | bytes:
    """Text bodies go as text (no base64 in the response); anything else as bytes (Powertools encodes)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


class _Routes:
    """The routes, registered on one resolver; the invocation's Backend is in ``app.context``."""

    def __init__(self, app: APIGatewayHttpResolver) -> None:
        self.app = app

    def register(self) -> None:
        app = self.app
        app.get("/")(self.page)
        app.get("/assets/<file>")(self.asset)
        app.get("/api/config")(self.config)
        app.get("/api/jobs")(self.jobs)
        app.post("/api/jobs/<job>/next")(self.next_task)
        app.post("/api/tasks/<task_id>/answer")(self.answer)
        app.post("/api/tasks/<task_id>/heartbeat")(self.heartbeat)
        app.post("/api/tasks/<task_id>/release")(self.release)
        app.get("/api/jobs/<job>")(self.job_detail)
        app.post("/api/jobs/<job>/stop")(self.stop)
        app.exception_handler(list(STATUS))(self.refused)
        app.not_found(self.no_route)

    # -- the invocation
    @property
    def backend(self) -> Backend:
        backend: Backend = self.app.context["backend"]
        return backend

    def signed_in(self) -> Caller:
        return caller_from(self.app.current_event.request_context.authorizer.jwt_claim)

    def caller(self) -> Caller:
        """A signed-in member of the ``reviewers`` (or ``admins``) group; Forbidden for anyone else."""
        caller = self.signed_in()
        if not caller.may_review:
            raise Forbidden(
                f"this account is in neither the '{REVIEWERS}' nor the '{ADMINS}' group: ask an administrator to run "
                f"aws cognito-idp admin-add-user-to-group --group-name {REVIEWERS} for it"
            )
        return caller

    def admin(self) -> Caller:
        caller = self.signed_in()
        if not caller.is_admin:
            raise Forbidden(f"this route is for the '{ADMINS}' group: ask an administrator of the user pool")
        return caller

    def body(self) -> dict[str, Any]:
        try:
            text = self.app.current_event.decoded_body  # base64-decoded when API Gateway encoded it
        except ValueError:  # not base64, or not UTF-8 (UnicodeDecodeError is a ValueError)
            text = None
        return json_object(text)

    # -- public
    def page(self) -> Response[Any]:
        from bulkqa.review import page

        headers = page.response_headers(page.HTML, csp=content_security_policy(self.backend.settings))
        return _response(200, _text_or_bytes(page.page_html()), page.HTML, **headers)

    def asset(self, file: str) -> Response[Any]:
        from bulkqa.review import page

        found = page.asset(unquote(file))
        if found is None:
            raise NotFound(f"no asset {file!r}: the page's assets are app.js, app.css, grid.js and grid.css")
        data, content_type = found
        return _response(200, _text_or_bytes(data), content_type, **page.response_headers(content_type))

    def config(self) -> Response[Any]:
        settings = self.backend.settings
        body: ConfigJson = {
            "region": settings.region,
            "userPoolId": settings.user_pool_id,
            "clientId": settings.user_pool_client_id,
            "cognitoEndpoint": settings.cognito_endpoint,
        }
        return _response(200, body)

    # -- reviewers
    def jobs(self) -> Response[Any]:
        self.caller()
        return _response(200, [job_json(p) for p in self.backend.service().open_jobs()])

    def next_task(self, job: str) -> Response[Any]:
        caller = self.caller()
        lease = self.backend.service().next_task(unquote(job), caller.sub)
        if lease is None:
            return _response(204, "", None)
        log.info("task leased", job=unquote(job), task_id=lease.task_id, reviewer=caller.sub)
        return _response(200, lease_json(lease, self.backend.images(), clock.now()))

    def answer(self, task_id: str) -> Response[Any]:
        caller = self.caller()
        body = self.body()
        lease_id, answers = lease_id_of(body), answers_of(body)
        replay = self.backend.service().answer(unquote(task_id), caller.sub, lease_id, answers)
        log.info("answer taken", task_id=unquote(task_id), reviewer=caller.sub, replay=replay)
        return _response(200, {"replay": replay})

    def heartbeat(self, task_id: str) -> Response[Any]:
        caller = self.caller()
        lease_id = lease_id_of(self.body())
        expires = self.backend.service().heartbeat(unquote(task_id), caller.sub, lease_id)
        return _response(200, {"lease_expires_at": iso_z(expires)})

    def release(self, task_id: str) -> Response[Any]:
        caller = self.caller()
        lease_id = lease_id_of(self.body())
        self.backend.service().release(unquote(task_id), caller.sub, lease_id)
        log.info("task released", task_id=unquote(task_id), reviewer=caller.sub)
        return _response(200, {})

    # -- admins
    def job_detail(self, job: str) -> Response[Any]:
        self.admin()
        return _response(200, job_detail_json(self.backend.service().job_detail(unquote(job))))

    def stop(self, job: str) -> Response[Any]:
        caller = self.admin()
        stopped = self.backend.service().stop(unquote(job))
        log.info("job stop asked", job=unquote(job), admin=caller.sub, stopped=stopped)
        return _response(200, {"stopped": stopped})

    # -- errors
    def refused(self, error: Exception) -> Response[Any]:
        status = next(code for kind, code in STATUS.items() if isinstance(error, kind))
        event = self.app.current_event
        log.warning(
            "request refused",
            status=status,
            error=type(error).__name__,
            reason=str(error),
            method=event.http_method,
            path=event.path,
        )
        body: ErrorJson = {"error": type(error).__name__, "message": str(error)}
        if isinstance(error, Unauthorized):  # as API Gateway's JWT authorizer answers (RFC 6750)
            return _response(status, body, **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return _response(status, body)

    def no_route(self, error: Exception) -> Response[Any]:
        event = self.app.current_event
        return self.refused(
            NotFound(f"no route {event.http_method} {event.path}: the routes are listed in the README (review API)")
        )


@functools.cache
def resolver() -> APIGatewayHttpResolver:
    """The one resolver of the process, built on the first request."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    app = APIGatewayHttpResolver()
    _Routes(app).register()
    return app


def handle(event: RawEvent, context: LambdaContext, backend: Backend) -> HttpResponse:
    """Route one API Gateway HTTP API event (payload format 2.0) and add the security headers."""
    app = resolver()
    app.context["backend"] = backend  # cleared when resolve() ends
    response: HttpResponse = app.resolve(event, context)  # type: ignore[arg-type,assignment]
    headers = response.setdefault("headers", {})
    headers.update(security_headers(request_path(event), content_security_policy(backend.settings)))
    return response


def request_path(event: RawEvent) -> str:
    """The request's path without the stage (``$default``: none; a named stage prefixes rawPath)."""
    path = str(event.get("rawPath") or "/")
    context = event.get("requestContext")
    stage = context.get("stage") if isinstance(context, Mapping) else None
    if isinstance(stage, str) and stage != "$default" and path.startswith(f"/{stage}/"):
        return path[len(stage) + 1 :]
    return path


def content_security_policy(settings: ReviewSettings) -> str:
    """The page's policy (``bulkqa.review.page``): images from the stack's and the image bucket's S3 hosts."""
    from bulkqa.review import page

    origins = page.image_origins(settings.stack.bucket, settings.region, settings.image_bucket)
    return page.content_security_policy(origins, settings.cognito_endpoint)
