"""API Gateway (HTTP API), Cognito's JSON API and S3 presigned GETs on 127.0.0.1, for the local cloud.

``with ReviewServer(cloud) as server:`` serves, on ``server.url``:

- the routes of the template's ``AWS::Serverless::HttpApi`` (the HttpApi events of the functions whose
  ``ApiId`` is that API), selected as API Gateway selects them: the most specific route wins (a literal
  segment before ``{param}`` before ``{proxy+}``, a named method before ``ANY``), no match is
  ``404 {"message":"Not Found"}``. The function gets a payload format 2.0 event and its answer is read
  as API Gateway reads it (a dict without ``statusCode`` is a 200 JSON body).
- the JWT authorizer of routes that have one, as API Gateway's does it (see :class:`JwtVerifier`).
- ``POST /_local/cognito-idp``: Cognito's JSON API (``X-Amz-Target``) answered by moto, so the page and
  boto3 (``endpoint_url``) sign in against the local pool.
- ``GET /_local/s3/<bucket>/<key>``: the API's presigned image URLs, rewritten to point here (moto has
  no S3 endpoint a browser can reach); expired ones are 403; a key not in the bucket is served as an
  SVG placeholder naming the image's folder. Placeholders exist only here, never in the stack.
- ``POST /_local/clock`` ``{"advance": seconds}``: moves the review code's clock
  (``bulkqa.review.clock.now``) and the presigned URLs' expiry check forward; the scheduled sweeper
  then runs once (the schedule's runs during the skipped time, collapsed into one).

Tokens and presigned query strings are never logged.

In tests::

    with LocalCloud({"ReviewBackend": "SelfHosted", "WorkteamArn": ""}) as cloud, ReviewServer(cloud) as server:
        cloud.upload("incoming/x.csv", data)  # starts the workflow
        alice = ReviewerClient(server.url, "alice", temporary_password, server.cognito_endpoint)
        ...

(``bulkqa_local.serve.create_accounts(cloud, n)`` makes reviewer accounts; ``server.advance(seconds)`` is
``POST /_local/clock``.)
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from types import TracebackType

    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

    from .cloud import LocalCloud

HOST = "127.0.0.1"
ACCOUNT = "123456789012"
#: API Gateway's own answers (its gateway responses), byte for byte
NOT_FOUND = b'{"message":"Not Found"}'
UNAUTHORIZED = b'{"message":"Unauthorized"}'
INTERNAL_ERROR = b'{"message":"Internal Server Error"}'
#: A token lacking the route's scopes (an ID token: Cognito puts no ``scope`` in it) is refused with 401,
#: as the project's contract says. Real API Gateway may answer 403 {"message":"Forbidden"} with
#: ``error="insufficient_scope"`` (floci-io/floci PR #2011, measured); either way the function never runs.
SCOPE_FAILURE_STATUS = 401


class ReviewServerError(Exception):
    """The local review server cannot start: the message says what is missing and what to do."""


# ---------------------------------------------------------------------------------------------- routes
@dataclass(frozen=True)
class JwtAuth:
    """A route's JWT authorizer: the issuer, the accepted audiences (``aud`` or ``client_id``), scopes."""

    issuer: str
    audience: tuple[str, ...]
    scopes: tuple[str, ...] = ()

    @property
    def user_pool_id(self) -> str:
        return self.issuer.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Route:
    """One route of the HTTP API as the template declares it: ``METHOD /path`` -> function (auth or None)."""

    method: str  # GET, POST... or ANY
    path: str  # /api/jobs/{job}, /api/{proxy+}, /
    function: str  # the function's name (its FunctionName)
    auth: JwtAuth | None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(s for s in self.path.split("/") if s)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if this route takes ``method path``, else None."""
        if self.method not in ("ANY", method):
            return None
        parts = [p for p in path.split("/") if p]
        params: dict[str, str] = {}
        for n, segment in enumerate(self.segments):
            if segment.startswith("{") and segment.endswith("+}"):
                if n >= len(parts):
                    return None  # a greedy variable takes one segment or more
                params[segment[1:-2]] = unquote("/".join(parts[n:]))
                return params
            if n >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                params[segment[1:-1]] = unquote(parts[n])
            elif segment != parts[n]:
                return None
        return params if len(parts) == len(self.segments) else None

    def specificity(self) -> tuple[tuple[int, ...], int]:
        """Smaller is more specific: per segment literal 0 < {param} 1 < {proxy+} 2, then a method before ANY."""
        kinds = tuple(
            2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self.segments
        )  # compared segment by segment from the left; a longer literal prefix wins
        return kinds + (3,) * (16 - len(kinds)), 1 if self.method == "ANY" else 0


def select_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """API Gateway's route selection: the most specific matching route, or None (404)."""
    found = [(route, params) for route in routes if (params := route.match(method, path)) is not None]
    if not found:
        return None
    return min(found, key=lambda pair: pair[0].specificity())


