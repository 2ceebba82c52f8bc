"""Contract tests over template.yaml: what is deployed, read as data (no AWS, no moto).

Policies are checked after resolving the template's intrinsics with made-up physical ids, so a rule
like "the labeling role can invoke exactly the two labeling functions" compares concrete ARNs.
Least privilege is checked both ways: every request a function's code makes is allowed by its role,
and every (action, resource) its role grants is used by one of those requests.

The template deploys one of two review backends (parameter ``ReviewBackend``): the stack is resolved once
for each (``STACKS``), leaving out the resources whose ``Condition`` is false, and the policy checks run
on both.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

from bulkqa import keys, settings
from bulkqa.errors import SettingsError
from bulkqa_local import cfn
from bulkqa_local.asl import placeholders
from tests.support.events import load_event

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = cfn.load(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
STACK, REGION, ACCOUNT = "bulk-label-qa", "us-east-1", cfn.ACCOUNT
WORKTEAM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/reviewers"

REQUIRED_FUNCTIONS = {  # the workflow's steps that must exist whatever else is added
    "ingest_labels",
    "make_batches",
    "start_labeling_job",
    "on_labeling_job_event",
    "pre_labeling",
    "post_labeling",
    "analyze_results",
}


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {logical: spec for logical, spec in RESOURCES.items() if spec["Type"] == kind}


FUNCTIONS = of_type("AWS::Serverless::Function")


def build_stack(parameters: dict[str, str] | None = None) -> cfn.Stack:
    """The template with its parameters bound and made-up physical ids for every resource of the stack
    (those whose Condition is false with these parameters are not in it)."""
    stack = cfn.Stack(TEMPLATE, STACK, REGION, {"WorkteamArn": WORKTEAM, **(parameters or {})})
    active = stack.resources
    deferred = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine", "AWS::Logs::LogGroup")
    for logical, spec in active.items():
        kind, name = spec["Type"], f"{STACK}-{logical}-1A2B3C"
        if kind == "AWS::Cognito::UserPool":
            pool = f"{REGION}_AbCdEf123"
            stack.refs[logical] = pool
            stack.attrs[(logical, "Arn")] = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool}"
            stack.attrs[(logical, "ProviderURL")] = f"https://cognito-idp.{REGION}.amazonaws.com/{pool}"
        elif kind == "AWS::Cognito::UserPoolClient":
            stack.refs[logical] = "1example23456789abcdefghij"
        elif kind == "AWS::Serverless::HttpApi":
            stack.refs[logical] = "a1b2c3d4e5"
            stack.attrs[(logical, "ApiEndpoint")] = f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com"
        elif kind == "AWS::S3::Bucket":
            stack.refs[logical] = name.lower()
            stack.attrs[(logical, "Arn")] = f"arn:aws:s3:::{name.lower()}"
        elif kind == "AWS::DynamoDB::Table":
            stack.refs[logical] = name
            stack.attrs[(logical, "Arn")] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        elif kind == "AWS::IAM::Role":
            stack.refs[logical] = name
            stack.attrs[(logical, "Arn")] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        elif kind == "AWS::SQS::Queue":
            stack.refs[logical] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
            stack.attrs[(logical, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
            stack.attrs[(logical, "QueueName")] = name
        elif kind not in deferred:
            stack.refs[logical] = name
    for logical, spec in active.items():
        if spec["Type"] == "AWS::Serverless::Function":
            name = stack.resolve(spec["Properties"].get("FunctionName", f"{STACK}-{logical}"))
            stack.refs[logical] = name
            stack.attrs[(logical, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    for logical, spec in active.items():
        if spec["Type"] == "AWS::Serverless::StateMachine":
            name = stack.resolve(spec["Properties"]["Name"])
            arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
            stack.refs[logical] = stack.attrs[(logical, "Arn")] = arn
            stack.attrs[(logical, "Name")] = name
    for logical, spec in active.items():
        if spec["Type"] == "AWS::Logs::LogGroup":
            name = stack.resolve(spec["Properties"]["LogGroupName"])
            stack.refs[logical] = name
            stack.attrs[(logical, "Arn")] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
    return stack


S = build_stack()  # the default backend: Ground Truth
SH = build_stack({"ReviewBackend": "SelfHosted"})
STACKS = {"GroundTruth": S, "SelfHosted": SH}


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return listed(document.get("Statement", []))


def role_statements(role: str, stack: cfn.Stack = S) -> list[dict[str, Any]]:
    """A role's statements in that stack (a statement under ``!If [<false>, ..., !Ref AWS::NoValue]`` is gone)."""
    props = stack.resources[role]["Properties"]
    return [st for policy in props.get("Policies", []) for st in statements(stack.resolve(policy["PolicyDocument"]))]


def policy_documents(stack: cfn.Stack = S) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document of the stack, resolved: roles' inline policies, bucket and queue policies."""
    for logical, spec in stack.resources.items():
        props = spec.get("Properties", {})
        for policy in props.get("Policies", []) if spec["Type"] == "AWS::IAM::Role" else []:
            yield logical, stack.resolve(policy["PolicyDocument"])
        if "PolicyDocument" in props:
            yield logical, stack.resolve(props["PolicyDocument"])


def all_statements(stack: cfn.Stack = S) -> list[tuple[str, dict[str, Any]]]:
    return [(logical, st) for logical, doc in policy_documents(stack) for st in statements(doc)]


def grants(role: str, stack: cfn.Stack = S) -> set[tuple[str, str]]:
    """(action, concrete resource) pairs an IAM role allows."""
    out = set()
    for st in role_statements(role, stack):
        assert st["Effect"] == "Allow", (role, st)
        for action in listed(st["Action"]):
            for resource in listed(st["Resource"]):
                out.add((action, resource))
    return out


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from walk(sub, f"{path}/{key}")
    elif isinstance(value, list):
        for n, sub in enumerate(value):
            yield from walk(sub, f"{path}/{n}")


def function_role(logical: str) -> str:
    role = FUNCTIONS[logical]["Properties"]["Role"]
    assert role == {"Fn::GetAtt": [role["Fn::GetAtt"][0], "Arn"]}, logical
    return str(role["Fn::GetAtt"][0])


def folder(logical: str) -> str:
    handler = FUNCTIONS[logical]["Properties"]["Handler"]
    match = re.fullmatch(r"([a-z_]+)[/.]app\.lambda_handler", handler)
    assert match, f"{logical}: handler {handler!r} is not <name>/app.lambda_handler"
    return match[1]


BY_FOLDER = {folder(logical): logical for logical in FUNCTIONS}


# --- functions -----------------------------------------------------------------------------------


def test_the_required_functions_exist() -> None:
    assert set(BY_FOLDER) >= REQUIRED_FUNCTIONS


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_each_handler_is_functions_name_app_lambda_handler(logical: str) -> None:
    source = ROOT / "functions" / folder(logical) / "app.py"
    assert source.is_file(), source
    tree = ast.parse(source.read_text(encoding="utf-8"))
    handlers = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "lambda_handler"]
    assert len(handlers) == 1
    assert [a.arg for a in handlers[0].args.args] == ["event", "context"]


def test_every_handler_folder_is_deployed_once() -> None:
    folders = {path.parent.name for path in (ROOT / "functions").glob("*/app.py")}
    assert folders == set(BY_FOLDER)
    assert len(BY_FOLDER) == len(FUNCTIONS)


def test_all_functions_share_one_code_uri_and_runtime() -> None:
    glob = TEMPLATE["Globals"]["Function"]
    assert glob["CodeUri"].rstrip("/") == "functions"
    assert glob["Runtime"] in ("python3.12", "python3.13")
    for logical, spec in FUNCTIONS.items():
        props = spec["Properties"]
        assert not {"CodeUri", "InlineCode", "Runtime", "Layers", "ImageUri"} & set(props), logical
        assert props.get("PackageType", "Zip") == "Zip"


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_each_function_has_its_own_role(logical: str) -> None:
    roles = [function_role(other) for other in FUNCTIONS]
    assert roles.count(function_role(logical)) == 1
    assert "Policies" not in FUNCTIONS[logical]["Properties"]  # no SAM policy templates beside the role
    trust = statements(RESOURCES[function_role(logical)]["Properties"]["AssumeRolePolicyDocument"])
    assert [st["Principal"] for st in trust] == [{"Service": "lambda.amazonaws.com"}]


