"""The local API Gateway / Cognito / S3 stand-in (bulkqa_local.review_server) on moto, with a fake function.

The server is driven over real HTTP on 127.0.0.1; the function behind the routes is an echo that
returns the event it received, so the tests see exactly what API Gateway would hand to the function.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from joserfc import jwk, jwt
from moto import mock_aws
from moto.utilities.utils import load_resource

from bulkqa_local import cfn
from bulkqa_local.review_server import (
    JwtAuth,
    ReviewServer,
    Route,
    placeholder_svg,
    routes_from_template,
    select_route,
    stringify_claims,
)
from bulkqa_local.usage import Usage

REGION = "us-east-1"
SCOPE = "aws.cognito.signin.user.admin"


@dataclass
class _Fn:
    environment: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeCloud:
    """What ReviewServer uses of LocalCloud: stack (refs, region), functions, invoke, admin, client("s3")."""

    admin: boto3.Session
    stack: Any
    functions: dict[str, _Fn]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    def invoke(self, name: str, payload: dict[str, Any]) -> Any:
        self.calls.append((name, payload))
        if name == "raw":
            return {"echo": payload["rawPath"]}  # no statusCode: a 200 JSON body
        body = {
            "event": payload,
            "image": "https://bulkqa-images.s3.amazonaws.com/cats/x.jpg?X-Amz-Date=20260101T000000Z&X-Amz-Expires=60",
            "env": dict(self.functions[name].environment),
        }
        return {
            "statusCode": 200,
            "headers": {
                "Content-Type": "application/json",
                "Content-Security-Policy": "default-src 'none'; img-src https://b.s3.amazonaws.com",
            },
            "body": json.dumps(body),
        }

    def client(self, service: str) -> Any:
        make: Any = self.admin.client  # one call for any service name
        return make(service, region_name=REGION)


@dataclass
class Pool:
    pool_id: str
    client_id: str
    other_client_id: str


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    )
    with mock_aws():
        yield boto3.Session(region_name=REGION)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def pool(aws: boto3.Session) -> Pool:
    idp = aws.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="reviewers")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="page")["UserPoolClient"]["ClientId"]
    other = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="other")["UserPoolClient"]["ClientId"]
    for group in ("reviewers", "admins"):
        idp.create_group(UserPoolId=pool_id, GroupName=group)
    idp.admin_create_user(UserPoolId=pool_id, Username="alice", TemporaryPassword="Temp-pass-1!")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="alice", Password="Alice-pass-1!", Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username="alice", GroupName="reviewers")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username="alice", GroupName="admins")
    idp.admin_create_user(UserPoolId=pool_id, Username="bob", TemporaryPassword="Temp-pass-2!")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="bulkqa-images")
    s3.put_object(Bucket="bulkqa-images", Key="cats/real.jpg", Body=b"JPEG", ContentType="image/jpeg")
    return Pool(pool_id, client_id, other)


def _routes(pool: Pool) -> list[Route]:
    auth = JwtAuth(f"https://cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}", (pool.client_id,), (SCOPE,))
    return [
        Route("GET", "/", "api", None),
        Route("GET", "/assets/{file}", "api", None),
        Route("GET", "/api/config", "api", None),
        Route("ANY", "/api/{proxy+}", "api", auth),
        Route("GET", "/raw", "raw", None),
    ]


@pytest.fixture
def server(aws: boto3.Session, pool: Pool) -> Iterator[tuple[ReviewServer, FakeCloud]]:
    stack = cfn.Stack({"Resources": {}}, "bulkqa-local", REGION)
    cloud = FakeCloud(aws, stack, {"api": _Fn({"COGNITO_ENDPOINT": "https://cognito-idp.x/"}), "raw": _Fn()})
    with ReviewServer(cloud, routes=_routes(pool)) as running:  # type: ignore[arg-type]
        yield running, cloud
    assert cloud.functions["api"].environment["COGNITO_ENDPOINT"] == "https://cognito-idp.x/"  # put back


def _call(
    url: str, method: str = "GET", body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _tokens(pool: Pool, username: str = "alice", password: str = "Alice-pass-1!") -> dict[str, str]:
    idp = boto3.client("cognito-idp", region_name=REGION)
    result = idp.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return dict(result["AuthenticationResult"])  # type: ignore[arg-type]


def _forge(claims: dict[str, Any], kid: str = "dummy") -> str:
    key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)


# ------------------------------------------------------------------------------------------------ routing
def test_route_selection_is_most_specific_first() -> None:
    routes = [
        Route("ANY", "/api/{proxy+}", "proxy", None),
        Route("GET", "/api/jobs/{job}", "param", None),
        Route("GET", "/api/jobs/open", "literal", None),
        Route("ANY", "/api/jobs/open", "any-literal", None),
        Route("GET", "/", "root", None),
    ]

    def target(method: str, path: str) -> str | None:
        found = select_route(routes, method, path)
        return found[0].function if found else None

    assert target("GET", "/api/jobs/open") == "literal"
    assert target("POST", "/api/jobs/open") == "any-literal"
    assert target("GET", "/api/jobs/j1") == "param"
    assert select_route(routes, "GET", "/api/jobs/j%2E1") == (routes[1], {"job": "j.1"})
    assert target("POST", "/api/jobs/j1") == "proxy"
    assert select_route(routes, "POST", "/api/tasks/t.1.0/answer") == (routes[0], {"proxy": "tasks/t.1.0/answer"})
    assert target("GET", "/") == "root"
    assert target("GET", "/api") is None  # {proxy+} needs at least one segment
    assert target("POST", "/") is None


def test_unknown_route_is_api_gateways_404(server: tuple[ReviewServer, FakeCloud]) -> None:
    running, cloud = server
    status, _, body = _call(running.url + "nothing/here")
    assert (status, body) == (404, b'{"message":"Not Found"}')
    status, _, body = _call(running.url + "assets/a/b")  # {file} is one segment
    assert status == 404
    assert cloud.calls == []


def test_public_route_event_is_payload_format_2(server: tuple[ReviewServer, FakeCloud]) -> None:
    running, cloud = server
    before = cloud.usage.api_requests
    status, headers, body = _call(running.url + "assets/app.js?v=1&v=2", headers={"X-Custom": "Yes"})
    assert status == 200
    assert cloud.usage.api_requests == before + 1  # a request matching a route is billed (aws-usage.json)
    event = json.loads(body)["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /assets/{file}"
    assert event["rawPath"] == "/assets/app.js"
    assert event["rawQueryString"] == "v=1&v=2"
    assert event["queryStringParameters"] == {"v": "1,2"}
    assert event["pathParameters"] == {"file": "app.js"}
    assert event["headers"]["x-custom"] == "Yes"
    context = event["requestContext"]
    assert context["http"]["method"] == "GET" and context["http"]["path"] == "/assets/app.js"
    assert context["stage"] == "$default" and context["routeKey"] == "GET /assets/{file}"
    assert "authorizer" not in context
    assert event["isBase64Encoded"] is False
    # the function's env names the local Cognito endpoint (GET /api/config hands it to the page)
    assert json.loads(body)["env"]["COGNITO_ENDPOINT"] == running.cognito_endpoint
    # S3 URLs in JSON are rewritten to the server; the CSP's img-src allows it
    assert json.loads(body)["image"].startswith(f"{running.origin}/_local/s3/bulkqa-images/cats/x.jpg?X-Amz-Date=")
    assert headers["Content-Security-Policy"].endswith(f"img-src https://b.s3.amazonaws.com {running.origin}")
    status, headers, body = _call(running.url + "raw")
    assert (status, json.loads(body)) == (200, {"echo": "/raw"})


# ------------------------------------------------------------------------------------------------ JWT
def test_valid_access_token_reaches_the_function_with_stringified_claims(
    server: tuple[ReviewServer, FakeCloud], pool: Pool
) -> None:
    running, _ = server
    token = _tokens(pool)["AccessToken"]
    status, _, body = _call(running.url + "api/jobs", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    event = json.loads(body)["event"]
    assert event["routeKey"] == "ANY /api/{proxy+}" and event["pathParameters"] == {"proxy": "jobs"}
    jwt_context = event["requestContext"]["authorizer"]["jwt"]
    claims = jwt_context["claims"]
    assert claims["token_use"] == "access" and claims["client_id"] == pool.client_id
    assert claims["cognito:groups"] in ("[reviewers admins]", "[admins reviewers]")
    assert isinstance(claims["exp"], str) and claims["exp"].isdigit()
    assert jwt_context["scopes"] == [SCOPE]
    # a bare token (no "Bearer") is accepted too
    assert _call(running.url + "api/jobs", headers={"Authorization": token})[0] == 200


def test_refused_tokens_are_401_and_never_reach_the_function(
    server: tuple[ReviewServer, FakeCloud], pool: Pool
) -> None:
    running, cloud = server
    tokens = _tokens(pool)
    access = tokens["AccessToken"]
    head, payload, signature = access.split(".")
    flipped = ("A" if signature[10] != "A" else "B").join((signature[:10], signature[11:]))
    now = int(time.time())
    base = {
        "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}",
        "sub": "x",
        "client_id": pool.client_id,
        "token_use": "access",
        "scope": SCOPE,
        "iat": now - 10,
        "exp": now + 600,
    }
    refused = {
        "none": None,
        "garbage": "Bearer not-a-jwt",
        "tampered": f"Bearer {head}.{payload}.{flipped}",
        "id token (no scope)": f"Bearer {tokens['IdToken']}",
        "expired": f"Bearer {_forge({**base, 'iat': now - 7200, 'exp': now - 3600})}",
        "future nbf": f"Bearer {_forge({**base, 'nbf': now + 3600})}",
        "wrong client": f"Bearer {_forge({**base, 'client_id': pool.other_client_id})}",
        "wrong aud wins over client_id": f"Bearer {_forge({**base, 'aud': pool.other_client_id})}",
        "wrong issuer": f"Bearer {_forge({**base, 'iss': 'https://cognito-idp.us-east-1.amazonaws.com/other'})}",
        "unknown kid": f"Bearer {_forge(base, kid='other')}",
        "other scope": f"Bearer {_forge({**base, 'scope': 'openid'})}",
    }
    assert _call(running.url + "api/jobs", headers={"Authorization": f"Bearer {_forge(base)}"})[0] == 200
    cloud.calls.clear()
    for name, header in refused.items():
        status, headers, body = _call(
            running.url + "api/jobs/j/next", "POST", {}, headers={"Authorization": header} if header else {}
        )
        assert (status, body) == (401, b'{"message":"Unauthorized"}'), name
        assert headers["www-authenticate"].startswith("Bearer "), name
    assert cloud.calls == []


def test_claims_are_stringified_as_api_gateway_does() -> None:
    assert stringify_claims({"exp": 17, "g": ["a", "b"], "ok": True, "n": None, "o": {"k": 1}, "s": "x"}) == {
        "exp": "17",
        "g": "[a b]",
        "ok": "true",
        "o": '{"k":1}',
        "s": "x",
    }


# ------------------------------------------------------------------------------------------------ Cognito
def test_cognito_proxy_signs_in_with_new_password_required(server: tuple[ReviewServer, FakeCloud], pool: Pool) -> None:
    running, _ = server
    # boto3 pointed at the local endpoint, as the page's Cognito client is
    idp = boto3.client("cognito-idp", region_name=REGION, endpoint_url=running.cognito_endpoint)
    first = idp.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "bob", "PASSWORD": "Temp-pass-2!"},
    )
    assert first["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    done = idp.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=first["Session"],
        ChallengeResponses={"USERNAME": "bob", "NEW_PASSWORD": "Bob-new-pass-1!"},
    )
    token = done["AuthenticationResult"]["AccessToken"]
    assert _call(running.url + "api/jobs", headers={"Authorization": f"Bearer {token}"})[0] == 200
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        idp.initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "bob", "PASSWORD": "wrong"},
        )
    # the raw JSON protocol, as a browser sends it: CORS preflight, then the call; errors as Cognito's JSON
    status, headers, _ = _call(running.cognito_endpoint, "OPTIONS", headers={"Origin": "http://elsewhere"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"
    assert "x-amz-target" in headers["Access-Control-Allow-Headers"]
    status, headers, body = _call(
        running.cognito_endpoint,
        "POST",
        {"ClientId": pool.client_id, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": "nobody"}},
        headers={
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert status == 400 and set(json.loads(body)) == {"__type", "message"}
    assert headers["Access-Control-Allow-Origin"] == "*"


# ------------------------------------------------------------------------------------------------ S3
def test_presigned_images_are_served_until_they_expire(server: tuple[ReviewServer, FakeCloud]) -> None:
    running, _ = server
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    query = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={stamp}&X-Amz-Expires=600&X-Amz-Signature=abc"
    status, headers, body = _call(f"{running.origin}/_local/s3/bulkqa-images/cats/real.jpg?{query}")
    assert (status, headers["Content-Type"], body) == (200, "image/jpeg", b"JPEG")
    status, headers, body = _call(f"{running.origin}/_local/s3/bulkqa-images/Crab/image%200001.jpg?{query}")
    assert status == 200 and headers["Content-Type"] == "image/svg+xml"
    assert b">Crab</text>" in body and b">image 0001.jpg</text>" in body
    assert _call(f"{running.origin}/_local/s3/bulkqa-images/cats/real.jpg")[0] == 403  # not presigned
    assert _call(f"{running.origin}/_local/clock", "POST", {"advance": 601})[0] == 200
    assert _call(f"{running.origin}/_local/s3/bulkqa-images/cats/real.jpg?{query}")[0] == 403
    assert _call(f"{running.origin}/_local/clock", "POST", {"advance": -1})[0] == 400


def test_placeholder_escapes_a_hostile_folder_name() -> None:
    svg = placeholder_svg('images/<script>alert("x")&"\'<b>/<img src=x onerror=alert(1)>.jpg').decode()
    assert "<script" not in svg and "<img" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&amp;&quot;&#x27;&lt;b&gt;" in svg
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in svg
    import xml.etree.ElementTree as ET

    texts = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert texts[:2] == ['<script>alert("x")&"\'<b>', "<img src=x onerror=alert(1)>.jpg"]


# ------------------------------------------------------------------------------------------------ template
def test_routes_are_read_from_the_template() -> None:
    template = {
        "Parameters": {},
        "Resources": {
            "ReviewerPool": {"Type": "AWS::Cognito::UserPool"},
            "ReviewerPoolClient": {"Type": "AWS::Cognito::UserPoolClient"},
            "ReviewApi": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {
                    "Auth": {
                        "DefaultAuthorizer": "Cognito",
                        "Authorizers": {
                            "Cognito": {
                                "AuthorizationScopes": [SCOPE],
                                "JwtConfiguration": {
                                    "issuer": {
                                        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${ReviewerPool}"
                                    },
                                    "audience": [{"Ref": "ReviewerPoolClient"}],
                                },
                            }
                        },
                    }
                },
            },
            "ReviewApiFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "Page": {
                            "Type": "HttpApi",
                            "Properties": {
                                "ApiId": {"Ref": "ReviewApi"},
                                "Method": "GET",
                                "Path": "/",
                                "Auth": {"Authorizer": "NONE"},
                            },
                        },
                        "Api": {
                            "Type": "HttpApi",
                            "Properties": {"ApiId": {"Ref": "ReviewApi"}, "Method": "ANY", "Path": "/api/{proxy+}"},
                        },
                        "Other": {
                            "Type": "HttpApi",
                            "Properties": {"ApiId": {"Ref": "OtherApi"}, "Method": "GET", "Path": "/x"},
                        },
                    }
                },
            },
        },
    }
    stack = cfn.Stack(template, "bulkqa-local", REGION)
    stack.refs.update({"ReviewerPool": "us-east-1_pool", "ReviewerPoolClient": "client1", "ReviewApiFunction": "fn"})

    @dataclass
    class Cloud:
        stack: cfn.Stack

    routes = routes_from_template(Cloud(stack))  # type: ignore[arg-type]
    auth = JwtAuth("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool", ("client1",), (SCOPE,))
    assert routes == [Route("GET", "/", "fn", None), Route("ANY", "/api/{proxy+}", "fn", auth)]
    assert auth.user_pool_id == "us-east-1_pool"


def test_reviewer_client_signs_in_and_calls_the_api(server: tuple[ReviewServer, FakeCloud], pool: Pool) -> None:
    from bulkqa_local.review_client import ReviewApiError, ReviewerClient, SignInFailed

    running, _ = server
    bob = ReviewerClient(running.url, "bob", "Temp-pass-2!", running.cognito_endpoint, client_id=pool.client_id)
    assert bob.password != "Temp-pass-2!"  # NEW_PASSWORD_REQUIRED answered
    response = bob.call("GET", "api/jobs")
    assert response.status == 200
    assert response.body["event"]["requestContext"]["authorizer"]["jwt"]["claims"]["username"] == "bob"
    again = ReviewerClient(running.url, "bob", bob.password, running.cognito_endpoint, client_id=pool.client_id)
    assert again.call("GET", "api/jobs", token=again.id_token).status == 401
    with pytest.raises(SignInFailed):
        ReviewerClient(running.url, "bob", "wrong", running.cognito_endpoint, client_id=pool.client_id)
    with pytest.raises(ReviewApiError) as raised:
        bob._expect("GET", "nowhere", None, 200)
    assert raised.value.status == 404


def test_s3_urls_of_both_styles_are_rewritten(server: tuple[ReviewServer, FakeCloud]) -> None:
    running, _ = server
    q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60"
    text = json.dumps(
        [
            f"https://b1.s3.us-east-1.amazonaws.com/a/b%20c.jpg?{q}",
            f"https://b1.s3.amazonaws.com/a.jpg?{q}",
            f"https://s3.us-east-1.amazonaws.com/my.bucket/x/y.png?{q}",
            "https://example.com/a.jpg",
        ]
    )
    assert json.loads(running.rewrite_s3_urls(text)) == [
        f"{running.origin}/_local/s3/b1/a/b%20c.jpg?{q}",
        f"{running.origin}/_local/s3/b1/a.jpg?{q}",
        f"{running.origin}/_local/s3/my.bucket/x/y.png?{q}",
        "https://example.com/a.jpg",
    ]
    assert running.add_img_origin("default-src 'none'") == f"default-src 'none'; img-src {running.origin}"


def test_many_reviewers_at_once(server: tuple[ReviewServer, FakeCloud], pool: Pool) -> None:
    from concurrent.futures import ThreadPoolExecutor

    running, cloud = server
    token = _tokens(pool)["AccessToken"]

    def one(n: int) -> int:
        return _call(f"{running.url}api/jobs/j{n}/next", "POST", {}, {"Authorization": f"Bearer {token}"})[0]

    with ThreadPoolExecutor(max_workers=20) as threads:
        assert list(threads.map(one, range(100))) == [200] * 100
    assert len(cloud.calls) == 100
