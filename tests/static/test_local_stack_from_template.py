"""The local cloud is built from template.yaml itself: change the template, and the local stack changes.

A copy of the template (with statemachine/ beside it and CodeUri pointing at this checkout's
functions/) is edited: a parameter default, environment values, the upload rule's pattern and a
table key. ``LocalCloud(template=<copy>)`` must show every edit.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bulkqa_local import cfn
from bulkqa_local.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = cfn.load(ROOT / "template.yaml")


def edited(template: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(template)
    out["Globals"]["Function"]["CodeUri"] = str(ROOT / "functions")
    out["Parameters"]["BatchSize"]["Default"] = 7
    out["Globals"]["Function"]["Environment"]["Variables"]["LOG_LEVEL"] = "DEBUG"
    make_batches = out["Resources"]["MakeBatchesFunction"]["Properties"]
    make_batches["Environment"]["Variables"]["COMPLETION_CHECK_SECONDS"] = "120"
    rule = out["Resources"]["BulkQaStateMachine"]["Properties"]["Events"]["CsvUploaded"]["Properties"]
    rule["Pattern"]["detail"]["object"]["key"] = [{"wildcard": "uploads/*.csv"}]
    table = out["Resources"]["LabelsTable"]["Properties"]
    for spec in (*table["AttributeDefinitions"], *table["KeySchema"]):
        if spec["AttributeName"] == "item_id":
            spec["AttributeName"] = "item_key"
    return out


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """This module's stack, built from the edited copy (in place of tests/conftest.py's shared one)."""
    folder = tmp_path_factory.mktemp("stack")
    shutil.copytree(ROOT / "statemachine", folder / "statemachine")
    template = folder / "template.yaml"
    template.write_text(yaml.safe_dump(edited(ORIGINAL), sort_keys=False), encoding="utf-8")
    with LocalCloud(template=template) as local:
        yield local


def test_the_edits_are_real_edits() -> None:
    """The values below differ from the template's own, so the local stack can only have read the copy."""
    assert ORIGINAL["Parameters"]["BatchSize"]["Default"] != 7
    assert ORIGINAL["Globals"]["Function"]["Environment"]["Variables"]["LOG_LEVEL"] != "DEBUG"
    assert ORIGINAL["Globals"]["Function"]["CodeUri"] == "functions/"
    keys = [k["AttributeName"] for k in ORIGINAL["Resources"]["LabelsTable"]["Properties"]["KeySchema"]]
    assert "item_id" in keys and "item_key" not in keys


def test_a_parameter_default_reaches_the_function_environment(cloud: LocalCloud) -> None:
    assert cloud.function_by_logical_id("MakeBatchesFunction").environment["BATCH_SIZE"] == "7"


def test_environment_values_global_and_per_function(cloud: LocalCloud) -> None:
    assert {fn.environment["LOG_LEVEL"] for fn in cloud.functions.values()} == {"DEBUG"}
    make_batches = cloud.function_by_logical_id("MakeBatchesFunction")
    assert make_batches.environment["COMPLETION_CHECK_SECONDS"] == "120"
    assert make_batches.environment["BUCKET_NAME"] == cloud.bucket  # the rest still resolved
    assert make_batches.code_dir == ROOT / "functions"


def test_the_upload_rule_pattern(cloud: LocalCloud) -> None:
    (upload_rule,) = [r for r in cloud.rules if r["target"] == cloud.state_machine_arn]
    assert upload_rule["pattern"]["detail"]["object"]["key"] == [{"wildcard": "uploads/*.csv"}]
    assert upload_rule["pattern"]["detail"]["bucket"]["name"] == [cloud.bucket]


def test_uploads_follow_the_edited_rule(cloud: LocalCloud) -> None:
    s3 = cloud.client("s3")
    s3.put_object(Bucket=cloud.bucket, Key="incoming/labels.csv", Body=b"not,a,label,file\n")
    s3.put_object(Bucket=cloud.bucket, Key="uploads/labels.csv", Body=b"not,a,label,file\n")
    executions = cloud.wait_for_executions(count=1, timeout=30)
    time.sleep(0.2)  # a second execution, if the old pattern still matched, would have started by now
    executions = cloud.wait_for_executions(count=1, timeout=30)
    assert len(executions) == 1
    assert json.loads(executions[0]["input"])["detail"]["object"]["key"] == "uploads/labels.csv"
    assert executions[0]["status"] == "FAILED"  # the file is not a label CSV: InvalidLabelFile


def test_the_table_key_schema(cloud: LocalCloud) -> None:
    described = cloud.client("dynamodb").describe_table(TableName=cloud.table("LabelsTable"))["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in described["KeySchema"]} == {
        "run_partition": "HASH",
        "item_key": "RANGE",
    }


def test_a_queue_resolves_as_cloudformation_resolves_it(cloud: LocalCloud) -> None:
    queues = [logical for logical, spec in cloud.stack.resources.items() if spec["Type"] == "AWS::SQS::Queue"]
    if not queues:
        pytest.skip("the template has no queue")
    for logical in queues:
        assert cloud.stack.attrs[(logical, "Arn")].startswith("arn:aws:sqs:us-east-1:")
        assert cloud.stack.refs[logical].startswith("https://sqs.us-east-1.amazonaws.com/")


def test_the_ground_truth_stack_has_none_of_the_self_hosted_resources(cloud: LocalCloud) -> None:
    self_hosted_only = [r for r, spec in ORIGINAL["Resources"].items() if spec.get("Condition") == "UseSelfHosted"]
    assert self_hosted_only and not set(self_hosted_only) & set(cloud.stack.resources)
    assert not set(self_hosted_only) & set(cloud.stack.refs)
    assert not cloud.routes and not cloud.schedules
    assert cloud.client("cognito-idp").list_user_pools(MaxResults=10)["UserPools"] == []
    env = cloud.function_by_logical_id("StartLabelingJobFunction").environment
    assert (env["REVIEW_BACKEND"], env["REVIEW_TABLE_NAME"]) == ("GroundTruth", "")