# --- the state machine ---------------------------------------------------------------------------------


def test_asl_placeholders_equal_the_definition_substitutions() -> None:
    (machine,) = of_type("AWS::Serverless::StateMachine").values()
    props = machine["Properties"]
    text = (ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")
    substitutions = props["DefinitionSubstitutions"]
    assert placeholders(text) == set(substitutions)
    # every service integration ARN comes from a substitution in the stack's partition (GovCloud, China)
    assert not re.search(r"arn:", text)
    integrations = {k: v for k, v in substitutions.items() if not k.endswith("FunctionArn") and "Fn::Sub" in v}
    assert integrations["LambdaInvoke"] == {"Fn::Sub": "arn:${AWS::Partition}:states:::lambda:invoke"}
    for name, value in integrations.items():
        assert value["Fn::Sub"].startswith("arn:${AWS::Partition}:states:::"), name
    resources = set(re.findall(r'"Resource": "\$\{([A-Za-z0-9]+)\}"', text))
    assert {n for n in resources if not n.endswith("FunctionArn")} == set(integrations)
    for name, value in substitutions.items():
        if name.endswith("FunctionArn"):
            assert value == {"Fn::GetAtt": [name.removesuffix("Arn"), "Arn"]}, name
    assert "Definition" not in props  # one ASL file, the one the tests execute


# --- ARNs ------------------------------------------------------------------------------------------------


def test_arns_built_with_sub_use_the_partition() -> None:
    subs = [(path, v["Fn::Sub"]) for path, v in walk(TEMPLATE) if isinstance(v, dict) and "Fn::Sub" in v]
    assert subs
    for path, sub in subs:
        text = sub[0] if isinstance(sub, list) else sub
        if "arn:" in text:
            assert re.search(r"(^|[^a-z])arn:\$\{AWS::Partition\}:", text), (path, text)
            assert "arn:aws" not in text, (path, text)


def test_no_hard_coded_arn_anywhere_in_resources_or_outputs() -> None:
    for section in ("Resources", "Outputs", "Globals"):
        for path, value in walk(TEMPLATE.get(section, {})):
            if isinstance(value, str):
                assert not re.search(r"arn:aws(-[a-z]+)*:", value), (section + path, value)


# --- least privilege -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", sorted(STACKS))
def test_no_wildcard_actions_in_allow_statements(backend: str) -> None:
    for logical, st in all_statements(STACKS[backend]):
        if st["Effect"] != "Allow":
            continue
        for action in listed(st.get("Action", [])):
            assert "*" not in action, (logical, action)
        assert "NotAction" not in st and "NotResource" not in st, logical


@pytest.mark.parametrize("backend", sorted(STACKS))
def test_the_only_deny_is_the_tls_only_bucket_policy(backend: str) -> None:
    denies = [(logical, st) for logical, st in all_statements(STACKS[backend]) if st["Effect"] == "Deny"]
    assert [logical for logical, _ in denies] == ["LabelsBucketPolicy"]


@pytest.mark.parametrize("backend", sorted(STACKS))
def test_resource_star_only_for_the_namespaced_put_metric_data(backend: str) -> None:
    stars = [(logical, st) for logical, st in all_statements(STACKS[backend]) if "*" in listed(st.get("Resource", []))]
    assert len(stars) == 1
    logical, st = stars[0]
    assert logical == "LabelingRole"
    assert listed(st["Action"]) == ["cloudwatch:PutMetricData"]
    assert st["Condition"] == {"StringEquals": {"cloudwatch:namespace": "AWS/SageMaker"}}


def test_no_managed_policies_at_all() -> None:
    for path, value in walk(TEMPLATE):
        assert not path.endswith("/ManagedPolicyArns"), path
        assert not path.endswith("/PermissionsBoundary"), path
        if isinstance(value, str):
            assert ":iam::aws:policy/" not in value, path


@pytest.mark.parametrize("backend", sorted(STACKS))
def test_send_task_is_granted_on_this_state_machine_only(backend: str) -> None:
    stack = STACKS[backend]
    machine = stack.attrs[("BulkQaStateMachine", "Arn")]
    found = []
    for logical, st in all_statements(stack):
        actions = listed(st.get("Action", []))
        if any(a.startswith("states:SendTask") for a in actions):
            found.append(logical)
            # the machine, and its Distributed Map children (<name>/<map label>), where the wait runs
            assert listed(st["Resource"]) == [machine, f"{machine}/*"], logical
            assert set(actions) <= {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
    expected = {"StartLabelingJobRole", "OnLabelingJobEventRole"}  # a job's end resumes the workflow
    if backend == "SelfHosted":  # the job's last answer (review API) or the sweeper resumes it
        expected |= {"ReviewApiRole", "ReviewSweeperRole"}
    assert sorted(found) == sorted(expected)


def test_the_labeling_role_invokes_exactly_the_two_labeling_functions() -> None:
    invoked = {resource for action, resource in grants("LabelingRole") if action == "lambda:InvokeFunction"}
    assert invoked == {S.attrs[("PreLabelingFunction", "Arn")], S.attrs[("PostLabelingFunction", "Arn")]}
    trust = statements(RESOURCES["LabelingRole"]["Properties"]["AssumeRolePolicyDocument"])
    assert [st["Principal"] for st in trust] == [{"Service": "sagemaker.amazonaws.com"}]
    # Ground Truth is not among the SageMaker features that send aws:SourceAccount / aws:SourceArn (#12)
    assert [st.get("Condition") for st in trust] == [None]


def test_the_labeling_role_reads_a_second_image_bucket_only_when_one_is_given() -> None:
    readable = {r for a, r in grants("LabelingRole") if a == "s3:GetObject"}
    assert not any("caltech-images" in r for r in readable)
    with_images = build_stack({"ImageBucketName": "caltech-images"})
    readable = {r for a, r in grants("LabelingRole", with_images) if a == "s3:GetObject"}
    assert "arn:aws:s3:::caltech-images/*" in readable


def test_pass_role_only_for_the_labeling_role_to_sagemaker() -> None:
    passes = [(logical, st) for logical, st in all_statements() if "iam:PassRole" in listed(st.get("Action", []))]
    assert [logical for logical, _ in passes] == ["StartLabelingJobRole"]
    st = passes[0][1]
    assert listed(st["Resource"]) == [S.attrs[("LabelingRole", "Arn")]]
    assert st["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    # the self-hosted backend starts no labeling job: no role to pass, no SageMaker rights
    assert not [st for _, st in all_statements(SH) if "iam:PassRole" in listed(st.get("Action", []))]
    assert not any(a.startswith("sagemaker:") for a, _ in grants("StartLabelingJobRole", SH))


@pytest.mark.parametrize("backend", sorted(STACKS))
def test_no_cognito_rights_anywhere(backend: str) -> None:
    """Operators manage the reviewers' accounts themselves (aws cognito-idp admin-create-user); no function may."""
    for logical, st in all_statements(STACKS[backend]):
        for action in listed(st.get("Action", [])):
            assert not action.lower().startswith(("cognito-idp:", "cognito-identity:", "cognito-sync:")), logical


def test_the_state_machine_role_invokes_exactly_its_steps() -> None:
    (machine,) = of_type("AWS::Serverless::StateMachine").values()
    role = machine["Properties"]["Role"]["Fn::GetAtt"][0]
    substitutions = machine["Properties"]["DefinitionSubstitutions"]
    steps = {S.resolve(v) for k, v in substitutions.items() if k.endswith("FunctionArn")}
    granted = grants(role)
    assert {r for a, r in granted if a == "lambda:InvokeFunction"} == steps
    assert S.attrs[("PreLabelingFunction", "Arn")] not in steps  # Ground Truth's, not the workflow's
    bucket = S.attrs[("LabelsBucket", "Arn")]
    assert allowed("s3:GetObject", f"{bucket}/{keys.plan_key('r')}", granted)  # the Distributed Map's ItemReader
    assert not allowed("s3:GetObject", f"{bucket}/incoming/sample.csv", granted)
    assert {r for a, r in granted if a == "states:StartExecution"} == {S.attrs[("BulkQaStateMachine", "Arn")]}


def test_the_state_machine_role_watches_its_distributed_map_children_in_both_arn_forms() -> None:
    """A child execution's ARN is execution:<machine>/<map run>:<child>; AWS's example grants execution:<name>:*."""
    (machine,) = of_type("AWS::Serverless::StateMachine").values()
    granted = grants(machine["Properties"]["Role"]["Fn::GetAtt"][0])
    name = S.attrs[("BulkQaStateMachine", "Arn")].rsplit(":", 1)[1]
    prefix = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{name}"
    for action in ("states:DescribeExecution", "states:StopExecution"):
        assert {r for a, r in granted if a == action} == {f"{prefix}/*", f"{prefix}:*"}, action
    other = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:another-machine:run"
    assert not allowed("states:DescribeExecution", other, granted)


def test_the_state_machine_role_writes_map_results_and_notes_job_outcomes_only() -> None:
    """ResultWriter's S3 actions on map-runs/ only; the runs table's run item for the job outcomes."""
    (machine,) = of_type("AWS::Serverless::StateMachine").values()
    granted = grants(machine["Properties"]["Role"]["Fn::GetAtt"][0])
    bucket, runs = S.attrs[("LabelsBucket", "Arn")], S.attrs[("RunsTable", "Arn")]
    writer = {"s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"}
    for action in writer:
        assert allowed(action, f"{bucket}/map-runs/labeling/1234/manifest.json", granted), action
    assert {r for a, r in granted if a == "s3:PutObject"} == {f"{bucket}/map-runs/*"}
    assert not allowed("s3:PutObject", f"{bucket}/reports/r/report.json", granted)
    assert {(a, r) for a, r in granted if a.startswith("dynamodb:")} == {
        ("dynamodb:UpdateItem", runs),
        ("dynamodb:GetItem", runs),
    }
    text = (ROOT / machine["Properties"]["DefinitionUri"]).read_text(encoding="utf-8")
    assert set(re.findall(r'"TableName": "\$\{([A-Za-z]+)\}"', text)) == {"RunsTableName"}
    assert machine["Properties"]["DefinitionSubstitutions"]["RunsTableName"] == {"Ref": "RunsTable"}


def uses(stack: cfn.Stack = S) -> dict[str, set[tuple[str, str]]]:
    """Every (IAM action, concrete resource) each function of the stack needs, derived from reading the code.

    S3 keys come from bulkqa.keys (the code's own layout); a GetObject/PutObject is on
    ``<bucket ARN>/<key>``. CloudWatch Logs is the function's own log group.
    """
    self_hosted = stack.parameters["ReviewBackend"] == "SelfHosted"
    run = "sample-84f010a70d"
    job = keys.job_name(run, 0)
    bucket = stack.attrs[("LabelsBucket", "Arn")]
    labels, runs = stack.attrs[("LabelsTable", "Arn")], stack.attrs[("RunsTable", "Arn")]
    upload = f"{bucket}/incoming/sample.csv"
    machine = stack.attrs[("BulkQaStateMachine", "Arn")]
    review = stack.attrs.get(("ReviewTable", "Arn"), "")  # the self-hosted backend's table
    child = f"{machine}/LabelParts"  # the labeling wait's token belongs to a Distributed Map child
    job_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job}"

    def obj(key: str) -> str:
        return f"{bucket}/{key}"

    needs: dict[str, set[tuple[str, str]]] = {
        # runs.register_run: a conditional PutItem
        "RegisterRunFunction": {("dynamodb:PutItem", runs)},
        # store.head / read_range / stream with VersionId; the chunk list
        "PlanIngestFunction": {
            ("s3:GetObject", upload),
            ("s3:GetObjectVersion", upload),
            ("s3:PutObject", obj(keys.plan_key(run))),
        },
        # read_range with VersionId; the chunk's result; labels.put_items (BatchWriteItem)
        "IngestLabelsFunction": {
            ("s3:GetObject", upload),
            ("s3:GetObjectVersion", upload),
            ("s3:PutObject", obj(keys.chunk_result_key(run, 0))),
            ("dynamodb:BatchWriteItem", labels),
        },
        # store.keys (ListObjectsV2) + read_json of chunk results; rejected.csv, summary, batches, manifests;
        # re-written duplicates (BatchWriteItem); runs.update
        "MakeBatchesFunction": {
            ("s3:ListBucket", bucket),
            ("s3:GetObject", obj(keys.chunk_result_key(run, 0))),
            ("s3:PutObject", obj(keys.rejected_key(run))),
            ("s3:PutObject", obj(keys.ingest_summary_key(run))),
            ("s3:PutObject", obj(keys.batch_key(run, 0, "0123456789abcdef"))),
            ("s3:PutObject", obj(keys.manifest_key(run, 0))),
            ("s3:AbortMultipartUpload", obj(keys.rejected_key(run))),  # put_file: a failed multipart upload
            ("dynamodb:BatchWriteItem", labels),
            ("dynamodb:UpdateItem", runs),
        },
        # runs.update (token); the worker template; SendTaskSuccess/Failure when the job already ended; then
        # Ground Truth: CreateLabelingJob (+ Tags: AddTags, RoleArn: PassRole), DescribeLabelingJob
        "StartLabelingJobFunction": {
            ("dynamodb:UpdateItem", runs),
            ("s3:PutObject", obj(keys.worker_template_key(run))),
            ("states:SendTaskSuccess", machine),
            ("states:SendTaskFailure", machine),
            ("states:SendTaskSuccess", child),
            ("states:SendTaskFailure", child),
        }
        | (
            # or the self-hosted backend: SelfHostedJobs.start creates the job (create_job: a transaction of
            # two Puts; meta: GetItem), reads the manifest (stream), writes its slots (put_slots:
            # BatchWriteItem), opens it (begin: UpdateItem); status() reads META; delivered() after a re-check
            # resumed the workflow ends a complete job (UpdateItem) and marks it delivered (mark_delivered: a
            # transaction of an Update and the open-job entry's Delete)
            {
                ("dynamodb:GetItem", review),
                ("dynamodb:PutItem", review),
                ("dynamodb:UpdateItem", review),
                ("dynamodb:DeleteItem", review),
                ("dynamodb:BatchWriteItem", review),
                ("s3:GetObject", obj(keys.manifest_key(run, 0))),
            }
            if self_hosted
            else {
                ("sagemaker:CreateLabelingJob", job_arn),
                ("sagemaker:AddTags", job_arn),
                ("sagemaker:DescribeLabelingJob", job_arn),
                ("iam:PassRole", stack.attrs[("LabelingRole", "Arn")]),
            }
        ),
        # runs.get (token); DescribeLabelingJob; SendTaskSuccess/Failure
        "OnLabelingJobEventFunction": {
            ("dynamodb:GetItem", runs),
            ("sagemaker:DescribeLabelingJob", job_arn),
            ("states:SendTaskSuccess", machine),
            ("states:SendTaskFailure", machine),
            ("states:SendTaskSuccess", child),
            ("states:SendTaskFailure", child),
        },
        # labels.run_items (Query); summary; copy of rejected.csv (GetObject source, PutObject target); reports
        # (put_file: multipart when large, aborted if it fails)
        "AnalyzeResultsFunction": {
            ("dynamodb:Query", labels),
            ("dynamodb:UpdateItem", runs),
            ("s3:GetObject", obj(keys.ingest_summary_key(run))),
            ("s3:GetObject", obj(keys.rejected_key(run))),
            ("s3:PutObject", obj(keys.report_prefix(run) + "report.json")),
            ("s3:AbortMultipartUpload", obj(keys.report_prefix(run) + "corrected-labels.jsonl")),  # put_file
        },
        # the batch file named by the manifest line
        "PreLabelingFunction": {("s3:GetObject", obj(keys.batch_key(run, 0, "0123456789abcdef")))},
        # the payload file Ground Truth writes under the job's output; labels.set_verdicts (UpdateItem)
        "PostLabelingFunction": {
            (
                "s3:GetObject",
                obj(
                    f"{keys.labeling_output_prefix(run)}{job}/annotations/consolidated-annotation/"
                    "consolidation-request/iteration-1/0.json"
                ),
            ),
            ("dynamodb:UpdateItem", labels),
        },
        # the run's record (GetItem), its notified flag (UpdateItem); the run topic (Publish)
        "NotifyRunFunction": {
            ("dynamodb:GetItem", runs),
            ("dynamodb:UpdateItem", runs),
            ("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:{stack.name}-run-notifications"),
        },
    }
    if self_hosted:
        resume = {(a, r) for a in ("states:SendTaskSuccess", "states:SendTaskFailure") for r in (machine, child)}
        # bulkqa.adapters.review_table as ReviewService calls it: claim is a TransactWriteItems (slot
        # UpdateItem, marker PutItem, the previous holder's marker DeleteItem, lease PutItem, the other turns
        # ConditionCheckItem); lease_of/slot/meta GetItem; metas/markers/leases BatchGetItem; open_jobs,
        # screen_slots, reviewers Query; candidates/pending Query on the queue index; answer, heartbeat,
        # release, end_job, mark_tallied, mark_delivered UpdateItem/DeleteItem; drop_lease DeleteItem. The
        # tallies (labels.set_verdicts), the job's token (runs.get), the screen's batch file (read_json), the
        # images (presigned URLs carry the role's GetObject)
        needs["ReviewApiFunction"] = {
            ("dynamodb:GetItem", review),
            ("dynamodb:BatchGetItem", review),
            ("dynamodb:PutItem", review),
            ("dynamodb:UpdateItem", review),
            ("dynamodb:DeleteItem", review),
            ("dynamodb:ConditionCheckItem", review),
            ("dynamodb:Query", review),
            ("dynamodb:Query", f"{review}/index/queue"),
            ("dynamodb:UpdateItem", labels),
            ("dynamodb:GetItem", runs),
            ("s3:GetObject", obj(keys.batch_key(run, 0, "0123456789abcdef"))),
            ("s3:GetObject", obj("photos/cats/0001.jpg")),  # an image in the stack's bucket
            *resume,
        }
        if stack.parameters["ImageBucketName"]:
            needs["ReviewApiFunction"].add(
                ("s3:GetObject", f"arn:aws:s3:::{stack.parameters['ImageBucketName']}/a.jpg")
            )
        # ReviewService.sweep: open_jobs/screen_slots Query, meta GetItem, queued/pending Query on the index,
        # expire/mark_tallied/end_job/claim_delivery UpdateItem, mark_delivered UpdateItem + DeleteItem; the
        # redone tallies (labels.set_verdicts); the job's token; resume
        needs["ReviewSweeperFunction"] = {
            ("dynamodb:GetItem", review),
            ("dynamodb:UpdateItem", review),
            ("dynamodb:DeleteItem", review),
            ("dynamodb:Query", review),
            ("dynamodb:Query", f"{review}/index/queue"),
            ("dynamodb:UpdateItem", labels),
            ("dynamodb:GetItem", runs),
            *resume,
        }
    for logical, spec in FUNCTIONS.items():
        if not stack.active(logical):
            continue
        name = stack.refs[logical]
        log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}:*"
        needs[logical] |= {("logs:CreateLogStream", log_group), ("logs:PutLogEvents", log_group)}
        # an asynchronous invocation's on-failure destination is sent by Lambda with the function's role
        destination = spec["Properties"].get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure")
        if destination:
            assert destination["Type"] == "SQS"
            needs[logical].add(("sqs:SendMessage", stack.resolve(destination["Destination"])))
    return needs


def allowed(action: str, resource: str, granted: set[tuple[str, str]]) -> bool:
    return any(a == action and fnmatch.fnmatchcase(resource, pattern) for a, pattern in granted)


SH_IMAGES = build_stack({"ReviewBackend": "SelfHosted", "ImageBucketName": "caltech-images"})
STACKS_AND_FUNCTIONS = [
    (backend, logical)
    for backend, stack in (*STACKS.items(), ("SelfHosted+ImageBucketName", SH_IMAGES))
    for logical in sorted(FUNCTIONS)
    if stack.active(logical)
]


@pytest.mark.parametrize(("backend", "logical"), STACKS_AND_FUNCTIONS)
def test_each_role_grants_exactly_what_its_code_uses(backend: str, logical: str) -> None:
    stack = SH_IMAGES if backend == "SelfHosted+ImageBucketName" else STACKS[backend]
    needed = uses(stack)[logical]
    granted = grants(function_role(logical), stack)
    assert {a for a, _ in granted} == {a for a, _ in needed}, "actions differ from what the code uses"
    missing = sorted((a, r) for a, r in needed if not allowed(a, r, granted))
    assert not missing, f"the code needs these and the role does not allow them: {missing}"
    unused = sorted((a, p) for a, p in granted if not any(a == n and fnmatch.fnmatchcase(r, p) for n, r in needed))
    assert not unused, f"the role allows these and no request of the code uses them: {unused}"


def test_grants_do_not_reach_other_runs_files_than_needed() -> None:
    """Examples of what must stay out of reach (fnmatch's * crosses '/', like IAM's)."""
    bucket = S.attrs[("LabelsBucket", "Arn")]
    pre = grants(function_role("PreLabelingFunction"))
    assert not allowed("s3:GetObject", f"{bucket}/incoming/sample.csv", pre)
    assert not allowed("s3:GetObject", f"{bucket}/reports/r/report.json", pre)
    post = grants(function_role("PostLabelingFunction"))
    assert not allowed("s3:GetObject", f"{bucket}/runs/r/batches/000000-0123456789abcdef.json", post)
    ingest = grants(function_role("IngestLabelsFunction"))
    assert not allowed("s3:PutObject", f"{bucket}/incoming/sample.csv", ingest)
    assert not allowed("s3:PutObject", f"{bucket}/reports/r/report.json", ingest)


# --- storage ---------------------------------------------------------------------------------------------


def test_the_bucket() -> None:
    (bucket,) = of_type("AWS::S3::Bucket").values()
    props = bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms", "aws:kms:dsse")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["NotificationConfiguration"]["EventBridgeConfiguration"] == {"EventBridgeEnabled": True}
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_the_bucket_cors_is_exactly_what_the_worker_page_needs() -> None:
    """docs/ground-truth.md#s3-cors-for-the-worker-page: GET from any origin, exposing Access-Control-Allow-Origin."""
    (rule,) = RESOURCES["LabelsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["GET"]
    assert rule["AllowedOrigins"] == ["*"]
    assert rule["ExposedHeaders"] == ["Access-Control-Allow-Origin"]
    assert rule.get("AllowedHeaders", []) == []
    assert set(rule) <= {"AllowedMethods", "AllowedOrigins", "ExposedHeaders", "AllowedHeaders", "Id", "MaxAge"}


def test_the_image_bucket_needs_the_same_cors_rule_and_the_docs_give_the_command() -> None:
    """#12 point 10: bulkqa cannot check another bucket's CORS, so ImageBucketName and the README say how."""
    (rule,) = RESOURCES["LabelsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    # the S3 API's spelling of the template's rule (ExposeHeaders, not ExposedHeaders)
    api_rule = {
        "AllowedMethods": rule["AllowedMethods"],
        "AllowedOrigins": rule["AllowedOrigins"],
        "AllowedHeaders": rule.get("AllowedHeaders", []),
        "ExposeHeaders": rule["ExposedHeaders"],
    }
    command = "aws s3api put-bucket-cors --bucket <ImageBucketName> --cors-configuration"
    configuration = "'" + json.dumps({"CORSRules": [api_rule]}, separators=(",", ":")) + "'"
    description = " ".join(TEMPLATE["Parameters"]["ImageBucketName"]["Description"].split())
    assert "every bucket holding input images needs this CORS rule" in description
    assert "cannot check" in description
    assert f"{command} {configuration}" in description
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"{command} \\\n  {configuration}" in readme.replace("   ", "")
    assert "**every bucket holding input images needs this CORS rule**" in " ".join(readme.split())
    guide = (ROOT / "docs" / "ground-truth.md").read_text(encoding="utf-8")
    assert f"{command} \\\n  {configuration}" in guide


def test_max_concurrent_tasks_is_capped_at_the_default_quota_and_says_how_to_go_higher() -> None:
    """#12 point 5: CreateLabelingJob allows 1,000 concurrent tasks by default; 5,000 needs a quota increase."""
    spec = settings.BY_PARAMETER["MaxConcurrentTasks"]
    assert (spec.low, spec.high, spec.default) == (1, 1000, "1000")
    assert spec.problem("1001") and spec.problem("5000") and not spec.problem("1000")
    description = " ".join(TEMPLATE["Parameters"]["MaxConcurrentTasks"]["Description"].split())
    assert "Service Quotas increase" in description and "settings.py" in description


def test_the_bucket_policy_allows_tls_only() -> None:
    (policy,) = of_type("AWS::S3::BucketPolicy").values()
    props = policy["Properties"]
    assert props["Bucket"] == {"Ref": "LabelsBucket"}
    (st,) = statements(props["PolicyDocument"])
    assert (st["Effect"], st["Principal"], st["Action"]) == ("Deny", "*", "s3:*")
    bucket = S.attrs[("LabelsBucket", "Arn")]
    assert sorted(listed(S.resolve(st["Resource"]))) == [bucket, f"{bucket}/*"]
    assert st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("logical", sorted(of_type("AWS::DynamoDB::Table")))
def test_tables_are_encrypted_and_recoverable(logical: str) -> None:
    props = RESOURCES[logical]["Properties"]
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_the_tables_keys_are_those_the_adapters_use() -> None:
    def schema(spec: dict[str, Any]) -> dict[str, str]:
        return {k["AttributeName"]: k["KeyType"] for k in spec["KeySchema"]}

    assert schema(RESOURCES["LabelsTable"]["Properties"]) == {"run_partition": "HASH", "item_id": "RANGE"}
    assert schema(RESOURCES["RunsTable"]["Properties"]) == {"pk": "HASH"}
    review = RESOURCES["ReviewTable"]["Properties"]
    assert schema(review) == {"pk": "HASH", "sk": "RANGE"}
    (queue,) = review["GlobalSecondaryIndexes"]
    assert queue["IndexName"] == "queue"
    assert schema(queue) == {"q_pk": "HASH", "q_sk": "RANGE"}
    assert queue["Projection"] == {"ProjectionType": "ALL"}
    assert {a["AttributeName"]: a["AttributeType"] for a in review["AttributeDefinitions"]} == dict.fromkeys(
        ("pk", "sk", "q_pk", "q_sk"), "S"
    )
    assert review["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}


# --- logs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "logical"), [(b, f) for b, f in STACKS_AND_FUNCTIONS if b in STACKS])
def test_each_function_has_a_log_group_with_retention(backend: str, logical: str) -> None:
    stack = STACKS[backend]
    groups = {
        stack.resolve(spec["Properties"]["LogGroupName"]): spec
        for logical_id, spec in of_type("AWS::Logs::LogGroup").items()
        if stack.active(logical_id)
    }
    name = f"/aws/lambda/{stack.refs[logical]}"
    assert name in groups, f"{logical} logs to {name}, which the template does not create"
    assert stack.resolve(groups[name]["Properties"]["RetentionInDays"]) in {
        str(d) for d in TEMPLATE["Parameters"]["LogRetentionDays"]["AllowedValues"]
    }
    assert groups[name].get("Condition") == RESOURCES[logical].get("Condition"), "deployed with its function"


@pytest.mark.parametrize("backend", sorted(STACKS))
def test_every_log_group_belongs_to_a_function_or_is_the_review_apis_access_log(backend: str) -> None:
    stack = STACKS[backend]
    names = {f"/aws/lambda/{stack.refs[logical]}" for logical in FUNCTIONS if stack.active(logical)}
    access_logs = {
        stack.resolve(spec["Properties"]["AccessLogSettings"]["DestinationArn"])
        .removesuffix(":*")
        .split(":log-group:")[1]
        for logical, spec in stack.resources.items()
        if spec["Type"] == "AWS::Serverless::HttpApi"
    }
    assert len(access_logs) == (backend == "SelfHosted")
    for logical, spec in stack.resources.items():
        if spec["Type"] == "AWS::Logs::LogGroup":
            assert stack.resolve(spec["Properties"]["LogGroupName"]) in names | access_logs, logical
            assert "RetentionInDays" in spec["Properties"], logical


# --- EventBridge -------------------------------------------------------------------------------------------


def rule(owner: str) -> dict[str, Any]:
    (event,) = [e for e in RESOURCES[owner]["Properties"]["Events"].values() if e["Type"] == "EventBridgeRule"]
    return dict(event["Properties"])


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


def test_the_upload_rule_starts_the_workflow_for_csv_files_in_incoming() -> None:
    properties = rule("BulkQaStateMachine")
    spellings = [{"wildcard": f"incoming/*.{c}{s}{v}"} for c in "cC" for s in "sS" for v in "vV"]
    assert sorted(properties["Pattern"]["detail"]["object"]["key"], key=str) == sorted(spellings, key=str)
    assert properties["Pattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": "LabelsBucket"}]},
            "object": {"key": properties["Pattern"]["detail"]["object"]["key"]},
        },
    }
    pattern = S.resolve(properties["Pattern"])
    event = load_event("s3_object_created", bucket=S.refs["LabelsBucket"])
    assert matches(pattern, event)
    for key in ("incoming/sub/dir/labels.csv", "incoming/a.csv", "incoming/A.CSV", "incoming/b.Csv", "incoming/c.cSv"):
        event["detail"]["object"]["key"] = key
        assert matches(pattern, event), key
    for key in (
        "incoming/a.txt",
        "runs/r/rejected.csv",
        "reports/r/report.CSV",
        "incoming/a.csv.bak",
        "Incoming/a.csv",
    ):
        event["detail"]["object"]["key"] = key
        assert not matches(pattern, event), key
    assert not matches(pattern, load_event("s3_object_created"))  # another bucket


