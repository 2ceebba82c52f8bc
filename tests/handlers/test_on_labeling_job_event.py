"""on_labeling_job_event against the local stack: the labeling job's state-change event resumes the run.

A real waiting task token comes from a small state machine whose only state waits on
``sqs:sendMessage.waitForTaskToken`` (the token is read from the queue), so success, failure and
duplicate deliveries are checked against a real Step Functions execution. Jobs are placed in the
local Ground Truth (``cloud.ground_truth.jobs``) with the status each test needs.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from bulkqa import aws, keys
from bulkqa.adapters.dynamodb import RunsTable
from bulkqa_local.cloud import LocalCloud
from tests.support.events import load_event


def on_event(cloud: LocalCloud, event: dict[str, Any]) -> dict[str, Any]:
    return dict(cloud.invoke(cloud.function_by_logical_id("OnLabelingJobEventFunction").name, event))


class Waiting:
    """An execution waiting on a task token, and the token."""

    def __init__(self, cloud: LocalCloud) -> None:
        sqs, sfn = cloud.client("sqs"), cloud.client("stepfunctions")
        self.sfn = sfn
        suffix = uuid.uuid4().hex[:10]
        queue = sqs.create_queue(QueueName=f"tokens-{suffix}")["QueueUrl"]
        definition = {
            "StartAt": "Wait for the job",
            "States": {
                "Wait for the job": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        }
        machine = sfn.create_state_machine(
            name=f"waiter-{suffix}", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/waiter"
        )["stateMachineArn"]
        self.execution = sfn.start_execution(stateMachineArn=machine, name=f"wait-{suffix}", input="{}")["executionArn"]
        deadline, messages = time.monotonic() + 10, []
        while not messages and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        assert messages, "the waiting execution sent no token"
        self.token = str(json.loads(messages[0]["Body"])["token"])

    def outcome(self) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            described = dict(self.sfn.describe_execution(executionArn=self.execution))
            described.pop("ResponseMetadata", None)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.02)
        raise TimeoutError("the execution is still waiting")

    def events(self) -> list[str]:
        history = self.sfn.get_execution_history(executionArn=self.execution)["events"]
        return [e["type"] for e in history]


class TaskCallbacksSent:
    """The SendTaskSuccess/SendTaskFailure requests the functions make (moto drops a failure's cause)."""

    EVENTS = ("before-call.sfn.SendTaskSuccess", "before-call.sfn.SendTaskFailure")

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event_name: str, params: dict[str, Any], **kwargs: Any) -> None:
        self.requests.append((event_name.rsplit(".", 1)[1], json.loads(params["body"])))

    def __enter__(self) -> TaskCallbacksSent:
        assert boto3.DEFAULT_SESSION is not None
        for name in self.EVENTS:
            boto3.DEFAULT_SESSION.events.register(name, self)
        aws.reset_clients()  # clients copy the session's handlers when built
        return self

    def __exit__(self, *exc: object) -> None:
        assert boto3.DEFAULT_SESSION is not None
        for name in self.EVENTS:
            boto3.DEFAULT_SESSION.events.unregister(name, self)
        aws.reset_clients()


def add_job(cloud: LocalCloud, status: str, *, token: str | None = None, reason: str = "") -> tuple[str, str]:
    """A labeling job started by this stack (its token stored) with the given status; (name, ARN)."""
    run_id = f"evt-{uuid.uuid4().hex[:10]}"
    name = keys.job_name(run_id, 0)
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{name}"
    now = datetime.now(UTC)
    job: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelingJobArn": arn,
        "LabelingJobStatus": status,
        "LabelCounters": {
            "TotalLabeled": 26,
            "HumanLabeled": 26,
            "MachineLabeled": 0,
            "FailedNonRetryableError": 0,
            "Unlabeled": 0,
        },
        "CreationTime": now,
        "LastModifiedTime": now,
        "LabelingJobOutput": {
            "OutputDatasetS3Uri": f"s3://{cloud.bucket}/runs/{run_id}/labeling-output/"
            f"{name}/manifests/output/output.manifest"
        },
    }
    if reason:
        job["FailureReason"] = reason
    cloud.ground_truth.jobs[name] = job
    if token is not None:
        RunsTable(cloud.client("dynamodb"), cloud.table("RunsTable")).update(
            f"job#{name}", {"token": token, "run_id": run_id, "part": 0}
        )
    return name, arn