def routes_from_template(cloud: LocalCloud, api: str = "ReviewApi") -> list[Route]:
    """The routes of ``api`` as the template declares them: the HttpApi events of functions with that ApiId.

    Uses ``LocalCloud.http_routes(api)`` when the local cloud provides it, else reads the template.
    """
    provided = getattr(cloud, "http_routes", None)
    if callable(provided):
        try:
            found = [_as_route(r) for r in provided(api)]
        except KeyError as exc:
            raise ReviewServerError(
                f"the local stack has no {api}: start it with ReviewBackend=SelfHosted and try again"
            ) from exc
        if not found:
            raise ReviewServerError(f"no function declares an HttpApi event on {api}: nothing to serve")
        return found
    stack = cloud.stack
    resources = stack.resources
    if api not in resources:
        raise ReviewServerError(
            f"the template has no {api}: deploy the self-hosted backend (ReviewBackend=SelfHosted) and try again"
        )
    api_props = resources[api].get("Properties", {})
    auth_props = api_props.get("Auth", {})
    authorizers: dict[str, Any] = auth_props.get("Authorizers", {})
    default = auth_props.get("DefaultAuthorizer")
    routes: list[Route] = []
    for logical, spec in resources.items():
        if spec.get("Type") != "AWS::Serverless::Function" or logical not in stack.refs:
            continue
        for event in spec.get("Properties", {}).get("Events", {}).values():
            props = event.get("Properties", {})
            if event.get("Type") != "HttpApi" or props.get("ApiId") != {"Ref": api}:
                continue
            route_auth = props.get("Auth", {})
            name = route_auth.get("Authorizer", default)
            auth: JwtAuth | None = None
            if name and name != "NONE":
                config = authorizers[name]
                jwt = stack.resolve(config.get("JwtConfiguration", {}))
                scopes = route_auth.get("AuthorizationScopes", config.get("AuthorizationScopes", []))
                auth = JwtAuth(str(jwt["issuer"]), tuple(str(a) for a in jwt["audience"]), tuple(scopes))
            method = str(props.get("Method", "ANY")).upper()
            routes.append(
                Route(
                    "ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method,
                    str(props["Path"]),
                    stack.refs[logical],
                    auth,
                )
            )
    if not routes:
        raise ReviewServerError(f"no function declares an HttpApi event on {api} in the template: nothing to serve")
    return routes


def _as_route(value: object) -> Route:
    """A route handed over by ``LocalCloud.http_routes`` (a Route, a dataclass or a mapping with our fields)."""
    if isinstance(value, Route):
        return value
    get: Callable[[str], Any] = value.get if isinstance(value, Mapping) else lambda name: getattr(value, name, None)
    auth = get("auth")
    jwt: JwtAuth | None = None
    if auth and auth != "NONE":
        read: Callable[[str], Any] = auth.get if isinstance(auth, Mapping) else lambda name: getattr(auth, name, None)
        jwt = JwtAuth(str(read("issuer")), tuple(read("audience") or ()), tuple(read("scopes") or ()))
    function = get("function") or get("function_name")
    return Route(str(get("method")).upper(), str(get("path")), str(function), jwt)


# ------------------------------------------------------------------------------------------ JWT authorizer
class Rejected(Exception):
    """The authorizer refuses the request; the message is the www-authenticate error_description."""

    def __init__(self, description: str, status: int = 401, error: str = "invalid_token") -> None:
        super().__init__(description)
        self.status, self.error = status, error