def test_the_labeling_job_rule_resumes_on_completed_failed_or_stopped() -> None:
    properties = rule("OnLabelingJobEventFunction")
    pattern = properties["Pattern"]
    assert pattern == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Ground Truth Labeling Job State Change"],
        "detail": {"LabelingJobStatus": ["Completed", "Failed", "Stopped"]},
    }
    event = load_event("labeling_job_state_change")
    for status, expected in (
        ("Completed", True),
        ("Failed", True),
        ("Stopped", True),
        ("InProgress", False),
        ("Stopping", False),
    ):
        event["detail"]["LabelingJobStatus"] = status
        assert matches(pattern, event) is expected, status
    assert matches(pattern, load_event("labeling_job_failed"))


@pytest.mark.parametrize("owner", ["BulkQaStateMachine", "OnLabelingJobEventFunction"])
def test_event_rules_retry_and_keep_what_they_cannot_deliver(owner: str) -> None:
    properties = rule(owner)
    assert properties["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    dead_letters = properties.get("DeadLetterConfig", {}).get("Arn")
    if dead_letters is not None:
        queue = S.resolve(dead_letters)
        assert queue.startswith(f"arn:aws:sqs:{REGION}:{ACCOUNT}:")


# --- parameters: the template accepts exactly what the functions accept ------------------------------------


def _cloudformation_accepts(declaration: dict[str, Any], value: str) -> bool:
    """CloudFormation's own check of a parameter value against its declaration (String or Number)."""
    if declaration["Type"] == "Number":
        try:
            number = float(value)
        except ValueError:
            return False
        return float(declaration.get("MinValue", "-inf")) <= number <= float(declaration.get("MaxValue", "inf"))
    if "AllowedValues" in declaration and value not in [str(v) for v in declaration["AllowedValues"]]:
        return False
    # CloudFormation's AllowedPattern must match the whole value
    return "AllowedPattern" not in declaration or re.fullmatch(declaration["AllowedPattern"], value) is not None


def _rules_accept(parameter: str, value: str) -> bool:
    """The template's ``Rules`` with ``parameter`` set to ``value`` and the others at their defaults (a work team)."""
    try:
        cfn.Stack(TEMPLATE, STACK, REGION, {"WorkteamArn": WORKTEAM, parameter: value})
    except cfn.TemplateRuleFailed:
        return False
    return True


def _functions_accept(env: str, value: str) -> bool:
    """Every settings reader of the functions, with ``env`` set to ``value`` and the rest valid."""
    environ = {spec.env: spec.default for spec in settings.PARAMETERS}
    environ |= {"BUCKET_NAME": "b", "LABELS_TABLE_NAME": "l", "RUNS_TABLE_NAME": "r", "WORKTEAM_ARN": WORKTEAM}
    environ |= {"LABELING_ROLE_ARN": "r", "PRE_LABELING_FUNCTION_ARN": "p", "POST_LABELING_FUNCTION_ARN": "q"}
    environ |= {"REVIEW_TABLE_NAME": "t", "USER_POOL_ID": "u", "USER_POOL_CLIENT_ID": "c", "COGNITO_ENDPOINT": "e"}
    environ[env] = value
    readers = (
        settings.ingest_settings,
        settings.batch_settings,
        settings.labeling_settings,
        settings.review_settings,
        settings.analysis_settings,
    )
    try:
        for read in readers:
            read(environ)
    except SettingsError:
        return False
    return True


def _probes(spec: settings.Setting) -> list[str]:
    """Values just inside and just outside each bound, and spellings a number parser might let through."""
    if spec.kind == "choice":
        return [*spec.choices, "", "AUTO", " auto", "other"]
    if spec.kind == "pattern":
        return [spec.default, "", "x", WORKTEAM, WORKTEAM + "\n", "caltech-images", "Caltech_Images", "ab", "a" * 64]
    low, high = spec.low, spec.high
    probes = [str(v) for v in (low - 1, low, low + 1, high - 1, high, high + 1, high * 10) if v >= 0]
    probes += ["", " 5", "5 ", "+5", "-0", "05", "5_0", "1e2", "0x10", "inf", "nan", "٥", "５", f"{high}.0"]
    probes += [f"{low}.5", f"{high - 1}.999999", f"{high}.000001", "-0.000001", "0.000001", ".5", "5."]
    return probes


def test_every_parameter_the_functions_read_is_declared_once_in_settings() -> None:
    read: dict[str, str] = {}
    for spec in FUNCTIONS.values():
        variables = spec["Properties"].get("Environment", {}).get("Variables", {})
        for env, value in variables.items():
            if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in TEMPLATE["Parameters"]:
                assert read.setdefault(value["Ref"], env) == env, value["Ref"]
    assert {name: settings.BY_PARAMETER[name].env for name in read} == read
    assert set(read) == set(settings.BY_PARAMETER)


@pytest.mark.parametrize("spec", settings.PARAMETERS, ids=lambda s: s.parameter)
def test_the_template_declares_each_parameter_as_settings_does(spec: settings.Setting) -> None:
    declaration = {k: v for k, v in TEMPLATE["Parameters"][spec.parameter].items() if k != "Description"}
    assert declaration == spec.template_constraints()


@pytest.mark.parametrize("spec", settings.PARAMETERS, ids=lambda s: s.parameter)
def test_the_template_accepts_exactly_what_the_functions_accept(spec: settings.Setting) -> None:
    declaration = TEMPLATE["Parameters"][spec.parameter]
    for value in _probes(spec):
        template = _cloudformation_accepts(declaration, value) and _rules_accept(spec.parameter, value)
        functions = _functions_accept(spec.env, value)
        assert template == functions, f"{spec.parameter}={value!r}: template {template}, functions {functions}"
    if spec.kind in ("integer", "decimal"):  # the bounds themselves, and one step outside
        assert _functions_accept(spec.env, str(spec.low)) and _functions_accept(spec.env, str(spec.high))
        assert not _functions_accept(spec.env, str(spec.high + 1))


def test_max_fp_ratio_150_is_refused_by_the_template_not_after_the_review() -> None:
    declaration = TEMPLATE["Parameters"]["MaxFpRatio"]
    assert not _cloudformation_accepts(declaration, "150")
    assert _cloudformation_accepts(declaration, "100") and _cloudformation_accepts(declaration, "0.1")
    assert "from 0 to 100" in declaration["ConstraintDescription"]


@pytest.mark.parametrize(("low", "high"), [(0, 0), (0, 100), (1, 9), (30, 28_800), (60, 2_592_000), (99, 1_001)])
def test_integer_regex_matches_exactly_the_range(low: int, high: int) -> None:
    pattern = re.compile(settings.integer_regex(low, high))
    for n in [*range(0, 1_100), *range(high - 1_000, high + 1_000)]:
        assert (pattern.fullmatch(str(n)) is not None) == (low <= n <= high), n
    assert pattern.fullmatch("0" + str(max(low, 1))) is None


# --- operations (#12): notification, alarms, dashboard, Powertools settings ------------------------------


def test_notification_email_is_optional_and_subscribed_only_when_given() -> None:
    parameter = TEMPLATE["Parameters"]["NotificationEmail"]
    assert parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], "") and re.fullmatch(parameter["AllowedPattern"], "qa@example.com")
    assert not re.fullmatch(parameter["AllowedPattern"], "not an address")
    subscription = RESOURCES["RunNotificationSubscription"]
    assert subscription["Condition"] == "HasNotificationEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "NotificationEmail"}
    assert subscription["Properties"]["TopicArn"] == {"Ref": "RunNotificationTopic"}
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-run-notifications"
    env = lambda stack: stack.resolve(FUNCTIONS["NotifyRunFunction"]["Properties"]["Environment"])["Variables"]  # noqa: E731
    assert env(S)["NOTIFICATION_TOPIC_ARN"] == ""  # no address: the function sends nothing
    assert env(build_stack({"NotificationEmail": "qa@example.com"}))["NOTIFICATION_TOPIC_ARN"] == topic_arn
    assert S.resolve(RESOURCES["RunNotificationTopic"]["Properties"]["TopicName"]) == topic_arn.rsplit(":", 1)[1]