def state_change(arn: str, status: str) -> dict[str, Any]:
    event = load_event("labeling_job_state_change")
    event["resources"] = [arn]
    event["detail"] = {"LabelingJobStatus": status}
    return event


def put_events_entry(arn: str, status: str) -> dict[str, Any]:
    """The same state change as a PutEvents entry, for delivery through the stack's own rule."""
    event = state_change(arn, status)
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Resources": event["resources"],
        "Detail": json.dumps(event["detail"]),
    }


# --- events that resume nothing ------------------------------------------------------------------


def test_an_unknown_job_is_ignored(cloud: LocalCloud) -> None:
    """The sample event names a job this (fresh) stack never started: ignored, no error."""
    event = load_event("labeling_job_state_change")
    assert on_event(cloud, event) == {"resumed": False, "reason": "unknown job"}


def test_a_job_started_elsewhere_in_the_account_is_ignored(cloud: LocalCloud) -> None:
    _, arn = add_job(cloud, "Completed")  # known to Ground Truth, no token in this stack
    assert on_event(cloud, state_change(arn, "Completed")) == {"resumed": False, "reason": "unknown job"}


@pytest.mark.parametrize(
    ("resources", "reason"),
    [
        ([], "no job ARN"),
        (None, "no job ARN"),
        ([42], "no job ARN"),
        (["arn:aws:sagemaker:us-east-1:111122223333:training-job/x"], "not a labeling job"),
    ],
)
def test_events_without_a_labeling_job_are_ignored(cloud: LocalCloud, resources: Any, reason: str) -> None:
    event = load_event("labeling_job_state_change")
    event["resources"] = resources
    assert on_event(cloud, event) == {"resumed": False, "reason": reason}


def test_a_job_not_finished_yet_keeps_waiting(cloud: LocalCloud) -> None:
    waiting = Waiting(cloud)
    _, arn = add_job(cloud, "InProgress", token=waiting.token)
    assert on_event(cloud, state_change(arn, "Completed")) == {"resumed": False, "reason": "status InProgress"}
    assert waiting.sfn.describe_execution(executionArn=waiting.execution)["status"] == "RUNNING"
    waiting.sfn.stop_execution(executionArn=waiting.execution)


# --- resuming ------------------------------------------------------------------------------------


def test_completed_resumes_the_run_with_the_jobs_result(cloud: LocalCloud) -> None:
    waiting = Waiting(cloud)
    name, arn = add_job(cloud, "Completed", token=waiting.token)

    assert on_event(cloud, state_change(arn, "Completed")) == {"resumed": True, "job": name, "status": "Completed"}

    outcome = waiting.outcome()
    assert outcome["status"] == "SUCCEEDED"
    output = json.loads(outcome["output"])
    assert output["job_name"] == name
    assert output["status"] == "Completed"
    assert output["counters"]["TotalLabeled"] == 26
    assert output["output_manifest"].endswith("/manifests/output/output.manifest")


def test_the_status_is_read_from_the_job_not_trusted_from_the_event(cloud: LocalCloud) -> None:
    waiting = Waiting(cloud)
    _, arn = add_job(cloud, "Completed", token=waiting.token)
    assert on_event(cloud, state_change(arn, "Failed"))["status"] == "Completed"
    assert waiting.outcome()["status"] == "SUCCEEDED"


