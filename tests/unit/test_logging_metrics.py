"""Powertools in the functions: Logger records (context, cold start, run id, one line each, no secrets),
EMF metrics from a real handler, and the run-ended message (notify_run) on fakes."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bulkqa import log, metrics, notify
from bulkqa.model import AnalyzeResult, IngestRows, RunRecord
from tests.support.fakes import FakeStack

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAQsecretTaskTokenValue"


@dataclass
class Context:
    function_name: str = "stack-make-batches"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:stack-make-batches"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "req-1"


def records(text: str) -> list[dict[str, Any]]:
    lines = text.split("\n")
    assert lines[-1] == "", "every record ends its line"
    return [json.loads(line) for line in lines[:-1]]


def app(function: str) -> Any:
    if str(FUNCTIONS) not in sys.path:
        sys.path.insert(0, str(FUNCTIONS))
    return importlib.import_module(f"{function}.app")


@pytest.fixture
def fresh_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "BulkLabelQA")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "stack")
    monkeypatch.setattr(metrics, "_metrics", None)
    metrics.metrics().clear_metrics()  # Powertools keeps one metric set per process
    yield
    metrics.metrics().clear_metrics()


def emf(text: str) -> list[dict[str, Any]]:
    return [r for r in records(text) if "_aws" in r]


# --- Logger ---------------------------------------------------------------------------------------------


def test_a_record_carries_the_lambda_context_cold_start_and_the_run_id(capsys: pytest.CaptureFixture[str]) -> None:
    @log.inject_lambda_context
    def handler(event: dict[str, str], context: Context) -> None:
        log.info("step done", rows=3)

    handler({"run_id": "run-1", "token": TOKEN}, Context())
    handler({"run_id": "run-2", "token": TOKEN}, Context(aws_request_id="req-2"))
    out = capsys.readouterr().out
    first, second = records(out)
    assert first["message"] == "step done" and first["rows"] == 3 and first["level"] == "INFO"
    assert (first["function_name"], first["function_request_id"]) == ("stack-make-batches", "req-1")
    assert isinstance(first["cold_start"], bool) and second["cold_start"] is False
    # the run id is the invocation's: the second record does not keep the first run's
    assert (first["run_id"], second["run_id"]) == ("run-1", "run-2")
    assert TOKEN not in out, "the event (and its task token) is never logged"


def test_a_record_is_one_line_whatever_its_text(capsys: pytest.CaptureFixture[str]) -> None:
    log.info("label \u2028 split?", label="Crab\u2029\nKing")
    (record,) = records(capsys.readouterr().out)
    assert record["label"] == "Crab\u2029\nKing"


def test_a_field_named_like_a_log_record_attribute_is_kept_renamed(capsys: pytest.CaptureFixture[str]) -> None:
    log.warning("odd fields", name="n", level="l", created="c")
    (record,) = records(capsys.readouterr().out)
    assert (record["message"], record["level"]) == ("odd fields", "WARNING")
    assert (record["name_"], record["level_"], record["created_"]) == ("n", "l", "c")


# --- Metrics --------------------------------------------------------------------------------------------


def test_make_batches_writes_the_runs_row_counts_as_emf(
    fresh_metrics: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = FakeStack()
    rows = "image_local_path,label,confidence\ncrab/1.jpg,Crab,99\ncrab/2.jpg,Crab,80\ndog/1.jpg,,95\n"
    run, plan, _ = world.ingest(rows.encode())
    handler = app("make_batches")
    monkeypatch.setattr(handler.settings, "batch_settings", lambda: world.batch_settings)
    monkeypatch.setattr(handler.deps, "store", lambda stack: world.store)
    monkeypatch.setattr(handler.deps, "labels", lambda stack: world.labels)
    monkeypatch.setattr(handler.deps, "runs", lambda stack: world.runs)
    capsys.readouterr()
    handler.lambda_handler({"run_id": run["run_id"], "ingest": {"chunks": plan["chunks"]}}, Context())
    (document,) = emf(capsys.readouterr().out)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "BulkLabelQA"
    assert directive["Dimensions"] == [["service"]] and document["service"] == "stack"
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "RowsAccepted": "Count",
        "RowsRejected": "Count",
        "RowsBelowMinimum": "Count",
    }
    assert (document["RowsAccepted"], document["RowsRejected"], document["RowsBelowMinimum"]) == ([2], [1], [0])


def test_an_invocation_without_metrics_writes_no_emf(fresh_metrics: None, capsys: pytest.CaptureFixture[str]) -> None:
    @metrics.log_metrics
    def handler(event: dict[str, str], context: Context) -> str:
        return "ok"

    assert handler({}, Context()) == "ok"
    assert emf(capsys.readouterr().out + "") == []


# --- notify_run ------------------------------------------------------------------------------------------


class FakeNotices:
    def __init__(self, record: RunRecord | None = None) -> None:
        self.record = record
        self.claimed: set[str] = set()
        self.sent: list[tuple[str, str]] = []

    def run(self, run_id: str) -> RunRecord | None:
        return self.record

    def claim(self, run_id: str, status: str) -> bool:
        if run_id in self.claimed:
            return False
        self.claimed.add(run_id)
        return True

    def publish(self, subject: str, message: str) -> None:
        self.sent.append((subject, message))


UPLOAD = {
    "source": "aws.s3",
    "detail": {"bucket": {"name": "bkt"}, "object": {"key": "incoming/labels.csv", "version-id": "v1"}},
}


def ended(status: str, output: dict[str, Any] | None = None, **extra: object) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:stack-bulk-qa:abc",
        "status": status,
        "startDate": 1_700_000_000_000,
        "stopDate": 1_700_000_090_500,
        "input": json.dumps(UPLOAD),
        "output": json.dumps(output) if output is not None else None,
        **extra,
    }
    return {"source": "aws.states", "detail-type": "Step Functions Execution Status Change", "detail": detail}


SUCCEEDED_OUTPUT = {
    "run_id": "labels-1234",
    "report": {
        "report_prefix": "s3://bkt/reports/labels-1234/",
        "rows": {"total": 10, "accepted": 8, "rejected": 1, "below_min_confidence": 1, "blank_lines": 0},
        "reviewed": 8,
        "pct_correct": 87.5,
    },
}


def test_a_finished_run_sends_one_message_with_its_numbers_and_report() -> None:
    notices = FakeNotices()
    assert notify.notify_run(ended("SUCCEEDED", SUCCEEDED_OUTPUT), notices, "bkt")["sent"] is True
    # EventBridge delivers at least once: the second delivery sends nothing
    assert notify.notify_run(ended("SUCCEEDED", SUCCEEDED_OUTPUT), notices, "bkt")["sent"] is False
    ((subject, text),) = notices.sent
    assert "labels-1234" in subject and "succeeded" in subject
    assert "8 accepted, 1 rejected, 1 below the minimum confidence" in text
    assert "Images reviewed: 8" in text and "Correct: 87.5 %" in text
    assert "Report: s3://bkt/reports/labels-1234/" in text


def test_a_failed_run_is_named_from_its_input_and_its_record_gives_the_report() -> None:
    from bulkqa.steps.ingest_steps import upload_run_id

    run_id = upload_run_id("bkt", "incoming/labels.csv", UPLOAD["detail"]["object"])  # type: ignore[index]
    rows: IngestRows = {"total": 10, "accepted": 8, "rejected": 1, "below_min_confidence": 1, "blank_lines": 0}
    notices = FakeNotices({"status": "partial report", "report": f"reports/{run_id}/", "rows": rows})
    result = notify.notify_run(ended("FAILED", error="LabelingJobStopped", cause="stopped"), notices, "bkt")
    assert result == {"run_id": run_id, "status": "FAILED", "sent": True}
    ((_, text),) = notices.sent
    assert f"Report: s3://bkt/reports/{run_id}/" in text and "Error: LabelingJobStopped" in text


def test_a_duplicate_upload_or_no_address_sends_nothing_but_the_duration_is_a_metric(
    fresh_metrics: None, capsys: pytest.CaptureFixture[str]
) -> None:
    notices = FakeNotices()
    duplicate = ended("SUCCEEDED", {"run_id": "labels-1234", "duplicate": True})
    assert notify.notify_run(duplicate, notices, "bkt")["sent"] is False
    assert notify.notify_run(ended("SUCCEEDED", SUCCEEDED_OUTPUT), None, "bkt")["sent"] is False
    assert notices.sent == []
    metrics.metrics().flush_metrics()
    (document,) = emf(capsys.readouterr().out)
    assert document["RunSeconds"] == [90.5, 90.5]


def test_an_event_for_a_running_execution_is_invalid() -> None:
    from bulkqa.errors import InvalidEvent

    with pytest.raises(InvalidEvent):
        notify.notify_run(ended("RUNNING"), FakeNotices(), "bkt")


def test_analyze_results_reports_the_images_reviewed(fresh_metrics: None, capsys: pytest.CaptureFixture[str]) -> None:
    rows: IngestRows = {"total": 10, "accepted": 8, "rejected": 1, "below_min_confidence": 1, "blank_lines": 0}
    result: AnalyzeResult = {  # as analyze_step returns it
        "run_id": "r",
        "report_prefix": "s3://bkt/reports/r/",
        "partial": False,
        "rows": rows,
        "reviewed": 8,
        "confirmed": 6,
        "disconfirmed": 1,
        "pct_correct": 75.0,
    }
    emit = app("analyze_results")._emit
    emit(result)
    metrics.metrics().flush_metrics()
    (document,) = emf(capsys.readouterr().out)
    assert (document["ImagesReviewed"], document["ImagesConfirmed"], document["ImagesDisconfirmed"]) == ([8], [6], [1])