def stringify_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway's JWT authorizer hands them to the function: every value a string.

    Numbers and booleans become their text (``"exp": "1787996002"``, DefinitelyTyped PR #75458 shows a
    captured event); arrays become ``[a b]``, space separated in brackets (``cognito:groups`` ->
    ``"[reviewers admins]"``: aws-solutions-library-samples/guidance-for-claude-code-with-amazon-bedrock
    PR #803, floci-io/floci PR #2011, measured); null claims are left out; objects become JSON text.
    """
    out: dict[str, str] = {}
    for name, value in claims.items():
        if value is None:
            continue
        out[name] = _claim_text(value)
    return out


def _claim_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_claim_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class JwtVerifier:
    """API Gateway's JWT authorizer against the local Cognito's keys (moto's JWKS).

    As documented ("Control access to HTTP APIs with JWT authorizers"; the troubleshooting page): the
    token from the Authorization header (bare or after ``Bearer``); RS256 signature with the key named by
    ``kid``; ``iss`` equal to the issuer; ``aud`` in the audience, or ``client_id`` when there is no
    ``aud``; ``exp`` after now, ``nbf`` and ``iat`` before now; with route scopes, the ``scope`` claim must
    hold at least one of them. Time is the real time: moto signs its tokens with ``time.time()``.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        from joserfc import jwk
        from moto.utilities.utils import load_resource

        self._keys = jwk.KeySet.import_key_set(load_resource("cognitoidp/resources/jwks-public.json"))
        self._kids = {str(key.kid) for key in self._keys.keys}
        self._now = now

    def verify(self, header: str | None, auth: JwtAuth) -> tuple[dict[str, Any], list[str] | None]:
        """(claims, granted scopes or None) of a valid token; :class:`Rejected` otherwise."""
        from joserfc import jws, jwt
        from joserfc.errors import JoseError

        if not header:
            raise Rejected("no token in the Authorization header")
        token = header.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        try:
            protected = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError, UnicodeError) as exc:
            raise Rejected("the token is not a JWT") from exc
        if protected.get("kid") not in self._kids:
            raise Rejected("the token's kid is not in the issuer's key set")
        try:
            decoded = jwt.decode(token, self._keys, algorithms=["RS256"])
        except (JoseError, ValueError) as exc:
            raise Rejected("the token's signature is invalid") from exc
        claims = dict(decoded.claims)
        if claims.get("iss") != auth.issuer:
            raise Rejected("the token does not have a valid issuer")
        audience = claims.get("aud") if "aud" in claims else claims.get("client_id")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(a in auth.audience for a in audiences):
            raise Rejected("the token does not have a valid audience")
        now = self._now()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
            raise Rejected("the token has expired")
        for name in ("nbf", "iat"):
            if name in claims and (not isinstance(claims[name], (int, float)) or claims[name] > now + 1):
                raise Rejected(f"the token's {name} is in the future")
        if not auth.scopes:
            return claims, None
        held = str(claims.get("scope") or claims.get("scp") or "").split()
        granted = [s for s in auth.scopes if s in held]
        if not granted:
            raise Rejected("the token does not have the required scopes", SCOPE_FAILURE_STATUS, "insufficient_scope")
        return claims, granted


# ------------------------------------------------------------------------------------------- placeholders
def placeholder_svg(key: str) -> bytes:
    """An image standing in for ``key``: its folder (the sample's true class) large, its file name small."""
    parts = [p for p in key.split("/") if p]
    name = parts[-1] if parts else key
    folder = parts[-2] if len(parts) > 1 else "(no folder)"
    size = max(14, min(48, int(560 / max(1, len(folder)))))

    def text(value: str) -> str:  # XML-escaped (quotes too): names come from the CSV
        cleaned = "".join(ch for ch in value if ch >= " " and ch not in "\ufffe\uffff")
        return html.escape(cleaned, quote=True)  # & < > " ' : safe in SVG text and attributes

    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300" viewBox="0 0 400 300">'
        '<rect width="400" height="300" fill="#eef1f5" stroke="#9aa5b1"/>'
        f'<text x="200" y="150" font-family="sans-serif" font-size="{size}" font-weight="bold" fill="#1f2933"'
        f' text-anchor="middle">{text(folder)}</text>'
        '<text x="200" y="200" font-family="sans-serif" font-size="14" fill="#52606d"'
        f' text-anchor="middle">{text(name)}</text>'
        '<text x="200" y="285" font-family="sans-serif" font-size="11" fill="#7b8794"'
        ' text-anchor="middle">local placeholder (no such object in the local bucket)</text>'
        "</svg>"
    )
    return svg.encode("utf-8")