def test_failed_fails_the_wait_with_the_jobs_reason(cloud: LocalCloud) -> None:
    waiting = Waiting(cloud)
    reason = "ClientError: Exception invoking the Lambda function pre-labeling. LambdaErrorCode: Unhandled."
    name, arn = add_job(cloud, "Failed", token=waiting.token, reason=reason)
    event = load_event("labeling_job_failed")
    event["resources"] = [arn]

    with TaskCallbacksSent() as sent:
        assert on_event(cloud, event) == {"resumed": True, "job": name, "status": "Failed"}

    outcome = waiting.outcome()
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "LabelingJobFailed"
    ((operation, request),) = sent.requests
    assert operation == "SendTaskFailure"
    assert request["taskToken"] == waiting.token
    assert request["error"] == "LabelingJobFailed"
    assert request["cause"] == f"labeling job {name} failed: {reason}"


def test_stopped_fails_the_wait_with_labeling_job_stopped(cloud: LocalCloud) -> None:
    waiting = Waiting(cloud)
    name, arn = add_job(cloud, "Stopped", token=waiting.token)
    with TaskCallbacksSent() as sent:
        on_event(cloud, state_change(arn, "Stopped"))
    assert waiting.outcome()["error"] == "LabelingJobStopped"
    ((operation, request),) = sent.requests
    assert (operation, request["error"]) == ("SendTaskFailure", "LabelingJobStopped")
    cause = json.loads(request["cause"])
    assert (cause["job_name"], cause["status"], cause["counters"]["TotalLabeled"]) == (name, "Stopped", 26)


def test_a_mixed_case_job_arn_finds_the_lower_case_job(cloud: LocalCloud) -> None:
    waiting = Waiting(cloud)
    name, arn = add_job(cloud, "Completed", token=waiting.token)
    prefix, _ = arn.split("labeling-job/")
    assert on_event(cloud, state_change(f"{prefix}labeling-job/{name.upper()}", "Completed"))["resumed"] is True


# --- duplicates ----------------------------------------------------------------------------------


def test_a_duplicate_event_after_the_run_resumed_is_harmless(cloud: LocalCloud) -> None:
    waiting = Waiting(cloud)
    name, arn = add_job(cloud, "Completed", token=waiting.token)
    event = state_change(arn, "Completed")
    assert on_event(cloud, event)["resumed"] is True
    first = waiting.outcome()

    again = on_event(cloud, json.loads(json.dumps(event)))  # SageMaker may send an event more than once

    assert again == {"resumed": False, "job": name, "status": "Completed"}
    assert waiting.outcome() == first
    assert waiting.events().count("TaskSucceeded") == 1


def test_duplicate_events_through_eventbridge_resume_once(cloud: LocalCloud) -> None:
    """Two copies of the event delivered by the stack's own rule at the same time: no handler error."""
    waiting = Waiting(cloud)
    name, arn = add_job(cloud, "Completed", token=waiting.token)
    before = len(cloud.invocations)
    entry = put_events_entry(arn, "Completed")
    cloud.client("events").put_events(Entries=[entry, entry])
    cloud.wait_for_background(timeout=10)

    calls = [outcome for fn, outcome in cloud.invocations[before:] if fn.endswith("on-labeling-job-event")]
    assert calls == ["ok", "ok"]
    outcome = waiting.outcome()
    assert outcome["status"] == "SUCCEEDED"
    assert json.loads(outcome["output"])["job_name"] == name
    assert waiting.events().count("TaskSucceeded") == 1


def test_a_state_the_rule_does_not_match_is_not_delivered(cloud: LocalCloud) -> None:
    _, arn = add_job(cloud, "Completed")
    before = len(cloud.invocations)
    entry = put_events_entry(arn, "InProgress")
    cloud.client("events").put_events(Entries=[entry])
    cloud.wait_for_background(timeout=10)
    assert [fn for fn, _ in cloud.invocations[before:]] == []