def test_the_run_ended_rule_takes_this_state_machines_ended_executions_only() -> None:
    pattern = S.resolve(rule("NotifyRunFunction")["Pattern"])
    machine = S.attrs[("BulkQaStateMachine", "Arn")]

    def event(status: str, arn: str = machine) -> dict[str, Any]:
        return {
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": {"status": status, "stateMachineArn": arn},
        }

    for status in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"):
        assert matches(pattern, event(status)), status
    assert not matches(pattern, event("RUNNING"))
    assert not matches(pattern, event("FAILED", machine + "-other"))
    properties = rule("NotifyRunFunction")
    assert properties["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["EventDeadLetterQueue", "Arn"]}}


@pytest.mark.parametrize("backend", sorted(STACKS))
def test_the_alarms_cover_failed_runs_dead_letters_and_every_functions_errors(backend: str) -> None:
    stack = STACKS[backend]
    alarms = {logical: spec for logical, spec in stack.resources.items() if spec["Type"] == "AWS::CloudWatch::Alarm"}
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    single = {
        (p["Namespace"], p["MetricName"], stack.resolve(p["Dimensions"][0]["Value"]))
        for p in (a["Properties"] for a in alarms.values())
        if "MetricName" in p
    }
    machine = stack.attrs[("BulkQaStateMachine", "Arn")]
    assert ("AWS/States", "ExecutionsFailed", machine) in single
    assert ("AWS/States", "ExecutionsTimedOut", machine) in single
    assert (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        stack.attrs[("EventDeadLetterQueue", "QueueName")],
    ) in single
    watched: list[str] = []
    for errors in [a["Properties"] for a in alarms.values() if "Metrics" in a["Properties"]]:
        watched += [
            stack.resolve(m["MetricStat"]["Metric"]["Dimensions"][0]["Value"])
            for m in errors["Metrics"]
            if "MetricStat" in m and m["MetricStat"]["Metric"]["MetricName"] == "Errors"
        ]
        assert len(errors["Metrics"]) - 1 <= 10, "a metric math alarm holds at most 10 metrics: split the alarm"
    functions = {stack.refs[logical] for logical in FUNCTIONS if stack.active(logical)}
    assert sorted(watched) == sorted(functions), "an alarm on every function's errors, once"


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use() -> None:
    topic = RESOURCES["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = RESOURCES["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    (cloudwatch,) = [s for s in key["KeyPolicy"]["Statement"] if s.get("Principal", {}).get("Service")]
    assert cloudwatch["Principal"]["Service"] == "cloudwatch.amazonaws.com"
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    policy = RESOURCES["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Principal"]["Service"], s["Action"]) for s in policy] == [("cloudwatch.amazonaws.com", "sns:Publish")]
    run_topic = S.resolve(RESOURCES["RunNotificationTopic"]["Properties"]["KmsMasterKeyId"])
    assert run_topic == f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/sns"
    assert "${AWS::Partition}" in RESOURCES["RunNotificationTopic"]["Properties"]["KmsMasterKeyId"]["Fn::Sub"]


