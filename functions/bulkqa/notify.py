"""The end of a run: one message to the NotificationEmail address, and the run's duration as a metric.

Step Functions sends "Step Functions Execution Status Change" to EventBridge when an execution
ends (SUCCEEDED, FAILED, TIMED_OUT, ABORTED); a rule sends it to notify_run. The message names the
run, its headline numbers (rows, images reviewed, % correct) and where the report is. EventBridge
delivers at least once: a conditional write on the run's item (``notified``) lets one message out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from . import log, metrics
from .errors import InvalidEvent
from .steps.common import get_path
from .steps.ingest_steps import upload_run_id

if TYPE_CHECKING:
    from .model import RunRecord
    from .ports import RawEvent

ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
STATUS_CHANGE = "Step Functions Execution Status Change"


class RunNotices(Protocol):
    """Where run messages go (``NoticeBoard``: the runs table's ``notified`` flag and an SNS topic)."""

    def run(self, run_id: str) -> RunRecord | None: ...

    def claim(self, run_id: str, status: str) -> bool:
        """Mark the run notified; False if an earlier delivery of the event did it already."""
        ...

    def publish(self, subject: str, message: str) -> None: ...


class NotifyResult(TypedDict):
    run_id: str
    status: str
    sent: bool


def _json(value: object) -> dict[str, Any]:
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def run_id_of(detail: Mapping[str, object]) -> str | None:
    """The run's id: the execution's output when it has one, else computed from its input (the S3 event)."""
    output = _json(detail.get("output"))
    if isinstance(output.get("run_id"), str):
        return str(output["run_id"])
    upload = _json(detail.get("input"))
    bucket, obj = get_path(upload, "detail", "bucket", "name"), get_path(upload, "detail", "object")
    if isinstance(bucket, str) and isinstance(obj, Mapping) and isinstance(obj.get("key"), str):
        return upload_run_id(bucket, str(obj["key"]), obj)
    return None


def _pct(value: object) -> str:
    return f"{value:.1f} %" if isinstance(value, int | float) else "n/a"


def message(run_id: str, status: str, detail: Mapping[str, object], record: RunRecord | None, bucket: str) -> str:
    output = _json(detail.get("output"))
    report = output.get("report") if isinstance(output.get("report"), dict) else {}
    rows = (report or {}).get("rows") or (record or {}).get("rows") or {}
    where = (report or {}).get("report_prefix") or (
        f"s3://{bucket}/{(record or {})['report']}" if (record or {}).get("report") else None
    )
    lines = [
        f"Run {run_id}: {status}",
        "",
        f"Rows: {rows.get('accepted', 'n/a')} accepted, {rows.get('rejected', 'n/a')} rejected, "
        f"{rows.get('below_min_confidence', 'n/a')} below the minimum confidence",
        f"Images reviewed: {(report or {}).get('reviewed', 'n/a')}",
        f"Correct: {_pct((report or {}).get('pct_correct'))}",
        f"Report: {where or 'none written'}",
    ]
    if status != "SUCCEEDED":
        lines += ["", f"Error: {detail.get('error') or status}", f"Cause: {str(detail.get('cause') or '')[:1000]}"]
    lines += ["", f"Execution: {detail.get('executionArn', '')}"]
    return "\n".join(lines)


def notify_run(event: RawEvent, notices: RunNotices | None, bucket: str) -> NotifyResult:
    """One message per ended run (none for a duplicate upload, none without a topic); RunSeconds always."""
    # Powertools' EventBridge data class (its package costs ~20 ms at the first run of this function only)
    from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

    envelope = EventBridgeEvent(dict(event))
    try:
        source, kind, detail = envelope.source, envelope.detail_type, envelope.detail
    except KeyError:
        source, kind, detail = "", "", {}
    if source != "aws.states" or kind != STATUS_CHANGE or detail.get("status") not in ENDED:
        raise InvalidEvent(f"expected a '{STATUS_CHANGE}' event for an ended execution")
    status = str(detail["status"])
    start, stop = detail.get("startDate"), detail.get("stopDate")
    if isinstance(start, int | float) and isinstance(stop, int | float):
        metrics.seconds(metrics.RUN_SECONDS, (stop - start) / 1000)
    run_id = run_id_of(detail) or str(detail.get("name") or "unknown")
    log.append_keys(run_id=run_id)
    if _json(detail.get("output")).get("duplicate") is True:
        log.info("duplicate upload: no run, no message", status=status)
        return {"run_id": run_id, "status": status, "sent": False}
    if notices is None:
        return {"run_id": run_id, "status": status, "sent": False}
    if not notices.claim(run_id, status):
        log.info("run already notified; duplicate event", status=status)
        return {"run_id": run_id, "status": status, "sent": False}
    text = message(run_id, status, detail, notices.run(run_id), bucket)
    notices.publish(f"bulk-label-qa run {status.lower().replace('_', ' ')}: {run_id}"[:99], text)
    log.info("run notified", status=status)
    return {"run_id": run_id, "status": status, "sent": True}


class NoticeBoard:
    """The runs table's ``notified`` flag (a conditional update) and the notification topic."""

    def __init__(self, ddb: Any, table: str, sns: Any, topic_arn: str) -> None:
        self._ddb, self.table, self._sns, self.topic_arn = ddb, table, sns, topic_arn

    def run(self, run_id: str) -> RunRecord | None:
        from .adapters.dynamodb import RunsTable

        return RunsTable(self._ddb, self.table).get(f"run#{run_id}")

    def claim(self, run_id: str, status: str) -> bool:
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"run#{run_id}"}},
                UpdateExpression="SET notified = :status",
                ConditionExpression="attribute_not_exists(notified)",
                ExpressionAttributeValues={":status": {"S": status}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def publish(self, subject: str, message: str) -> None:
        self._sns.publish(TopicArn=self.topic_arn, Subject=subject, Message=message)