# ------------------------------------------------------------------------------------------------ server
_S3_URL = re.compile(
    r"https://(?:(?P<vbucket>[a-z0-9][a-z0-9.\-]{0,61}[a-z0-9])\.s3(?:[.\-](?P<vregion>[a-z0-9\-]+))?\.amazonaws\.com"
    r"|s3(?:[.\-](?P<pregion>[a-z0-9\-]+))?\.amazonaws\.com/(?P<pbucket>[a-z0-9][a-z0-9.\-]{0,61}[a-z0-9]))"
    r"/(?P<rest>[^\"\s\\]*)"
)


class ReviewServer:
    """``with ReviewServer(cloud) as server:`` the local HTTP API on ``server.url`` (see the module doc)."""

    def __init__(
        self,
        cloud: LocalCloud,
        *,
        port: int = 0,
        api: str = "ReviewApi",
        routes: list[Route] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.cloud = cloud
        self.routes = routes if routes is not None else routes_from_template(cloud, api)
        self.log: Callable[[str], None] = log or (lambda message: None)
        self._requested_port = port
        self._offset = 0.0
        self._offset_lock = threading.Lock()
        self._verifier = JwtVerifier()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._saved_env: list[tuple[dict[str, str], str, str | None]] = []
        self._saved_clock: tuple[object, object] | None = None
        self._cognito: Any = None

    # -------------------------------------------------------------- lifecycle
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise ReviewServerError("the review server is not started: use it as `with ReviewServer(cloud) as s:`")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The API's base URL, ending in "/" (the page is ``GET /``), as the stack's ReviewerUrl output."""
        return f"http://{HOST}:{self.port}/"

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def cognito_endpoint(self) -> str:
        return f"{self.origin}/_local/cognito-idp"

    def __enter__(self) -> ReviewServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = _Server((HOST, self._requested_port), Handler)
        for function in {route.function for route in self.routes}:
            self._set_function_env(function, "COGNITO_ENDPOINT", self.cognito_endpoint)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="bulkqa-review-server", daemon=True)
        self._thread.start()
        self.log(f"review server on {self.url}")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for env, key, value in reversed(self._saved_env):
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        if self._saved_clock is not None:
            module, original = self._saved_clock
            setattr(module, "now", original)  # noqa: B010  # the module's attribute, put back
        self._httpd = None

    def _set_function_env(self, function: str, key: str, value: str) -> None:
        fn = self.cloud.functions.get(function)
        if fn is None:
            return
        self._saved_env.append((fn.environment, key, fn.environment.get(key)))
        fn.environment[key] = value

    # -------------------------------------------------------------- the clock
    def now(self) -> float:
        """The review code's time: the real time plus every ``/_local/clock`` advance."""
        with self._offset_lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the review code's clock forward (patches ``bulkqa.review.clock.now``); the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward: give a positive number of seconds")
        with self._offset_lock:
            self._offset += seconds
        if self._saved_clock is None:
            try:
                clock = importlib.import_module("bulkqa.review.clock")
            except ImportError:  # the review package has no clock yet: only the presigned URLs' expiry moves
                pass
            else:
                self._saved_clock = (clock, getattr(clock, "now"))  # noqa: B009
                setattr(clock, "now", self.now)  # noqa: B010  # every reader calls clock.now()
        self.sweep()
        return self.now()

    def sweep(self) -> None:
        """Run the stack's scheduled functions (the sweeper) once, as EventBridge Scheduler's next tick would.

        Uses the local cloud's ``schedules``/``fire_schedule`` when it records them, else invokes
        ``ReviewSweeperFunction`` with an empty input (a ScheduleV2 target without ``Input``).
        """
        from .cloud import HandlerError

        cloud: Any = self.cloud
        schedules = getattr(cloud, "schedules", None)
        fire = getattr(cloud, "fire_schedule", None)
        try:
            if schedules is not None and callable(fire):
                for schedule in list(schedules):
                    fire(schedule["name"])
                return
            name = self.cloud.stack.refs.get("ReviewSweeperFunction")
            if name and name in self.cloud.functions:
                self.cloud.invoke(name, {})
        except HandlerError as exc:
            self.log(f"scheduled function failed: {exc.error_type}")

    # -------------------------------------------------------------- rewriting
    def rewrite_s3_urls(self, text: str) -> str:
        """S3 URLs (virtual-hosted or path style) in an API response -> this server's /_local/s3/ URLs."""

        def local(match: re.Match[str]) -> str:
            bucket = match.group("vbucket") or match.group("pbucket")
            return f"{self.origin}/_local/s3/{bucket}/{match.group('rest')}"

        return _S3_URL.sub(local, text)

    def add_img_origin(self, csp: str) -> str:
        """A Content-Security-Policy whose img-src also allows this server's /_local/s3/ images."""
        directives = [d.strip() for d in csp.split(";") if d.strip()]
        for n, directive in enumerate(directives):
            if directive.split()[0].lower() == "img-src":
                if self.origin not in directive.split():
                    directives[n] = f"{directive} {self.origin}"
                return "; ".join(directives)
        return "; ".join([*directives, f"img-src {self.origin}"])

    # -------------------------------------------------------------- AWS clients
    def cognito(self) -> CognitoIdentityProviderClient:
        """The runner's cognito-idp client on moto (one for the server: boto3 clients are thread-safe)."""
        with self._offset_lock:
            if self._cognito is None:
                make: Any = self.cloud.admin.client  # the runner's session: not counted as the stack's usage
                self._cognito = make("cognito-idp", region_name=self.cloud.stack.region)
            client: CognitoIdentityProviderClient = self._cognito
            return client


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a browser's keep-alive connection never holds the shutdown
    request_queue_size = 128  # many reviewers connecting at once (the listen backlog; socketserver's is 5)


class _Handler(BaseHTTPRequestHandler):
    owner: ReviewServer
    protocol_version = "HTTP/1.1"
    server_version = "bulkqa-local-apigw"
    sys_version = ""  # no "Python/3.x" in the Server header

    def log_message(self, format: str, *args: Any) -> None:  # the base class's name
        """http.server's own log lines would name the query string: :meth:`_log` logs instead."""

    # every method goes through one dispatcher
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        started = time.perf_counter()
        split = urlsplit(self.path)
        path = split.path or "/"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status = 500
        try:
            if path.startswith("/_local/cognito-idp"):
                status = self._cognito(body)
            elif path.startswith("/_local/s3/"):
                status = self._s3(path, split.query)
            elif path == "/_local/clock":
                status = self._clock(body)
            else:
                status = self._api(path, split.query, body)
        except Exception as exc:  # the server answers; the log says which error class, no request data
            self.owner.log(f"{self.command} {path}: {type(exc).__name__}")
            status = self._send(500, INTERNAL_ERROR, {"Content-Type": "application/json"})
        # the path only: never the query string (presigned signatures) nor any header (tokens)
        self.owner.log(f"{self.command} {path} {status} {1000 * (time.perf_counter() - started):.0f} ms")

    def _send(
        self, status: int, body: bytes, headers: Mapping[str, str] | None = None, cookies: tuple[str, ...] = ()
    ) -> int:
        self.send_response(status)
        sent = {k.lower() for k in (headers or {})}
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        if "content-length" not in sent:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status

    # -------------------------------------------------------------- the API
    def _api(self, path: str, query: str, body: bytes) -> int:
        owner = self.owner
        json_headers = {"Content-Type": "application/json"}
        selected = select_route(owner.routes, self.command, path)
        if selected is None:
            return self._send(404, NOT_FOUND, json_headers)
        route, params = selected
        owner.cloud.usage.add_api_request()  # HTTP APIs bill every request that matches a route
        authorizer: dict[str, Any] | None = None
        if route.auth is not None:
            try:
                claims, scopes = owner._verifier.verify(self.headers.get("Authorization"), route.auth)
            except Rejected as exc:
                scope = " ".join(route.auth.scopes)
                challenge = f'Bearer scope="{scope}" error="{exc.error}" error_description="{exc}"'
                body = UNAUTHORIZED if exc.status == 401 else b'{"message":"Forbidden"}'
                return self._send(exc.status, body, {**json_headers, "www-authenticate": challenge})
            authorizer = {"jwt": {"claims": stringify_claims(claims), "scopes": scopes}}
        event = self._event(route, path, query, body, params, authorizer)
        from .cloud import HandlerError

        try:
            result = owner.cloud.invoke(route.function, event)
        except HandlerError as exc:
            owner.log(f"{route.route_key}: the function failed with {exc.error_type}")
            return self._send(500, INTERNAL_ERROR, json_headers)
        status, headers, cookies, payload = _response(result)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if "json" in content_type:
            payload = owner.rewrite_s3_urls(payload.decode("utf-8")).encode("utf-8")
        headers = {
            k: (owner.add_img_origin(v) if k.lower() == "content-security-policy" else v)
            for k, v in headers.items()
            if k.lower() != "content-length"
        }
        headers.setdefault("apigw-requestid", event["requestContext"]["requestId"])
        return self._send(status, payload, headers, cookies)

    def _event(
        self,
        route: Route,
        path: str,
        query: str,
        body: bytes,
        params: dict[str, str],
        authorizer: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The payload format 2.0 event API Gateway sends (the documented fields; headers lower-cased)."""
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for key, value in self.headers.items():
            name = key.lower()
            if name == "cookie":
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
                continue
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        headers.setdefault("x-forwarded-for", self.client_address[0])
        headers.setdefault("x-forwarded-proto", "http")
        headers.setdefault("x-forwarded-port", str(self.owner.port))
        queries: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            queries[key] = f"{queries[key]},{value}" if key in queries else value
        now = time.time()
        request_id = base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
        context: dict[str, Any] = {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": f"{HOST}:{self.owner.port}",
            "domainPrefix": HOST.split(".")[0],
            "http": {
                "method": self.command,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": self.client_address[0],
                "userAgent": self.headers.get("User-Agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": formatdate(now, usegmt=True),
            "timeEpoch": int(now * 1000),
        }
        if authorizer is not None:
            context["authorizer"] = authorizer
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        if queries:
            event["queryStringParameters"] = queries
        if params:
            event["pathParameters"] = params
        if body:
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode("ascii")
                event["isBase64Encoded"] = True
        return event

    # -------------------------------------------------------------- Cognito
    def _cognito(self, body: bytes) -> int:
        cors = {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "content-type, x-amz-target, x-amz-user-agent, cache-control",
            "Access-Control-Max-Age": "600",
        }
        if self.command == "OPTIONS":
            return self._send(204, b"", cors)
        headers = {**cors, "Content-Type": "application/x-amz-json-1.1"}
        if self.command != "POST":
            return self._send(400, _cognito_error("InvalidRequest", "use POST with X-Amz-Target"), headers)
        target = self.headers.get("X-Amz-Target", "")
        if not target.startswith("AWSCognitoIdentityProviderService."):
            return self._send(400, _cognito_error("UnknownOperationException", "no X-Amz-Target"), headers)
        from botocore import xform_name
        from botocore.exceptions import ClientError, ParamValidationError

        action = target.split(".", 1)[1]
        client = self.owner.cognito()
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise ValueError("the body is not a JSON object")
            operation = getattr(client, xform_name(action), None)
            if operation is None or not action[:1].isupper():
                return self._send(400, _cognito_error("UnknownOperationException", action), headers)
            result = dict(operation(**request))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            return self._send(
                status if status >= 400 else 400,
                _cognito_error(str(error.get("Code", "InternalErrorException")), str(error.get("Message", ""))),
                headers,
            )
        except (ParamValidationError, ValueError, TypeError) as exc:
            return self._send(400, _cognito_error("InvalidParameterException", str(exc)), headers)
        result.pop("ResponseMetadata", None)
        return self._send(200, json.dumps(result, default=_json_default).encode("utf-8"), headers)

    # -------------------------------------------------------------- S3
    def _s3(self, path: str, query: str) -> int:
        rest = path.removeprefix("/_local/s3/")
        bucket, _, raw_key = rest.partition("/")
        key = unquote(raw_key)
        if self.command not in ("GET", "HEAD") or not bucket or not key:
            return self._send(400, b"GET /_local/s3/<bucket>/<key>", {"Content-Type": "text/plain"})
        expires_at = _presigned_expiry(dict(parse_qsl(query, keep_blank_values=True)))
        xml = {"Content-Type": "application/xml"}
        if expires_at is None:
            return self._send(
                403, b"<Error><Code>AccessDenied</Code><Message>not a presigned URL</Message></Error>", xml
            )
        if self.owner.now() > expires_at:
            return self._send(
                403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", xml
            )
        s3 = self.owner.cloud.client("s3")
        from botocore.exceptions import ClientError

        common = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        try:
            obj = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "NoSuchBucket", "404"):
                raise
            return self._send(
                200,
                placeholder_svg(key),
                {**common, "Content-Type": "image/svg+xml", "Content-Security-Policy": "default-src 'none'"},
            )
        data = obj["Body"].read()
        return self._send(200, data, {**common, "Content-Type": obj.get("ContentType") or "application/octet-stream"})

    # -------------------------------------------------------------- the clock
    def _clock(self, body: bytes) -> int:
        headers = {"Content-Type": "application/json"}
        if self.command == "GET":
            return self._send(200, json.dumps({"now": self.owner.now()}).encode(), headers)
        try:
            advance = float(json.loads(body or b"{}").get("advance", 0))
            now = self.owner.advance(advance)
        except (ValueError, AttributeError, TypeError) as exc:
            message = {"message": f'send {{"advance": seconds}} with a positive number ({exc})'}
            return self._send(400, json.dumps(message).encode(), headers)
        return self._send(200, json.dumps({"now": now}).encode(), headers)


def _cognito_error(kind: str, message: str) -> bytes:
    return json.dumps({"__type": kind, "message": message}).encode("utf-8")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()  # Cognito's JSON protocol sends timestamps as epoch seconds
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _presigned_expiry(params: Mapping[str, str]) -> float | None:
    """When a presigned URL stops working (SigV4: X-Amz-Date + X-Amz-Expires; SigV2: Expires), or None."""
    if "X-Amz-Date" in params and "X-Amz-Expires" in params:
        try:
            signed = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return signed.timestamp() + int(params["X-Amz-Expires"])
        except ValueError:
            return None
    if "Expires" in params:
        try:
            return float(params["Expires"])
        except ValueError:
            return None
    return None


def _response(result: Any) -> tuple[int, dict[str, str], tuple[str, ...], bytes]:
    """A function's answer read as API Gateway reads a payload format 2.0 response."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[str(name)] = ",".join(str(v) for v in values)
        cookies = tuple(str(c) for c in result.get("cookies") or [])
        raw = result.get("body")
        if raw is None:
            body = b""
        elif result.get("isBase64Encoded"):
            body = base64.b64decode(str(raw))
        else:
            body = (raw if isinstance(raw, str) else json.dumps(raw)).encode("utf-8")
        return int(result["statusCode"]), headers, cookies, body
    # no statusCode: API Gateway assumes 200, the whole answer is the JSON body
    body = (result if isinstance(result, str) else json.dumps(result)).encode("utf-8")
    return 200, {"Content-Type": "application/json"}, (), body


def iter_routes(routes: list[Route]) -> Iterator[str]:
    """The route keys, most specific first (for logs and error messages)."""
    for route in sorted(routes, key=lambda r: r.specificity()):
        yield route.route_key


__all__ = [
    "JwtAuth",
    "JwtVerifier",
    "Rejected",
    "ReviewServer",
    "ReviewServerError",
    "Route",
    "iter_routes",
    "placeholder_svg",
    "routes_from_template",
    "select_route",
    "stringify_claims",
]
