"""The workflow's analysis and ``bulkqa analyze`` agree; logs carry nothing they should not."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from bulkqa_local import analyze_cmd
from bulkqa_local.cloud import LocalCloud
from bulkqa_local.reviewers import SimulatedReviewers

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "local" / "bulkqa_local" / "data"
EXPORT_COLUMNS = ["s3_image_url", "label", "confidence", "WorkerConfirmCount", "WorkerDisconfirmCount"]


def test_bulkqa_analyze_on_a_table_export_matches_the_workflow_report(tmp_path: Path) -> None:
    log_file = tmp_path / "functions.jsonl"
    with LocalCloud(
        {"WorkersPerObject": 3, "CompletionCheckSeconds": 300},
        reviewers=SimulatedReviewers(seed=3, error_rate=0.1),
        log_file=log_file,
    ) as cloud:
        cloud.upload("incoming/smallsample.csv", (DATA / "smallsample.csv").read_bytes())
        (execution,) = cloud.wait_for_executions(1)
        assert execution["status"] == "SUCCEEDED"
        run_id = json.loads(execution["output"])["run_id"]
        s3 = cloud.client("s3")
        workflow_report = s3.get_object(Bucket=cloud.bucket, Key=f"reports/{run_id}/report.json")["Body"].read()
        # a CSV export of the labels table, as a user would make from the DynamoDB console
        ddb = cloud.client("dynamodb")
        items = [
            item
            for page in ddb.get_paginator("scan").paginate(TableName=cloud.table("LabelsTable"))
            for item in page["Items"]
        ]
    export = tmp_path / "labels-export.csv"
    with export.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*EXPORT_COLUMNS, "WorkerVerdicts", "item_id"])
        for item in items:
            writer.writerow(
                [next(iter(item[c].values())) if c in item else "" for c in EXPORT_COLUMNS]
                + [json.dumps(item.get("WorkerVerdicts", {})), item["item_id"]["S"]]
            )
    parser = argparse.ArgumentParser()
    analyze_cmd.add_arguments(parser)
    args = parser.parse_args(["--verdicts", str(export), "--out", str(tmp_path / "cli")])
    assert analyze_cmd.run(args) == 0
    (tmp_path / "workflow.json").write_bytes(workflow_report)
    assert (tmp_path / "cli" / "report.json").read_bytes() == workflow_report

    logs = log_file.read_text(encoding="utf-8")
    assert logs, "the functions logged nothing"
    for secret in ("X-Amz-Signature", "X-Amz-Credential", "AWSAccessKeyId", "Signature="):
        assert secret not in logs  # no presigned URLs in logs
    assert "token" not in json.dumps([json.loads(line) for line in logs.splitlines()]).lower().replace(
        "task token no longer", ""
    )  # no task tokens either