def test_the_dashboard_shows_runs_rows_images_errors_throttles_and_dead_letters() -> None:
    from bulkqa import metrics

    body = json.loads(S.resolve(RESOURCES["Dashboard"]["Properties"]["DashboardBody"]))
    rows = [row for widget in body["widgets"] for row in widget["properties"]["metrics"]]

    def shown(namespace: str, name: str) -> set[str]:
        """The dimension values a metric is shown for (CloudWatch's '.' repeats the row above)."""
        out, last = set(), []
        for row in rows:
            if isinstance(row[0], dict):
                continue
            full = [
                last[i] if v == "." and i < len(last) else v
                for i, v in enumerate(r for r in row if not isinstance(r, dict))
            ]
            last = full
            if full[0] == namespace and full[1] == name:
                out.add(full[3])
        return out

    machine = S.attrs[("BulkQaStateMachine", "Arn")]
    for name in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed"):
        assert shown("AWS/States", name) == {machine}, name
    namespace = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    assert namespace == metrics.DEFAULT_NAMESPACE
    for name in (metrics.ROWS_ACCEPTED, metrics.ROWS_REJECTED, metrics.ROWS_BELOW_MINIMUM, metrics.IMAGES_REVIEWED):
        assert shown(namespace, name) == {STACK}, name  # the service dimension: POWERTOOLS_SERVICE_NAME
    assert S.resolve(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]) == STACK
    assert any(isinstance(r[0], dict) and "disconfirmed" in r[0]["expression"] for r in rows), "% disconfirmed"
    # every function of either backend (the review functions' rows show no data with GroundTruth)
    functions = {SH.refs[logical] for logical in FUNCTIONS}
    assert shown("AWS/Lambda", "Errors") == functions and shown("AWS/Lambda", "Throttles") == functions
    assert shown("AWS/SQS", "ApproximateNumberOfMessagesVisible") == {S.attrs[("EventDeadLetterQueue", "QueueName")]}


