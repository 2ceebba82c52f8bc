"""The local cloud: moto with the project's real handlers, built from ``template.yaml``.

- Step Functions executes the real ``statemachine/bulk_qa.asl.json`` (moto's ASL interpreter), with the
  template's ``DefinitionSubstitutions`` bound to the local resources.
- Lambda invocations are dispatched to the real handlers named by each function's ``Handler``, with
  ``CodeUri`` on ``sys.path`` and the function's own environment variables, as Lambda would.
- EventBridge rules are the template's own patterns; their Lambda and state-machine targets are
  delivered (moto delivers only to SQS/logs/buses), asynchronously as on AWS.
- SageMaker Ground Truth is emulated by :mod:`bulkqa_local.groundtruth`.
- Resources whose ``Condition`` is false (``ReviewBackend``) are not created. The self-hosted review
  backend's Cognito user pool, app client and groups are created in moto's cognito-idp; its HTTP API has
  no data plane in moto, so its routes (from the functions' ``HttpApi`` events) are recorded for a local
  server (:meth:`LocalCloud.http_routes`), and the ``ScheduleV2`` events for a runner that fires them
  (:attr:`LocalCloud.schedules`, :meth:`LocalCloud.fire_schedule`).

This package is never imported by the shipped functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload
from urllib.parse import unquote

from . import cfn, moto_speedups
from .faults import Faults
from .reviewers import Reviewers, SimulatedReviewers
from .usage import Usage

if TYPE_CHECKING:
    from moto.events.models import Rule
    from moto.events.utils import EventMessageType
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import CreateTableInputTypeDef, GlobalSecondaryIndexTypeDef
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import TargetTypeDef
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CORSRuleTypeDef, PutObjectOutputTypeDef
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import (
        DescribeExecutionOutputTypeDef,
        ExecutionListItemTypeDef,
        HistoryEventTypeDef,
    )


ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
LOCAL_WORKTEAM = f"arn:aws:sagemaker:{REGION}:{cfn.ACCOUNT}:workteam/private-crowd/local-reviewers"


@dataclass
class LocalFunction:
    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    environment: dict[str, str]
    timeout: int
    memory_mb: int = 128


@dataclass
class _Context:
    """Lambda's context object as a handler sees it (the attributes Lambda documents, not only those we read)."""

    function_name: str
    invoked_function_arn: str
    timeout: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    _deadline: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline + self.timeout - time.monotonic()) * 1000))


class LocalRule(TypedDict):
    """An EventBridge rule the stack created: its name, its event pattern (from the template), its target."""

    name: str
    pattern: dict[str, Any]
    target: str


@dataclass(frozen=True)
class JwtAuthorizer:
    """An HTTP API's JWT authorizer as the template declares it, resolved (what API Gateway checks)."""

    name: str  # the authorizer's name in the template (``Cognito``)
    issuer: str  # the token's ``iss`` must equal this
    audience: tuple[str, ...]  # the token's ``aud`` (ID token) or ``client_id`` (access token) must be one of these
    scopes: tuple[str, ...]  # the route's AuthorizationScopes: the token's ``scope`` must hold one of them
    identity_source: str  # where the token is: ``$request.header.Authorization``


@dataclass(frozen=True)
class Route:
    """One route of an HTTP API: an ``HttpApi`` event of a function whose ``ApiId`` is that API."""

    method: str  # GET, POST, ..., or ANY
    path: str  # /, /assets/{file}, /api/{proxy+}
    function_logical_id: str
    function_name: str
    auth: JwtAuthorizer | Literal["NONE"]  # NONE: public
    payload_format_version: str = "2.0"

    @property
    def route_key(self) -> str:
        """API Gateway's ``routeKey`` (``GET /api/config``), as the payload 2.0 event carries it."""
        return f"{self.method} {self.path}"


class LocalSchedule(TypedDict):
    """A ``ScheduleV2`` event of a function: EventBridge Scheduler invokes the function on this schedule."""

    name: str
    expression: str  # rate(5 minutes)
    period_seconds: float | None  # from a rate() expression; None for cron()/at()
    function_logical_id: str
    function_name: str
    input: Any  # what the target receives ({} when the template gives no Input)


#: the services the runner calls (:meth:`LocalCloud.client`)
Service = Literal[
    "cognito-idp", "dynamodb", "events", "iam", "lambda", "logs", "s3", "sagemaker", "sqs", "stepfunctions"
]


