"""notify_run against the local stack (moto): one SNS message per ended run, whatever the deliveries.

The handler runs through ``LocalCloud.invoke`` with the template's environment and NotificationEmail
set; the run topic (which the local cloud does not create) is made here with the template's name, and
an SQS queue subscribed to it captures what is published.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from bulkqa_local.cloud import LocalCloud
from tests.support.events import load_event


def test_an_ended_run_publishes_one_message_and_marks_the_run_notified() -> None:
    with LocalCloud({"NotificationEmail": "qa@example.com"}) as cloud:
        sns, sqs = cloud.admin.client("sns"), cloud.admin.client("sqs")
        topic = sns.create_topic(Name=f"{cloud.stack.name}-run-notifications")["TopicArn"]
        queue = sqs.create_queue(QueueName=f"capture-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})

        upload = load_event("s3_object_created", bucket=cloud.bucket)
        register = cloud.function_by_logical_id("RegisterRunFunction").name
        run_id = cloud.invoke(register, upload)["run_id"]
        notify = cloud.function_by_logical_id("NotifyRunFunction").name

        def ended(status: str, output: dict[str, Any] | None) -> dict[str, Any]:
            return {
                "source": "aws.states",
                "detail-type": "Step Functions Execution Status Change",
                "detail": {
                    "executionArn": f"{cloud.state_machine_arn.replace(':stateMachine:', ':execution:')}:x",
                    "status": status,
                    "startDate": 1_700_000_000_000,
                    "stopDate": 1_700_000_060_000,
                    "input": json.dumps(upload),
                    "output": json.dumps(output) if output else None,
                },
            }

        output = {
            "run_id": run_id,
            "report": {
                "report_prefix": f"s3://{cloud.bucket}/reports/{run_id}/",
                "rows": {"total": 3, "accepted": 2, "rejected": 1, "below_min_confidence": 0, "blank_lines": 0},
                "reviewed": 2,
                "pct_correct": 50.0,
            },
        }
        assert cloud.invoke(notify, ended("SUCCEEDED", output))["sent"] is True
        assert cloud.invoke(notify, ended("SUCCEEDED", output))["sent"] is False  # a second delivery
        # a failed status for the same run (named from the execution's input) does not send a second message
        assert cloud.invoke(notify, ended("FAILED", None)) == {"run_id": run_id, "status": "FAILED", "sent": False}

        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        assert len(got) == 1
        body = got[0]["Body"]
        assert f"Run {run_id}: SUCCEEDED" in body and "2 accepted, 1 rejected" in body and "Correct: 50.0 %" in body
        assert f"Report: s3://{cloud.bucket}/reports/{run_id}/" in body
        item = cloud.client("dynamodb").get_item(
            TableName=cloud.table("RunsTable"), Key={"pk": {"S": f"run#{run_id}"}}
        )["Item"]
        assert item["notified"] == {"S": "SUCCEEDED"} and item["status"] == {"S": "registered"}


def test_without_an_address_nothing_is_published() -> None:
    with LocalCloud() as cloud:
        notify = cloud.function_by_logical_id("NotifyRunFunction").name
        event = {
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": {"status": "SUCCEEDED", "output": json.dumps({"run_id": "r-1"}), "name": "x"},
        }
        assert cloud.invoke(notify, event) == {"run_id": "r-1", "status": "SUCCEEDED", "sent": False}
