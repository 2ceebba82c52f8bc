"""The functions' logs of a whole run (function-logs.jsonl, CloudWatch Logs' stand-in): Powertools records,
one JSON object a line, with the Lambda context and the run id, the run's EMF metrics, and never a task
token or a presigned URL (#12, Powertools)."""

from __future__ import annotations

import json
from pathlib import Path

from bulkqa_local.cloud import LocalCloud
from bulkqa_local.reviewers import SimulatedReviewers

CSV = b"image_local_path,label,confidence\nbeaver/a.jpg,Beaver,90\nbeaver/b.jpg,Beaver,80\nbeaver/c.jpg,,80\n"


def test_a_runs_function_logs_carry_context_and_metrics_and_no_secret(tmp_path: Path) -> None:
    logs = tmp_path / "function-logs.jsonl"
    with LocalCloud({"CompletionCheckSeconds": 300}, reviewers=SimulatedReviewers(seed=1), log_file=logs) as cloud:
        cloud.upload("incoming/beavers.csv", CSV)
        (execution,) = cloud.wait_for_executions(1, timeout=300)
        assert execution["status"] == "SUCCEEDED", execution.get("cause")
        run_id = json.loads(execution["output"])["run_id"]
        items = cloud.client("dynamodb").scan(TableName=cloud.table("RunsTable"))["Items"]
        tokens = [item["token"]["S"] for item in items if "token" in item]
    text = logs.read_text(encoding="utf-8")
    assert tokens, "the run waited on a labeling job with a task token"
    for token in tokens:
        assert token not in text, "a task token was logged"
    assert "X-Amz-Signature" not in text and "X-Amz-Credential" not in text, "a presigned URL was logged"
    records = [json.loads(line) for line in text.split("\n") if line]  # one JSON object a line
    logged = [r for r in records if "message" in r]
    functions = {r["function_name"] for r in logged}
    for name in ("register-run", "plan-ingest", "ingest-labels", "make-batches", "start-labeling-job"):
        assert any(f.endswith(f"-{name}") for f in functions), name
    assert all(isinstance(r["cold_start"], bool) and r["function_request_id"] for r in logged)
    run_records = [
        r for r in logged if r["function_name"].endswith(("-plan-ingest", "-make-batches", "-analyze-results"))
    ]
    assert run_records and all(r.get("run_id") == run_id for r in run_records)
    emf = [r for r in records if "_aws" in r]
    names = {m["Name"] for doc in emf for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"RowsAccepted", "RowsRejected", "RowsBelowMinimum", "ImagesReviewed"} <= names
    (rows,) = [doc for doc in emf if "RowsAccepted" in doc]
    assert (rows["RowsAccepted"], rows["RowsRejected"]) == ([2], [1])
