"""Contract tests over template.yaml: what is deployed, read as data (no AWS, no moto).

Policies are checked after resolving the template's intrinsics with made-up physical ids, so a rule
like "the labeling role can invoke exactly the two labeling functions" compares concrete ARNs.
Least privilege is checked both ways: every request a function's code makes is allowed by its role,
and every (action, resource) its role grants is used by one of those requests.
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
    """The template with its parameters bound and made-up physical ids for every resource."""
    stack = cfn.Stack(TEMPLATE, STACK, REGION, {"WorkteamArn": WORKTEAM, **(parameters or {})})
    deferred = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine", "AWS::Logs::LogGroup")
    for logical, spec in RESOURCES.items():
        kind, name = spec["Type"], f"{STACK}-{logical}-1A2B3C"
        if kind == "AWS::S3::Bucket":
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
    for logical, spec in FUNCTIONS.items():
        name = stack.resolve(spec["Properties"].get("FunctionName", f"{STACK}-{logical}"))
        stack.refs[logical] = name
        stack.attrs[(logical, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    for logical, spec in of_type("AWS::Serverless::StateMachine").items():
        name = stack.resolve(spec["Properties"]["Name"])
        stack.refs[logical] = stack.attrs[(logical, "Arn")] = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        stack.attrs[(logical, "Name")] = name
    for logical, spec in of_type("AWS::Logs::LogGroup").items():
        name = stack.resolve(spec["Properties"]["LogGroupName"])
        stack.refs[logical] = name
        stack.attrs[(logical, "Arn")] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
    return stack


S = build_stack()


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return listed(document.get("Statement", []))


def role_statements(role: str) -> list[dict[str, Any]]:
    props = RESOURCES[role]["Properties"]
    return [st for policy in props.get("Policies", []) for st in statements(policy["PolicyDocument"])]


def policy_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document of the template: roles' inline policies, bucket and queue policies."""
    for logical, spec in RESOURCES.items():
        props = spec.get("Properties", {})
        for policy in props.get("Policies", []) if spec["Type"] == "AWS::IAM::Role" else []:
            yield logical, policy["PolicyDocument"]
        if "PolicyDocument" in props:
            yield logical, props["PolicyDocument"]


def all_statements() -> list[tuple[str, dict[str, Any]]]:
    return [(logical, st) for logical, doc in policy_documents() for st in statements(doc)]


def grants(role: str, stack: cfn.Stack = S) -> set[tuple[str, str]]:
    """(action, concrete resource) pairs an IAM role allows."""
    out = set()
    for st in role_statements(role):
        assert st["Effect"] == "Allow", (role, st)
        for action in listed(st["Action"]):
            for resource in listed(stack.resolve(st["Resource"])):
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


def test_no_wildcard_actions_in_allow_statements() -> None:
    for logical, st in all_statements():
        if st["Effect"] != "Allow":
            continue
        for action in listed(st.get("Action", [])):
            assert "*" not in action, (logical, action)
        assert "NotAction" not in st and "NotResource" not in st, logical


def test_the_only_deny_is_the_tls_only_bucket_policy() -> None:
    denies = [(logical, st) for logical, st in all_statements() if st["Effect"] == "Deny"]
    assert [logical for logical, _ in denies] == ["LabelsBucketPolicy"]


def test_resource_star_only_for_the_namespaced_put_metric_data() -> None:
    stars = [(logical, st) for logical, st in all_statements() if "*" in listed(st.get("Resource", []))]
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


def test_send_task_is_granted_on_this_state_machine_only() -> None:
    machine = S.attrs[("BulkQaStateMachine", "Arn")]
    found = 0
    for logical, st in all_statements():
        actions = listed(st.get("Action", []))
        if any(a.startswith("states:SendTask") for a in actions):
            found += 1
            # the machine, and its Distributed Map children (<name>/<map label>), where the wait runs
            assert listed(S.resolve(st["Resource"])) == [machine, f"{machine}/*"], logical
            assert set(actions) <= {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
    assert found == 2  # start_labeling_job and on_labeling_job_event


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
    assert listed(S.resolve(st["Resource"])) == [S.attrs[("LabelingRole", "Arn")]]
    assert st["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


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


def uses() -> dict[str, set[tuple[str, str]]]:
    """Every (IAM action, concrete resource) each function's code needs, derived from reading the code.

    S3 keys come from bulkqa.keys (the code's own layout); a GetObject/PutObject is on
    ``<bucket ARN>/<key>``. CloudWatch Logs is the function's own log group.
    """
    run = "sample-84f010a70d"
    job = keys.job_name(run, 0)
    bucket = S.attrs[("LabelsBucket", "Arn")]
    labels, runs = S.attrs[("LabelsTable", "Arn")], S.attrs[("RunsTable", "Arn")]
    upload = f"{bucket}/incoming/sample.csv"
    machine = S.attrs[("BulkQaStateMachine", "Arn")]
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
        # runs.update (token); the worker template; CreateLabelingJob (+ Tags: AddTags, RoleArn: PassRole);
        # DescribeLabelingJob; SendTaskSuccess/Failure when the job already ended
        "StartLabelingJobFunction": {
            ("dynamodb:UpdateItem", runs),
            ("s3:PutObject", obj(keys.worker_template_key(run))),
            ("sagemaker:CreateLabelingJob", job_arn),
            ("sagemaker:AddTags", job_arn),
            ("sagemaker:DescribeLabelingJob", job_arn),
            ("iam:PassRole", S.attrs[("LabelingRole", "Arn")]),
            ("states:SendTaskSuccess", machine),
            ("states:SendTaskFailure", machine),
            ("states:SendTaskSuccess", child),
            ("states:SendTaskFailure", child),
        },
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
            ("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:{S.name}-run-notifications"),
        },
    }
    for logical, spec in FUNCTIONS.items():
        name = S.refs[logical]
        log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}:*"
        needs[logical] |= {("logs:CreateLogStream", log_group), ("logs:PutLogEvents", log_group)}
        # an asynchronous invocation's on-failure destination is sent by Lambda with the function's role
        destination = spec["Properties"].get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure")
        if destination:
            assert destination["Type"] == "SQS"
            needs[logical].add(("sqs:SendMessage", S.resolve(destination["Destination"])))
    return needs