def test_powertools_is_pinned_alike_for_lambda_and_for_the_local_cloud() -> None:
    requirements = (ROOT / "functions" / "requirements.txt").read_text(encoding="utf-8")
    (pin,) = re.findall(r"^aws-lambda-powertools==([\d.]+)$", requirements, re.M)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"aws-lambda-powertools=={pin}"' in pyproject


# --- the review backend (#13): GroundTruth or SelfHosted ------------------------------------------------------

#: the self-hosted backend's resources: deployed only with ReviewBackend SelfHosted
SELF_HOSTED = {
    "ReviewTable",
    "ReviewerPool",
    "ReviewerPoolClient",
    "ReviewersGroup",
    "AdminsGroup",
    "ReviewApi",
    "ReviewApiAccessLogGroup",
    "ReviewApiFunction",
    "ReviewApiRole",
    "ReviewApiLogGroup",
    "ReviewSweeperFunction",
    "ReviewSweeperRole",
    "ReviewSweeperLogGroup",
    "ReviewFunctionErrorsAlarm",
}


def test_review_backend_parameter_and_its_conditions() -> None:
    parameter = TEMPLATE["Parameters"]["ReviewBackend"]
    assert parameter["Default"] == "GroundTruth"
    assert parameter["AllowedValues"] == ["GroundTruth", "SelfHosted"]
    conditions = TEMPLATE["Conditions"]
    assert conditions["UseGroundTruth"] == {"Fn::Equals": [{"Ref": "ReviewBackend"}, "GroundTruth"]}
    assert conditions["UseSelfHosted"] == {"Fn::Equals": [{"Ref": "ReviewBackend"}, "SelfHosted"]}
    assert (S.conditions["UseGroundTruth"], S.conditions["UseSelfHosted"]) == (True, False)
    assert (SH.conditions["UseGroundTruth"], SH.conditions["UseSelfHosted"]) == (False, True)