def _iam_requests(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs IAM checks for one request (the operations the functions use)."""
    where = f"{REGION}:{cfn.ACCOUNT}"
    if service == "dynamodb":

        def table(name: str, index: str | None = None) -> str:
            return f"arn:aws:dynamodb:{where}:table/{name}" + (f"/index/{index}" if index else "")

        if operation == "TransactWriteItems":  # IAM checks each item's own action
            actions = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheckItem",
            }
            return [
                (f"dynamodb:{actions[kind]}", table(spec["TableName"]))
                for item in params["TransactItems"]
                for kind, spec in item.items()
            ]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", table(name)) for name in params["RequestItems"]]
        return [(f"dynamodb:{operation}", table(params["TableName"], params.get("IndexName")))]
    if service == "s3":
        bucket, key = params.get("Bucket", ""), params.get("Key")
        action = {
            "HeadObject": "GetObject",
            "CreateMultipartUpload": "PutObject",
            "UploadPart": "PutObject",
            "CompleteMultipartUpload": "PutObject",
            "ListObjectsV2": "ListBucket",
        }.get(operation, operation)
        if operation == "CopyObject":  # PutObject on the copy, GetObject on its source
            source = params["CopySource"]
            source_arn = (
                f"arn:aws:s3:::{source['Bucket']}/{source['Key']}"
                if isinstance(source, dict)
                else f"arn:aws:s3:::{unquote(str(source).split('?', 1)[0])}"
            )
            return [("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}"), ("s3:GetObject", source_arn)]
        return [(f"s3:{action}", f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else ""))]
    if service == "sfn":  # the token names no resource here: the state machine is checked by the static tests
        return [(f"states:{operation}", "*")]
    if service == "sagemaker" and "LabelingJobName" in params:
        return [(f"sagemaker:{operation}", f"arn:aws:sagemaker:{where}:labeling-job/{params['LabelingJobName']}")]
    if service == "sns":
        return [(f"sns:{operation}", str(params.get("TopicArn", "*")))]
    return [(f"{service}:{operation}", "*")]


class HandlerError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type, self.message = error_type, message


class LocalCloud:
    """``with LocalCloud(parameters) as cloud:`` starts moto, builds the stack, tears both down."""

    def __init__(
        self,
        parameters: Mapping[str, object] | None = None,
        *,
        template: Path = TEMPLATE,
        stack_name: str = "bulkqa-local",
        faults: Faults | None = None,
        reviewers: Reviewers | None = None,
        progress: Callable[[str], None] | None = None,
        log_file: Path | None = None,
        bucket_suffix: str = "",
        speedups: bool | None = None,
    ) -> None:
        # speed-ups (moto_speedups) unless turned off here or by BULKQA_MOTO_SPEEDUPS=0; a moto release
        # they were not written for is refused now, before anything is started
        self.speedups = moto_speedups.enabled() if speedups is None else speedups
        if self.speedups:
            moto_speedups.check_moto_version()
        params = {"WorkteamArn": LOCAL_WORKTEAM, **{k: str(v) for k, v in (parameters or {}).items()}}
        self.template_path = template
        self.stack = cfn.Stack(cfn.load(template), stack_name, REGION, params)
        self.faults = faults or Faults()
        self.usage = Usage()
        self.reviewers: Reviewers = reviewers if reviewers is not None else SimulatedReviewers()
        self.progress = progress or (lambda message: None)
        self.functions: dict[str, LocalFunction] = {}
        self.rules: list[LocalRule] = []
        self.routes: dict[str, list[Route]] = {}  # HTTP API logical id -> its routes
        self.schedules: list[LocalSchedule] = []
        self._lock = threading.RLock()
        self._running: list[tuple[str, int]] = []  # (function logical id, thread) of the invocations under way
        self._threads: list[threading.Thread] = []
        self._saved_env: dict[str, str | None] = {}
        self._patches: list[tuple[object, str, object]] = []  # (owner, attribute, original) to put back
        self._clients: dict[str, object] = {}
        self._clients_lock = threading.Lock()
        self.invocations: list[tuple[str, str]] = []  # (function name, outcome)
        self.bucket_suffix = bucket_suffix  # e.g. "-example" to match the names in events/
        self.log_file = log_file  # the functions' logs (CloudWatch Logs' stand-in); None: stderr

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalCloud:
        self._set_env(
            {
                # fake credentials for the local emulation; nothing leaves this machine
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",  # nosec B105
                "AWS_SESSION_TOKEN": "testing",  # nosec B105
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        import boto3
        from moto import mock_aws

        self._mock = mock_aws(
            config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        self._mock.start()
        # the stack's session: the functions, Step Functions and the Ground Truth emulator call through it
        session = self.session = boto3.Session(region_name=REGION)
        boto3.DEFAULT_SESSION = session  # as boto3.setup_default_session does
        from bulkqa import aws

        aws.reset_clients()
        self._install_patches()
        self._capture_logs()
        from .groundtruth import GroundTruthEmulator

        self.ground_truth = GroundTruthEmulator(self)
        self.ground_truth.install(session)
        self.faults.install(session)
        # a private session for the runner's own calls, so they are not counted as the stack's usage
        self.admin = boto3.Session(region_name=REGION)
        if self.speedups:
            for each in (session, self.admin):
                moto_speedups.skip_signing(each)
        self._build()
        self.usage.install(session)
        return self

    def __exit__(self, *exc: object) -> None:
        self.wait_for_background(timeout=30)
        for target, name, original in reversed(self._patches):
            setattr(target, name, original)
        self._mock.stop()
        self._release_logs()
        import boto3

        boto3.DEFAULT_SESSION = None
        from bulkqa import aws

        aws.reset_clients()
        for key in self._env_keys():
            os.environ.pop(key, None)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _capture_logs(self) -> None:
        """The functions' stdout (CloudWatch Logs' stand-in): Powertools' JSON records and EMF metrics.

        Lambda sends what a function writes on stdout to its log group; here :meth:`invoke` sends it to
        ``log_file`` (function-logs.jsonl, one JSON object per line), or to stderr without one, so the
        runner's own output never mixes with the functions'.
        """
        self._log_stream = self.log_file.open("a", encoding="utf-8") if self.log_file else sys.stderr

    def _release_logs(self) -> None:
        if self.log_file:
            self._log_stream.close()

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    @overload
    def client(self, service: Literal["cognito-idp"]) -> CognitoIdentityProviderClient: ...
    @overload
    def client(self, service: Literal["dynamodb"]) -> DynamoDBClient: ...
    @overload
    def client(self, service: Literal["events"]) -> EventBridgeClient: ...
    @overload
    def client(self, service: Literal["iam"]) -> IAMClient: ...
    @overload
    def client(self, service: Literal["lambda"]) -> LambdaClient: ...
    @overload
    def client(self, service: Literal["logs"]) -> CloudWatchLogsClient: ...
    @overload
    def client(self, service: Literal["s3"]) -> S3Client: ...
    @overload
    def client(self, service: Literal["sagemaker"]) -> SageMakerClient: ...
    @overload
    def client(self, service: Literal["sqs"]) -> SQSClient: ...
    @overload
    def client(self, service: Literal["stepfunctions"]) -> SFNClient: ...
    def client(self, service: Service) -> object:
        """A client for the runner's own calls (not counted in aws-usage.json); one per service."""
        with self._clients_lock:
            if service not in self._clients:
                make: Callable[..., object] = self.admin.client  # one call for every service name
                self._clients[service] = make(service, region_name=REGION)
            return self._clients[service]

    # ------------------------------------------------------------------ patches
    def _patch(self, target: object, name: str, replacement: object) -> None:
        self._patches.append((target, name, getattr(target, name)))
        setattr(target, name, replacement)

    def _install_patches(self) -> None:
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.core.responses import ActionResult, EmptyResult
        from moto.events.models import Rule
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends
        from moto.stepfunctions.responses import StepFunctionResponse

        cloud = self
        if self.speedups:
            self._patches.extend(moto_speedups.install())

        def invoke(
            _backend: object,
            function_name: str,
            _qualifier: str | None,
            body: str | bytes | None,
            _headers: object,
            response_headers: dict[str, str],
        ) -> bytes:
            payload = json.loads(body) if body else {}
            try:
                result = cloud.invoke(function_name, payload)
            except HandlerError as exc:
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": exc.error_type, "errorMessage": exc.message}).encode()
            return json.dumps(result).encode()

        original_send = Rule.send_to_targets

        def send_to_targets(rule: Rule, event: EventMessageType, transform_input: bool = True) -> None:
            if not rule.event_pattern.matches_event(event):
                return
            others = [t for t in rule.targets if ":lambda:" not in t["Arn"] and ":states:" not in t["Arn"]]
            for target in rule.targets:
                if target not in others:
                    cloud.deliver_event(target["Arn"], dict(event))
            if others:
                saved = rule.targets
                rule.targets = others
                try:
                    original_send(rule, event, transform_input)
                finally:
                    rule.targets = saved

        def send_task_failure(response: StepFunctionResponse) -> ActionResult:
            # moto 5.2.5 passes only the error on, so a failed labeling job ended the run as
            # "LabelingJobFailed: None"; Step Functions keeps the cause (Ground Truth's FailureReason)
            backend = stepfunctions_parser_backends[response.current_account][response.region]  # execute_state_machine
            backend.send_task_failure(
                response._get_param("taskToken"), error=response._get_param("error"), cause=response._get_param("cause")
            )
            return EmptyResult()

        from botocore.config import Config
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
            resource_eval_s3,
        )

        def result_writer_client(region: str, service: str, state_credentials: object = None) -> object:
            # Step Functions retries its own writes of a Distributed Map's results (ResultWriter); moto's
            # client makes one attempt, so an injected S3 throttle would fail the run where AWS would not
            retries: Any = {"max_attempts": 4, "mode": "standard"}
            make: Callable[..., object] = cloud.session.client
            return make(service, region_name=region, config=Config(parameter_validation=False, retries=retries))

        self._patch(resource_eval_s3, "boto_client_for", result_writer_client)
        self._patch(LambdaSimpleBackend, "invoke", invoke)
        self._patch(Rule, "send_to_targets", send_to_targets)
        self._patch(StepFunctionResponse, "send_task_failure", send_task_failure)

    # ------------------------------------------------------------------ the stack
    def _build(self) -> None:
        stack = self.stack
        resources = stack.resources
        # physical ids first, so every !Ref / !GetAtt resolves whatever the order
        for logical, spec in resources.items():
            kind = spec["Type"]
            props = spec.get("Properties", {})
            if kind == "AWS::S3::Bucket":
                name = f"{stack.name}-{logical.lower()}{self.bucket_suffix}"  # one stack per moto
                stack.refs[logical] = name
                stack.attrs[(logical, "Arn")] = f"arn:aws:s3:::{name}"
            elif kind == "AWS::DynamoDB::Table":
                name = f"{stack.name}-{logical}"
                stack.refs[logical] = name
                stack.attrs[(logical, "Arn")] = f"arn:aws:dynamodb:{REGION}:{cfn.ACCOUNT}:table/{name}"
            elif kind == "AWS::IAM::Role":
                stack.refs[logical] = f"{stack.name}-{logical}"
                stack.attrs[(logical, "Arn")] = f"arn:aws:iam::{cfn.ACCOUNT}:role/{stack.name}-{logical}"
            elif kind == "AWS::Serverless::StateMachine":
                name = stack.resolve(props.get("Name", f"{stack.name}-{logical}"))
                arn = f"arn:aws:states:{REGION}:{cfn.ACCOUNT}:stateMachine:{name}"
                stack.refs[logical] = arn
                stack.attrs[(logical, "Arn")] = arn
                stack.attrs[(logical, "Name")] = name
            elif kind == "AWS::SQS::Queue":
                name = f"{stack.name}-{logical}"
                stack.refs[logical] = f"https://sqs.{REGION}.amazonaws.com/{cfn.ACCOUNT}/{name}"
                stack.attrs[(logical, "Arn")] = f"arn:aws:sqs:{REGION}:{cfn.ACCOUNT}:{name}"
                stack.attrs[(logical, "QueueName")] = name
            elif kind == "AWS::Serverless::HttpApi":  # no data plane in moto: an id and the URL it would have
                api_id = hashlib.sha256(f"{stack.name}/{logical}".encode()).hexdigest()[:10]
                stack.refs[logical] = api_id
                stack.attrs[(logical, "ApiEndpoint")] = f"https://{api_id}.execute-api.{REGION}.amazonaws.com"
        self._create_cognito(resources)
        for logical, spec in resources.items():  # functions' names first: log groups refer to them
            if spec["Type"] == "AWS::Serverless::Function":
                props = spec.get("Properties", {})
                name = stack.resolve(props.get("FunctionName", f"{stack.name}-{logical}"))
                stack.refs[logical] = name
                stack.attrs[(logical, "Arn")] = f"arn:aws:lambda:{REGION}:{cfn.ACCOUNT}:function:{name}"
        for logical, spec in resources.items():
            if spec["Type"] == "AWS::Logs::LogGroup":
                name = stack.resolve(spec["Properties"]["LogGroupName"])
                stack.refs[logical] = name
                stack.attrs[(logical, "Arn")] = f"arn:aws:logs:{REGION}:{cfn.ACCOUNT}:log-group:{name}:*"
        for logical, spec in resources.items():
            kind = spec["Type"]
            creator = {
                "AWS::SQS::Queue": self._create_queue,
                "AWS::S3::Bucket": self._create_bucket,
                "AWS::DynamoDB::Table": self._create_table,
                "AWS::IAM::Role": self._create_role,
                "AWS::Logs::LogGroup": self._create_log_group,
            }.get(kind)
            if creator:
                creator(logical, spec.get("Properties", {}))
        for logical, spec in resources.items():
            if spec["Type"] == "AWS::Serverless::Function":
                self._create_function(logical)
        for logical, spec in resources.items():
            if spec["Type"] == "AWS::Serverless::StateMachine":
                self._create_state_machine(logical, spec["Properties"])

    @property
    def bucket(self) -> str:
        return self._first("AWS::S3::Bucket")

    def table(self, logical: str) -> str:
        return self.stack.refs[logical]

    @property
    def state_machine_arn(self) -> str:
        return self._first("AWS::Serverless::StateMachine")

    def _first(self, kind: str) -> str:
        for logical, spec in self.stack.resources.items():
            if spec["Type"] == kind:
                return self.stack.refs[logical]
        raise KeyError(kind)

    def _create_bucket(self, logical: str, props: dict[str, Any]) -> None:
        s3 = self.client("s3")
        name = self.stack.refs[logical]
        p = self.stack.resolve(props)
        s3.create_bucket(Bucket=name)
        if p.get("VersioningConfiguration"):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=p["VersioningConfiguration"])
        if p.get("BucketEncryption"):
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]}
                        for r in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    ]
                },
            )
        if p.get("PublicAccessBlockConfiguration"):
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"])
        if p.get("CorsConfiguration"):
            rules: list[CORSRuleTypeDef] = [
                {
                    "AllowedMethods": r["AllowedMethods"],
                    "AllowedOrigins": r["AllowedOrigins"],
                    "AllowedHeaders": r.get("AllowedHeaders", []),
                    "ExposeHeaders": r.get("ExposedHeaders", []),
                }
                for r in p["CorsConfiguration"]["CorsRules"]
            ]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        eventbridge = p.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
        if eventbridge.get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )

    def _create_queue(self, logical: str, props: dict[str, Any]) -> None:
        self.client("sqs").create_queue(QueueName=self.stack.attrs[(logical, "QueueName")])

    def _create_table(self, logical: str, props: dict[str, Any]) -> None:
        p = self.stack.resolve(props)
        ddb = self.client("dynamodb")
        name = self.stack.refs[logical]
        indexes: list[GlobalSecondaryIndexTypeDef] = [
            {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in p.get("GlobalSecondaryIndexes", [])
        ]
        request: CreateTableInputTypeDef = {
            "TableName": name,
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": p.get("BillingMode", "PAY_PER_REQUEST"),
            "SSESpecification": {"Enabled": bool(p.get("SSESpecification", {}).get("SSEEnabled"))},
        }
        if indexes:
            request["GlobalSecondaryIndexes"] = indexes
        ddb.create_table(**request)
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):  # recorded only: moto never deletes expired items (nor does AWS promptly)
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )

    # ------------------------------------------------------------------ Cognito (self-hosted review backend)
    #: CloudFormation's AWS::Cognito::UserPool properties that CreateUserPool takes under the same name
    _POOL_PROPERTIES = (
        "AdminCreateUserConfig",
        "AutoVerifiedAttributes",
        "AccountRecoverySetting",
        "AliasAttributes",
        "DeletionProtection",
        "MfaConfiguration",
        "Policies",
        "Schema",
        "UsernameAttributes",
        "UsernameConfiguration",
        "UserPoolTier",
    )
    _CLIENT_PROPERTIES = (
        "ClientName",
        "GenerateSecret",
        "ExplicitAuthFlows",
        "PreventUserExistenceErrors",
        "EnableTokenRevocation",
        "SupportedIdentityProviders",
        "AuthSessionValidity",
        "AccessTokenValidity",
        "IdTokenValidity",
        "RefreshTokenValidity",
        "TokenValidityUnits",
    )

    def _create_cognito(self, resources: Mapping[str, Any]) -> None:
        """The user pools, then their app clients and groups: their ids are made by Cognito (moto)."""
        for kind in ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup"):
            for logical, spec in resources.items():
                if spec["Type"] == kind:
                    self._create_cognito_resource(logical, kind, self.stack.resolve(spec.get("Properties", {})))

    def _create_cognito_resource(self, logical: str, kind: str, p: dict[str, Any]) -> None:
        cognito = self.client("cognito-idp")
        known = {
            "AWS::Cognito::UserPool": {*self._POOL_PROPERTIES, "UserPoolName", "EnabledMfas"},
            "AWS::Cognito::UserPoolClient": {*self._CLIENT_PROPERTIES, "UserPoolId"},
            "AWS::Cognito::UserPoolGroup": {"UserPoolId", "GroupName", "Description", "Precedence"},
        }[kind]
        if set(p) - known:
            raise NotImplementedError(
                f"{logical}: {kind} properties {sorted(set(p) - known)} are not created by the local cloud; "
                "add them to LocalCloud._create_cognito_resource"
            )
        call: Callable[..., Any]
        if kind == "AWS::Cognito::UserPool":
            call = cognito.create_user_pool
            pool = call(PoolName=p["UserPoolName"], **{k: p[k] for k in self._POOL_PROPERTIES if k in p})["UserPool"]
            pool_id = pool["Id"]
            if "SOFTWARE_TOKEN_MFA" in p.get("EnabledMfas", []):
                cognito.set_user_pool_mfa_config(
                    UserPoolId=pool_id,
                    SoftwareTokenMfaConfiguration={"Enabled": True},
                    MfaConfiguration=p.get("MfaConfiguration", "OPTIONAL"),
                )
            self.stack.refs[logical] = pool_id
            self.stack.attrs[(logical, "UserPoolId")] = pool_id
            self.stack.attrs[(logical, "Arn")] = pool["Arn"]
            provider = f"cognito-idp.{REGION}.amazonaws.com/{pool_id}"
            self.stack.attrs[(logical, "ProviderName")] = provider
            self.stack.attrs[(logical, "ProviderURL")] = f"https://{provider}"
        elif kind == "AWS::Cognito::UserPoolClient":
            call = cognito.create_user_pool_client
            client = call(UserPoolId=p["UserPoolId"], **{k: p[k] for k in self._CLIENT_PROPERTIES if k in p})
            self.stack.refs[logical] = client["UserPoolClient"]["ClientId"]
            self.stack.attrs[(logical, "ClientId")] = client["UserPoolClient"]["ClientId"]
        else:
            call = cognito.create_group
            call(**p)
            self.stack.refs[logical] = p["GroupName"]

    def _create_role(self, logical: str, props: dict[str, Any]) -> None:
        p = self.stack.resolve(props)
        iam = self.client("iam")
        name = self.stack.refs[logical]
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]))
        for policy in p.get("Policies", []):
            iam.put_role_policy(
                RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"])
            )

    def _create_log_group(self, logical: str, props: dict[str, Any]) -> None:
        p = self.stack.resolve(props)
        logs = self.client("logs")
        logs.create_log_group(logGroupName=p["LogGroupName"])
        logs.put_retention_policy(logGroupName=p["LogGroupName"], retentionInDays=int(p["RetentionInDays"]))

    def _create_function(self, logical: str) -> None:
        props = self.stack.function_properties(logical)
        name = self.stack.refs[logical]
        env = {k: str(v) for k, v in self.stack.resolve(props["Environment"]["Variables"]).items()}
        code_dir = (self.template_path.parent / props["CodeUri"]).resolve()
        role = self.stack.resolve(props["Role"])
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler=props["Handler"],
            Code={"ZipFile": b"local"},
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
            Environment={"Variables": env},
        )
        self.functions[name] = LocalFunction(
            logical,
            name,
            self.stack.attrs[(logical, "Arn")],
            props["Handler"],
            code_dir,
            env,
            int(props.get("Timeout", 3)),
            int(props.get("MemorySize", 128)),
        )
        for event_name, event in props.get("Events", {}).items():
            if event["Type"] == "EventBridgeRule":
                self._create_rule(f"{name}-rule", event["Properties"], self.stack.attrs[(logical, "Arn")])
            elif event["Type"] == "HttpApi":
                self._record_route(logical, name, event.get("Properties", {}))
            elif event["Type"] == "ScheduleV2":
                self._record_schedule(logical, name, event_name, event["Properties"])
            else:
                raise NotImplementedError(f"{logical}: event type {event['Type']} is not emulated by the local cloud")

    def _record_route(self, logical: str, function_name: str, props: dict[str, Any]) -> None:
        """An HttpApi event: the route, with the authorizer API Gateway would apply (SAM's rules)."""
        api_ref = props.get("ApiId", {"Ref": "ServerlessHttpApi"})
        if not (isinstance(api_ref, dict) and set(api_ref) == {"Ref"}):
            raise NotImplementedError(f"{logical}: an HttpApi event's ApiId must be !Ref <an HttpApi of the template>")
        api = api_ref["Ref"]
        api_auth = self.stack.resolve(self.stack.resources[api].get("Properties", {}).get("Auth", {}))
        event_auth = self.stack.resolve(props.get("Auth", {}))
        authorizer_name = event_auth.get("Authorizer", api_auth.get("DefaultAuthorizer", "NONE"))
        auth: JwtAuthorizer | Literal["NONE"] = "NONE"
        if authorizer_name != "NONE":
            spec = api_auth["Authorizers"][authorizer_name]
            if "JwtConfiguration" not in spec:
                raise NotImplementedError(f"{logical}: only JWT authorizers are emulated ({authorizer_name})")
            jwt = spec["JwtConfiguration"]
            auth = JwtAuthorizer(
                name=authorizer_name,
                issuer=str(jwt["issuer"]),
                audience=tuple(str(a) for a in jwt.get("audience", [])),
                scopes=tuple(event_auth.get("AuthorizationScopes", spec.get("AuthorizationScopes", []))),
                identity_source=str(spec.get("IdentitySource", "$request.header.Authorization")),
            )
        route = Route(
            method=str(props.get("Method", "ANY")).upper(),
            path=str(props.get("Path", "$default")),
            function_logical_id=logical,
            function_name=function_name,
            auth=auth,
            payload_format_version=str(props.get("PayloadFormatVersion", "2.0")),
        )
        self.routes.setdefault(api, []).append(route)

    def _record_schedule(self, logical: str, function_name: str, event_name: str, props: dict[str, Any]) -> None:
        p = self.stack.resolve(props)
        expression = str(p["ScheduleExpression"])
        match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
        unit = {"minute": 60, "hour": 3600, "day": 86400}
        period = float(int(match[1]) * unit[match[2].rstrip("s")]) if match else None
        raw_input = p.get("Input")
        self.schedules.append(
            {
                "name": str(p.get("Name", f"{logical}{event_name}")),
                "expression": expression,
                "period_seconds": period,
                "function_logical_id": logical,
                "function_name": function_name,
                "input": json.loads(raw_input) if isinstance(raw_input, str) else {},
            }
        )

    # ------------------------------------------------------------------ what the functions' roles must allow
    def record_requests(self) -> dict[str, set[tuple[str, str]]]:
        """From now on, the (IAM action, resource ARN) of every request the functions' own code makes, by
        function logical id (a live dict): what each function's role must allow. moto enforces no IAM, so a
        test compares these with the roles (tests/static/test_local_self_hosted_stack.py).

        A request is the function's when it is made on the invoking thread, or on a worker thread the
        handler started (a ``ThreadPoolExecutor``) through a client the handler also used on its own
        thread; Step Functions' and the emulators' requests are not.
        """
        recorded: dict[str, set[tuple[str, str]]] = {}
        signers: set[int] = set()  # the functions' clients (bulkqa.aws), seen on an invoking thread

        def keep(params: Any = None, context: Any = None, **_: object) -> None:
            if isinstance(context, dict) and isinstance(params, dict):
                context["bulkqa_params"] = dict(params)  # the caller's parameters (before-call has the wire form)

        def record(event_name: str, request_signer: object = None, context: Any = None, **_: object) -> None:
            running = list(self._running)
            params = context.get("bulkqa_params") if isinstance(context, dict) else None
            if not running or params is None:
                return
            logical, thread = running[-1]
            if threading.get_ident() == thread:
                signers.add(id(request_signer))
            elif not (
                threading.current_thread().name.startswith("ThreadPoolExecutor") and id(request_signer) in signers
            ):
                return
            service, operation = event_name.split(".")[1:3]
            try:
                found = _iam_requests(service, operation, params)
            except (KeyError, TypeError) as exc:  # never fail the function's request: record what was not understood
                found = [(f"{service}:{operation}", f"unknown resource ({exc!r})")]
            with self._clients_lock:
                recorded.setdefault(logical, set()).update(found)

        self.session.events.register("before-parameter-build", keep)
        self.session.events.register("before-call", record)
        return recorded

    # ------------------------------------------------------------------ what moto cannot run: HTTP API, Scheduler
    def http_routes(self, api_logical_id: str) -> list[Route]:
        """The routes of an HTTP API of the template (``ReviewApi``), in the template's order.

        API Gateway picks the most specific match (an exact path before ``{param}`` before ``{proxy+}``, a
        method before ``ANY``); that choice is the local server's. KeyError if the API is not in the stack.
        """
        if api_logical_id not in self.stack.resources:
            raise KeyError(f"no HTTP API {api_logical_id!r} in the local stack (is its Condition false?)")
        return list(self.routes.get(api_logical_id, []))

    def fire_schedule(self, name: str) -> Any:
        """Invoke a schedule's function now, as EventBridge Scheduler would at its next tick (synchronously)."""
        for schedule in self.schedules:
            if schedule["name"] == name:
                return self.invoke(schedule["function_name"], schedule["input"])
        raise KeyError(f"no schedule {name!r} in the local stack: {[s['name'] for s in self.schedules]}")

    def _create_rule(self, name: str, props: dict[str, Any], target: str, role: str | None = None) -> None:
        pattern = self.stack.resolve(props["Pattern"])
        events = self.client("events")
        events.put_rule(Name=name[:64], EventPattern=json.dumps(pattern), State="ENABLED")
        target_spec: TargetTypeDef = {"Id": "target", "Arn": target}
        if role:
            target_spec["RoleArn"] = role
        events.put_targets(Rule=name[:64], Targets=[target_spec])
        self.rules.append({"name": name[:64], "pattern": pattern, "target": target})

    def _create_state_machine(self, logical: str, props: dict[str, Any]) -> None:
        from .asl import bind_definition

        definition_path = self.template_path.parent / props["DefinitionUri"]
        substitutions = {k: str(self.stack.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()}
        definition = bind_definition(definition_path.read_text(encoding="utf-8"), substitutions)
        arn = self.stack.refs[logical]
        role = self.stack.resolve(props["Role"])
        self.client("stepfunctions").create_state_machine(
            name=arn.rsplit(":", 1)[1], definition=definition, roleArn=role, type=props.get("Type", "STANDARD")
        )
        for n, event in enumerate(props.get("Events", {}).values()):
            if event["Type"] == "EventBridgeRule":
                self._create_rule(f"{arn.rsplit(':', 1)[1]}-rule-{n}", event["Properties"], arn, role)

    # ------------------------------------------------------------------ Lambda
    def function(self, name_or_arn: str) -> LocalFunction:
        name = name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
        if name not in self.functions:
            raise KeyError(f"no function {name_or_arn!r} in the local stack")
        return self.functions[name]

    def function_by_logical_id(self, logical: str) -> LocalFunction:
        return self.function(self.stack.refs[logical])

    def _handler(self, fn: LocalFunction) -> Callable[..., Any]:
        module_path, attribute = fn.handler.rsplit(".", 1)
        module_name = module_path.replace("/", ".")
        if str(fn.code_dir) not in sys.path:
            sys.path.insert(0, str(fn.code_dir))  # Lambda puts the CodeUri (/var/task) on sys.path
        return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]

    def invoke(self, name_or_arn: str, payload: Any) -> Any:
        """Run a function's real handler with its own environment; HandlerError as Lambda reports it."""
        fn = self.function(name_or_arn)
        # one invocation at a time (the lock): what is written on stdout meanwhile is the function's log
        with self._lock, self._function_env(fn), contextlib.redirect_stdout(self._log_stream):
            context = _Context(fn.name, fn.arn, fn.timeout, memory_limit_in_mb=fn.memory_mb)
            started = time.perf_counter()
            self._running.append((fn.logical_id, threading.get_ident()))
            try:
                result = self._handler(fn)(payload, context)
            except Exception as exc:  # Lambda's unhandled-error contract: the class name is the error
                self.usage.add_duration(time.perf_counter() - started, fn.memory_mb)
                self.invocations.append((fn.name, type(exc).__name__))
                if os.environ.get("BULKQA_LOCAL_TRACEBACKS"):
                    traceback.print_exc()
                raise HandlerError(type(exc).__name__, str(exc)) from exc
            finally:
                self._running.pop()
            self.usage.add_duration(time.perf_counter() - started, fn.memory_mb)
            self.invocations.append((fn.name, "ok"))
            return json.loads(json.dumps(result, default=str))

    @contextmanager
    def _function_env(self, fn: LocalFunction) -> Iterator[None]:
        """The function's own environment variables, and no other function's.

        Other threads (moto's interpreter, boto3) read os.environ concurrently, so keys are never
        removed while the cloud runs: a variable this function does not have is set to "" (which the
        settings reader treats as unset), and every key is removed when the cloud stops.
        """
        for key in self._env_keys():
            os.environ[key] = fn.environment.get(key, "")
        yield

    def _env_keys(self) -> set[str]:
        return {key for fn in self.functions.values() for key in fn.environment}

    # ------------------------------------------------------------------ EventBridge delivery
    def deliver_event(self, target_arn: str, event: dict[str, Any]) -> None:
        """Deliver an event to a rule target asynchronously, as EventBridge does."""
        for copy in range(self.faults.event_copies(event)):
            self._background(lambda: self._deliver_now(target_arn, event), f"event-{copy}")

    def _deliver_now(self, target_arn: str, event: dict[str, Any]) -> None:
        if isinstance(event.get("time"), (int, float)):  # moto hands over a number in-process
            event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event["time"]))
        if ":lambda:" in target_arn:
            try:
                self.invoke(target_arn, event)
            except HandlerError as exc:
                self.progress(f"event target {target_arn.rsplit(':', 1)[-1]} failed: {exc}")
        elif ":states:" in target_arn:
            # EventBridge starts the execution with a generated name (not the stack's own API usage)
            self.client("stepfunctions").start_execution(
                stateMachineArn=target_arn, name=f"event-{uuid.uuid4().hex[:20]}", input=json.dumps(event)
            )

    def _background(self, work: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=work, name=f"bulkqa-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def wait_for_background(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ helpers for runners and tests
    def upload(self, key: str, data: bytes) -> PutObjectOutputTypeDef:
        """Upload a file as a user would (this starts the workflow through S3 -> EventBridge)."""
        return self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)

    def executions(self) -> list[ExecutionListItemTypeDef]:
        sfn = self.client("stepfunctions")
        return list(sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"])

    def wait_for_executions(
        self, count: int = 1, timeout: float = 300, on_poll: Callable[[], None] | None = None
    ) -> list[DescribeExecutionOutputTypeDef]:
        """Wait until ``count`` executions exist and none is running; their descriptions."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        pause = 0.05  # poll quickly at first, then back off: polling competes with the workflow's threads
        while time.monotonic() < deadline:
            found = self.executions()
            if len(found) >= count and all(e["status"] != "RUNNING" for e in found):
                return [sfn.describe_execution(executionArn=e["executionArn"]) for e in found]
            if on_poll:
                on_poll()
            time.sleep(pause)
            pause = min(1.0, pause * 1.5)
        raise TimeoutError(f"workflow did not finish within {timeout:.0f} s")

    def history(self, execution_arn: str) -> list[HistoryEventTypeDef]:
        sfn = self.client("stepfunctions")
        events: list[HistoryEventTypeDef] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events
