"""The local cloud builds the self-hosted review backend from template.yaml (ReviewBackend=SelfHosted).

The resources behind ``Condition: UseSelfHosted`` exist only in that stack; the statements under
``!If [UseGroundTruth, ..., !Ref AWS::NoValue]`` are gone from it; the Cognito pool, client and groups are
moto's; the HTTP API's routes (``LocalCloud.http_routes``) and the sweeper's schedule
(``LocalCloud.schedules``) are the template's. The Ground Truth default is checked in
test_local_stack_from_template.py (one local cloud per module: moto is process-wide).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulkqa_local import cfn
from bulkqa_local.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = cfn.load(ROOT / "template.yaml")
SELF_HOSTED_ONLY = [
    logical for logical, spec in ORIGINAL["Resources"].items() if spec.get("Condition") == "UseSelfHosted"
]


@pytest.fixture(scope="module")
def self_hosted() -> Iterator[LocalCloud]:
    """The real template with ReviewBackend=SelfHosted and no work team."""
    with LocalCloud({"ReviewBackend": "SelfHosted", "WorkteamArn": ""}) as local:
        yield local


def test_a_ground_truth_stack_without_a_work_team_is_refused() -> None:
    with pytest.raises(cfn.TemplateRuleFailed, match="WorkteamArn"):
        cfn.Stack(ORIGINAL, "bulkqa-local", "us-east-1", {"WorkteamArn": ""})


def test_the_self_hosted_stack_has_its_resources_and_keeps_ground_truths(self_hosted: LocalCloud) -> None:
    assert set(SELF_HOSTED_ONLY) <= set(self_hosted.stack.resources)
    names = {fn.logical_id for fn in self_hosted.functions.values()}
    assert {"ReviewApiFunction", "ReviewSweeperFunction", "PreLabelingFunction", "OnLabelingJobEventFunction"} <= names
    env = self_hosted.function_by_logical_id("StartLabelingJobFunction").environment
    assert (env["REVIEW_BACKEND"], env["REVIEW_TABLE_NAME"]) == ("SelfHosted", self_hosted.table("ReviewTable"))


def test_the_start_roles_policy_drops_the_statements_under_a_false_condition(self_hosted: LocalCloud) -> None:
    """!If [UseGroundTruth, <statement>, !Ref AWS::NoValue] in the Statement list: the element is gone."""
    iam = self_hosted.client("iam")
    role = self_hosted.stack.refs["StartLabelingJobRole"]
    document = iam.get_role_policy(RoleName=role, PolicyName="start-labeling-job")["PolicyDocument"]
    statements = document["Statement"] if isinstance(document, dict) else json.loads(document)["Statement"]
    actions = {a for st in statements for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
    assert "dynamodb:BatchWriteItem" in actions
    assert not any(a.startswith("sagemaker:") or a == "iam:PassRole" for a in actions)
    assert all("Effect" in st for st in statements)


def test_the_review_table_has_the_queue_index_and_ttl(self_hosted: LocalCloud) -> None:
    ddb = self_hosted.client("dynamodb")
    table = self_hosted.table("ReviewTable")
    (index,) = ddb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "queue"
    assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == {"q_pk": "HASH", "q_sk": "RANGE"}
    ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl.get("AttributeName")) == ("ENABLED", "ttl")


def test_the_reviewer_pool_client_and_groups_are_in_moto(self_hosted: LocalCloud) -> None:
    cognito = self_hosted.client("cognito-idp")
    pool_id, client_id = self_hosted.stack.refs["ReviewerPool"], self_hosted.stack.refs["ReviewerPoolClient"]
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert "ClientSecret" not in client
    groups = {g["GroupName"] for g in cognito.list_groups(UserPoolId=pool_id)["Groups"]}
    assert groups == {"reviewers", "admins"}
    for logical in ("ReviewApiFunction", "ReviewSweeperFunction"):
        env = self_hosted.function_by_logical_id(logical).environment
        assert (env["USER_POOL_ID"], env["USER_POOL_CLIENT_ID"]) == (pool_id, client_id)
    assert (
        self_hosted.stack.attrs[("ReviewerPool", "ProviderURL")]
        == f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    )


def test_a_token_of_the_local_pool_satisfies_the_routes_authorizer(self_hosted: LocalCloud) -> None:
    """The issuer, audience and scope the local server checks are those moto's access tokens carry."""
    cognito = self_hosted.client("cognito-idp")
    pool_id, client_id = self_hosted.stack.refs["ReviewerPool"], self_hosted.stack.refs["ReviewerPoolClient"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="alice", TemporaryPassword="Temporary-Pass-1")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="alice", Password="Reviewer-Pass-1", Permanent=True)
    tokens = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": "Reviewer-Pass-1"},
    )["AuthenticationResult"]
    payload = tokens["AccessToken"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    (guarded,) = [r for r in self_hosted.http_routes("ReviewApi") if r.auth != "NONE"]
    assert guarded.auth != "NONE"
    assert claims["iss"] == guarded.auth.issuer
    assert claims["client_id"] in guarded.auth.audience
    assert set(guarded.auth.scopes) <= set(claims["scope"].split())


def test_the_http_routes_are_the_templates(self_hosted: LocalCloud) -> None:
    routes = self_hosted.http_routes("ReviewApi")
    assert [(r.method, r.path, r.function_logical_id) for r in routes] == [
        ("GET", "/", "ReviewApiFunction"),
        ("GET", "/assets/{file}", "ReviewApiFunction"),
        ("GET", "/api/config", "ReviewApiFunction"),
        ("ANY", "/api/{proxy+}", "ReviewApiFunction"),
    ]
    assert [r.route_key for r in routes if r.auth == "NONE"] == ["GET /", "GET /assets/{file}", "GET /api/config"]
    (guarded,) = [r for r in routes if r.auth != "NONE"]
    assert guarded.auth != "NONE"
    pool_id = self_hosted.stack.refs["ReviewerPool"]
    assert guarded.auth.issuer == f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    assert guarded.auth.audience == (self_hosted.stack.refs["ReviewerPoolClient"],)
    assert guarded.auth.scopes == ("aws.cognito.signin.user.admin",)
    assert guarded.auth.identity_source == "$request.header.Authorization"
    assert {r.function_name for r in routes} == {self_hosted.function_by_logical_id("ReviewApiFunction").name}
    assert {r.payload_format_version for r in routes} == {"2.0"}
    with pytest.raises(KeyError):
        self_hosted.http_routes("NoSuchApi")


def test_the_sweepers_schedule_is_recorded(self_hosted: LocalCloud) -> None:
    (schedule,) = self_hosted.schedules
    assert schedule["expression"] == "rate(5 minutes)" and schedule["period_seconds"] == 300
    assert schedule["function_name"] == self_hosted.function_by_logical_id("ReviewSweeperFunction").name
    assert schedule["name"] == "bulkqa-local-review-sweep"
    with pytest.raises(KeyError, match="no schedule"):
        self_hosted.fire_schedule("another")