def allowed(action: str, resource: str, granted: set[tuple[str, str]]) -> bool:
    return any(a == action and fnmatch.fnmatchcase(resource, pattern) for a, pattern in granted)


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_each_role_grants_exactly_what_its_code_uses(logical: str) -> None:
    needed = uses()[logical]
    granted = grants(function_role(logical))
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
    def schema(logical: str) -> dict[str, str]:
        return {k["AttributeName"]: k["KeyType"] for k in RESOURCES[logical]["Properties"]["KeySchema"]}

    assert schema("LabelsTable") == {"run_partition": "HASH", "item_id": "RANGE"}
    assert schema("RunsTable") == {"pk": "HASH"}


# --- logs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_each_function_has_a_log_group_with_retention(logical: str) -> None:
    groups = {S.resolve(spec["Properties"]["LogGroupName"]): spec for spec in of_type("AWS::Logs::LogGroup").values()}
    name = f"/aws/lambda/{S.refs[logical]}"
    assert name in groups, f"{logical} logs to {name}, which the template does not create"
    assert S.resolve(groups[name]["Properties"]["RetentionInDays"]) in {
        str(d) for d in TEMPLATE["Parameters"]["LogRetentionDays"]["AllowedValues"]
    }


def test_every_log_group_belongs_to_a_function() -> None:
    names = {f"/aws/lambda/{S.refs[logical]}" for logical in FUNCTIONS}
    for logical, spec in of_type("AWS::Logs::LogGroup").items():
        assert S.resolve(spec["Properties"]["LogGroupName"]) in names, logical
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


def _functions_accept(env: str, value: str) -> bool:
    """Every settings reader of the functions, with ``env`` set to ``value`` and the rest valid."""
    environ = {spec.env: spec.default for spec in settings.PARAMETERS}
    environ |= {"BUCKET_NAME": "b", "LABELS_TABLE_NAME": "l", "RUNS_TABLE_NAME": "r", "WORKTEAM_ARN": WORKTEAM}
    environ |= {"LABELING_ROLE_ARN": "r", "PRE_LABELING_FUNCTION_ARN": "p", "POST_LABELING_FUNCTION_ARN": "q"}
    environ[env] = value
    readers = (
        settings.ingest_settings,
        settings.batch_settings,
        settings.labeling_settings,
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
        template, functions = _cloudformation_accepts(declaration, value), _functions_accept(spec.env, value)
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


def test_the_alarms_cover_failed_runs_dead_letters_and_every_functions_errors() -> None:
    alarms = of_type("AWS::CloudWatch::Alarm")
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    single = {
        (p["Namespace"], p["MetricName"], S.resolve(p["Dimensions"][0]["Value"]))
        for p in (a["Properties"] for a in alarms.values())
        if "MetricName" in p
    }
    machine = S.attrs[("BulkQaStateMachine", "Arn")]
    assert ("AWS/States", "ExecutionsFailed", machine) in single
    assert ("AWS/States", "ExecutionsTimedOut", machine) in single
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", S.attrs[("EventDeadLetterQueue", "QueueName")]) in single
    (errors,) = [a["Properties"] for a in alarms.values() if "Metrics" in a["Properties"]]
    watched = {
        S.resolve(m["MetricStat"]["Metric"]["Dimensions"][0]["Value"])
        for m in errors["Metrics"]
        if "MetricStat" in m and m["MetricStat"]["Metric"]["MetricName"] == "Errors"
    }
    assert watched == {S.refs[logical] for logical in FUNCTIONS}, "an alarm on every function's errors"
    assert len(errors["Metrics"]) - 1 <= 10, "a metric math alarm holds at most 10 metrics: split the alarm"


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
    functions = {S.refs[logical] for logical in FUNCTIONS}
    assert shown("AWS/Lambda", "Errors") == functions and shown("AWS/Lambda", "Throttles") == functions
    assert shown("AWS/SQS", "ApproximateNumberOfMessagesVisible") == {S.attrs[("EventDeadLetterQueue", "QueueName")]}


def test_powertools_is_pinned_alike_for_lambda_and_for_the_local_cloud() -> None:
    requirements = (ROOT / "functions" / "requirements.txt").read_text(encoding="utf-8")
    (pin,) = re.findall(r"^aws-lambda-powertools==([\d.]+)$", requirements, re.M)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"aws-lambda-powertools=={pin}"' in pyproject
