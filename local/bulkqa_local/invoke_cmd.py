"""``bulkqa invoke FUNCTION --event FILE``: one function, one event, against the local cloud.

The Docker-free twin of ``sam local invoke -e events/<file>.json <LogicalId>``. FUNCTION is the
template's logical id (``IngestLabelsFunction``) or the folder name (``ingest_labels``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cloud import HandlerError, LocalCloud


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", help="logical id (IngestLabelsFunction) or folder name (ingest_labels)")
    parser.add_argument("--event", type=Path, required=True, help="a JSON event, e.g. events/pre_labeling.json")


def run(args: argparse.Namespace) -> int:
    event = json.loads(args.event.read_text(encoding="utf-8"))
    with LocalCloud() as cloud:
        wanted = args.function
        match = next(
            (fn for fn in cloud.functions.values() if wanted in (fn.logical_id, fn.handler.split("/", 1)[0], fn.name)),
            None,
        )
        if match is None:
            names = ", ".join(sorted(fn.logical_id for fn in cloud.functions.values()))
            print(f"error: no function {wanted!r}; choose one of {names}", file=sys.stderr)
            return 2
        try:
            result = cloud.invoke(match.name, event)
        except HandlerError as exc:
            print(json.dumps({"errorType": exc.error_type, "errorMessage": exc.message}, indent=2))
            return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