def test_the_workteam_is_optional_and_a_rule_requires_it_for_ground_truth() -> None:
    parameter = TEMPLATE["Parameters"]["WorkteamArn"]
    assert parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], "") and re.fullmatch(parameter["AllowedPattern"], WORKTEAM)
    rule = TEMPLATE["Rules"]["WorkteamForGroundTruth"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "ReviewBackend"}, "GroundTruth"]}
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WorkteamArn"}, ""]}]}
    assert "WorkteamArn" in assertion["AssertDescription"] and "SelfHosted" in assertion["AssertDescription"]
    # evaluated as CloudFormation does (bulkqa_local.cfn): the default backend without a work team is refused
    with pytest.raises(cfn.TemplateRuleFailed, match="WorkteamForGroundTruth"):
        cfn.Stack(TEMPLATE, STACK, REGION, {})
    with pytest.raises(cfn.TemplateRuleFailed):
        cfn.Stack(TEMPLATE, STACK, REGION, {"ReviewBackend": "GroundTruth", "WorkteamArn": ""})
    assert cfn.Stack(TEMPLATE, STACK, REGION, {"ReviewBackend": "SelfHosted"}).parameters["WorkteamArn"] == ""


def test_every_self_hosted_resource_has_the_condition_and_nothing_else_has() -> None:
    conditional = {logical for logical, spec in RESOURCES.items() if spec.get("Condition") == "UseSelfHosted"}
    assert conditional == SELF_HOSTED
    assert set(S.resources) == set(RESOURCES) - SELF_HOSTED - {"RunNotificationSubscription"}
    assert set(SH.resources) == set(RESOURCES) - {"RunNotificationSubscription"}  # GT's stay in both modes
    outputs = {name for name, spec in TEMPLATE["Outputs"].items() if spec.get("Condition") == "UseSelfHosted"}
    assert outputs == {"ReviewerUrl", "ReviewerUserPoolId", "ReviewerClientId"}


@pytest.mark.parametrize("backend", sorted(STACKS))
def test_each_backend_resolves_without_a_reference_to_a_resource_it_does_not_have(backend: str) -> None:
    """CloudFormation refuses a template whose deployed resource refers to a resource whose Condition is false;
    bulkqa_local.cfn raises on such a reference, so resolving every deployed resource's properties checks it."""
    stack = STACKS[backend]
    for spec in stack.resources.values():
        stack.resolve(spec.get("Properties", {}))
    for spec in TEMPLATE["Outputs"].values():
        if "Condition" not in spec or stack.conditions[spec["Condition"]]:
            stack.resolve(spec["Value"])


def test_the_start_function_knows_the_backend_and_gets_the_review_table_only_when_self_hosted() -> None:
    for stack, table in ((S, ""), (SH, SH.refs.get("ReviewTable"))):
        env = stack.resolve(stack.function_properties("StartLabelingJobFunction")["Environment"]["Variables"])
        assert env["REVIEW_BACKEND"] == stack.parameters["ReviewBackend"]
        assert env["REVIEW_TABLE_NAME"] == table
    review_rights = {(a, r) for a, r in grants("StartLabelingJobRole", SH) if r == SH.attrs[("ReviewTable", "Arn")]}
    assert review_rights and not any("ReviewTable" in r for _, r in grants("StartLabelingJobRole", S))


