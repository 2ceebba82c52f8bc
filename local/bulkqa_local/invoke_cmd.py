"""``bulkqa invoke FUNCTION --event FILE``: one function, one event, against the local cloud.

The Docker-free twin of ``sam local invoke -e events/<file>.json <LogicalId>``. FUNCTION is the
template's logical id (``IngestLabelsFunction``) or the folder name (``ingest_labels``).

The local stack starts empty, so before the call it is given what the sample events in ``events/``
describe: ``incoming/sample.csv``, the batch file and the consolidation payload, with the example
bucket name replaced by the local one; steps that read an earlier step's output (make_batches,
analyze_results) get those steps run first with their own sample events.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from .cloud import ROOT, HandlerError, LocalCloud

EXAMPLE_BUCKET = "bulk-label-qa-labelsbucket-example"
SAMPLE_KEY = "incoming/sample.csv"
EVENTS = ROOT / "events"
#: steps whose input an earlier step writes: run those first (with their sample events)
PREPARE = {
    "make_batches": ["plan_ingest", "ingest_labels"],
    "analyze_results": ["plan_ingest", "ingest_labels", "make_batches"],
    "post_labeling": ["plan_ingest", "ingest_labels"],
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", help="logical id (IngestLabelsFunction) or folder name (ingest_labels)")
    parser.add_argument("--event", type=Path, required=True, help="a JSON event, e.g. events/pre_labeling.json")
    parser.add_argument("--empty", action="store_true", help="do not seed the local stack with the sample run's files")


def _localise(value: Any, bucket: str, version: str) -> Any:
    """Point an event at the local stack: its bucket, and the version of the uploaded sample."""
    if isinstance(value, dict):
        out = {k: _localise(v, bucket, version) for k, v in value.items()}
        if out.get("key") == SAMPLE_KEY:
            for field in ("version", "version-id"):
                if field in out:
                    out[field] = version
        return out
    if isinstance(value, list):
        return [_localise(v, bucket, version) for v in value]
    if isinstance(value, str):
        return value.replace(EXAMPLE_BUCKET, bucket)
    return value


def _event(path: Path, bucket: str, version: str) -> Any:
    return _localise(json.loads(path.read_text(encoding="utf-8")), bucket, version)


def _seed(cloud: LocalCloud) -> str:
    s3 = cloud.client("s3")
    sample = resources.files("bulkqa_local").joinpath("data/sample.csv").read_bytes()
    version = str(cloud.upload(SAMPLE_KEY, sample).get("VersionId", ""))
    for event_file, pointer, data_file in (
        ("pre_labeling.json", ("dataObject", "source-ref"), "batch.json"),
        ("post_labeling.json", ("payload", "s3Uri"), "post_labeling_payload.json"),
    ):
        if not (EVENTS / event_file).exists() or not (EVENTS / data_file).exists():
            continue
        uri: Any = _event(EVENTS / event_file, cloud.bucket, version)
        for part in pointer:
            uri = uri[part]
        bucket, key = str(uri)[5:].split("/", 1)
        s3.put_object(
            Bucket=bucket, Key=key, Body=json.dumps(_event(EVENTS / data_file, cloud.bucket, version)).encode()
        )
    return version


def run(args: argparse.Namespace) -> int:
    # the stack and bucket names of events/: bulk-label-qa-labelsbucket-example
    with LocalCloud(stack_name="bulk-label-qa", bucket_suffix="-example") as cloud:
        wanted = args.function
        match = next(
            (fn for fn in cloud.functions.values() if wanted in (fn.logical_id, fn.handler.split("/", 1)[0], fn.name)),
            None,
        )
        if match is None:
            names = ", ".join(sorted(fn.logical_id for fn in cloud.functions.values()))
            print(f"error: no function {wanted!r}; choose one of {names}", file=sys.stderr)
            return 2
        folder = match.handler.split("/", 1)[0]
        version = "" if args.empty else _seed(cloud)
        try:
            if not args.empty:
                for step in PREPARE.get(folder, []):
                    cloud.invoke(
                        f"{cloud.stack.name}-{step.replace('_', '-')}",
                        _event(EVENTS / f"{step}.json", cloud.bucket, version),
                    )
            result = cloud.invoke(match.name, _event(args.event, cloud.bucket, version))
        except HandlerError as exc:
            print(json.dumps({"errorType": exc.error_type, "errorMessage": exc.message}, indent=2))
            return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