def test_the_reviewer_pool_lets_only_administrators_create_accounts() -> None:
    pool = RESOURCES["ReviewerPool"]
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    policy = props["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert policy["RequireLowercase"] and policy["RequireUppercase"] and policy["RequireNumbers"]
    assert policy["TemporaryPasswordValidityDays"] <= 7
    assert props["DeletionProtection"] == "ACTIVE"
    # optional TOTP, never SMS (which needs an SNS role and costs per message)
    assert props["MfaConfiguration"] in ("OFF", "OPTIONAL")
    assert props.get("EnabledMfas", []) in ([], ["SOFTWARE_TOKEN_MFA"])
    assert "SmsConfiguration" not in props and "LambdaConfig" not in props
    # protected from deletion, so CloudFormation keeps it rather than fail to delete it
    assert pool["DeletionPolicy"] == pool["UpdateReplacePolicy"] == "Retain"
    groups = {RESOURCES[g]["Properties"]["GroupName"] for g in ("ReviewersGroup", "AdminsGroup")}
    assert groups == {"reviewers", "admins"}
    for logical in ("ReviewersGroup", "AdminsGroup", "ReviewerPoolClient"):
        assert RESOURCES[logical]["Properties"]["UserPoolId"] == {"Ref": "ReviewerPool"}


def test_the_reviewer_client_is_public_with_password_and_refresh_flows_only() -> None:
    props = RESOURCES["ReviewerPoolClient"]["Properties"]
    assert props["GenerateSecret"] is False  # the page is a public client: a secret would be public too
    assert props["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    assert props["EnableTokenRevocation"] is True
    assert not {"AllowedOAuthFlows", "CallbackURLs", "AllowedOAuthFlowsUserPoolClient"} & set(props)
    minutes = {"minutes": 1, "hours": 60, "days": 1440}
    units = props["TokenValidityUnits"]
    assert props["AccessTokenValidity"] * minutes[units["AccessToken"]] <= 60
    assert props["IdTokenValidity"] * minutes[units["IdToken"]] <= 60
    assert props["RefreshTokenValidity"] * minutes[units["RefreshToken"]] <= 24 * 60


def http_api_events(api: str) -> list[tuple[str, dict[str, Any]]]:
    """(function, event properties) of every HttpApi event whose ApiId is ``api``."""
    return [
        (logical, event["Properties"])
        for logical, spec in FUNCTIONS.items()
        for event in spec["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi" and event["Properties"].get("ApiId") == {"Ref": api}
    ]


def test_the_review_api_needs_a_cognito_access_token_on_every_api_route_but_the_config() -> None:
    api = RESOURCES["ReviewApi"]["Properties"]
    auth = api["Auth"]
    assert auth["DefaultAuthorizer"] == "Cognito"
    (name,) = auth["Authorizers"]
    cognito = auth["Authorizers"][name]
    assert cognito["IdentitySource"] == "$request.header.Authorization"
    assert cognito["AuthorizationScopes"] == ["aws.cognito.signin.user.admin"]  # ID tokens carry no scope
    jwt = SH.resolve(cognito["JwtConfiguration"])
    pool = SH.refs["ReviewerPool"]
    assert jwt == {
        "issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{pool}",
        "audience": [SH.refs["ReviewerPoolClient"]],
    }
    routes = {}
    for logical, event in http_api_events("ReviewApi"):
        assert logical == "ReviewApiFunction"
        effective = event.get("Auth", {}).get("Authorizer", auth["DefaultAuthorizer"])
        assert "AuthorizationScopes" not in event.get("Auth", {}), "the authorizer's scopes apply to every route"
        routes[f"{event['Method'].upper()} {event['Path']}"] = effective
    assert routes == {
        "GET /": "NONE",
        "GET /assets/{file}": "NONE",
        "GET /api/config": "NONE",
        "ANY /api/{proxy+}": "Cognito",
    }
    for route, authorizer in routes.items():
        if route.split(" ", 1)[1].startswith("/api/") and route != "GET /api/config":
            assert authorizer == "Cognito", route
    # no other API, and the review API only in this function's events
    assert [logical for logical, spec in RESOURCES.items() if spec["Type"].endswith("HttpApi")] == ["ReviewApi"]


def test_the_review_api_is_throttled_and_logged() -> None:
    api = RESOURCES["ReviewApi"]["Properties"]
    throttle = api["DefaultRouteSettings"]
    assert 0 < throttle["ThrottlingRateLimit"] <= 100 and 0 < throttle["ThrottlingBurstLimit"] <= 200
    logs = api["AccessLogSettings"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": ["ReviewApiAccessLogGroup", "Arn"]}
    fields = json.loads(logs["Format"])
    assert {"requestId", "routeKey", "status", "sub"} <= set(fields)
    # tokens, bodies and query strings stay out of the access log
    assert not re.search(r"authorization|\$context\.(request|path)Override|querystring", logs["Format"], re.I)


def test_the_review_functions_environment() -> None:
    expected = {
        "REVIEW_BACKEND": "SelfHosted",
        "REVIEW_TABLE_NAME": SH.refs["ReviewTable"],
        "USER_POOL_ID": SH.refs["ReviewerPool"],
        "USER_POOL_CLIENT_ID": SH.refs["ReviewerPoolClient"],
        "COGNITO_ENDPOINT": f"https://cognito-idp.{REGION}.amazonaws.com/",
        "IMAGE_BUCKET_NAME": "",
        "WORKERS_PER_OBJECT": "1",
        "TASK_TIME_LIMIT_SECONDS": "600",
        "TASK_AVAILABILITY_SECONDS": "864000",
        "BUCKET_NAME": SH.refs["LabelsBucket"],
        "LABELS_TABLE_NAME": SH.refs["LabelsTable"],
        "RUNS_TABLE_NAME": SH.refs["RunsTable"],
    }
    for logical, handler in (("ReviewApiFunction", "review_api"), ("ReviewSweeperFunction", "review_sweeper")):
        props = SH.function_properties(logical)
        assert props["Handler"] == f"{handler}/app.lambda_handler"
        assert SH.refs[logical] == f"{STACK}-{handler.replace('_', '-')}"
        env = SH.resolve(props["Environment"]["Variables"])
        assert {k: env.get(k) for k in expected} == expected, logical


def test_the_sweeper_runs_every_five_minutes() -> None:
    events = RESOURCES["ReviewSweeperFunction"]["Properties"]["Events"]
    (event,) = events.values()
    assert event["Type"] == "ScheduleV2"
    assert event["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    # a schedule's name is unique per account and group: the stack's name keeps two stacks apart
    assert SH.resolve(event["Properties"]["Name"]) == f"{STACK}-review-sweep"


def test_the_review_roles_read_only_job_items_of_the_runs_table() -> None:
    for role in ("ReviewApiRole", "ReviewSweeperRole"):
        runs = [st for st in role_statements(role, SH) if listed(st["Resource"]) == [SH.attrs[("RunsTable", "Arn")]]]
        (st,) = runs
        assert listed(st["Action"]) == ["dynamodb:GetItem"], role
        assert st["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["job#*"]}}, role


def test_the_review_api_reads_a_second_image_bucket_only_when_one_is_given() -> None:
    readable = {r for a, r in grants("ReviewApiRole", SH) if a == "s3:GetObject"}
    assert not any("caltech-images" in r for r in readable)
    readable = {r for a, r in grants("ReviewApiRole", SH_IMAGES) if a == "s3:GetObject"}
    assert "arn:aws:s3:::caltech-images/*" in readable
    bucket = SH.attrs[("LabelsBucket", "Arn")]
    api = grants("ReviewApiRole", SH)
    assert not allowed("s3:PutObject", f"{bucket}/reports/r/report.json", api)
    assert not any(a.startswith("s3:") and a != "s3:GetObject" for a, _ in api)


def test_the_review_outputs() -> None:
    outputs = TEMPLATE["Outputs"]
    assert SH.resolve(outputs["ReviewerUrl"]["Value"]) == SH.attrs[("ReviewApi", "ApiEndpoint")] + "/"
    assert SH.resolve(outputs["ReviewerUserPoolId"]["Value"]) == SH.refs["ReviewerPool"]
    assert SH.resolve(outputs["ReviewerClientId"]["Value"]) == SH.refs["ReviewerPoolClient"]
