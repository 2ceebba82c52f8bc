"""What a local run would cost on AWS: requests counted from the local cloud's own traffic.

Every AWS API request made by the stack's functions, by Step Functions and by the Ground Truth
emulator goes through the default boto3 session, whose ``before-call`` event is counted here as
``service:Operation``. The runner's own calls (setup, polling) use a separate session.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from boto3 import Session

PRICES_AS_OF = "2026-11-01"
#: us-east-1 list prices (see docs/costs.md for sources); free tiers ignored.
PRICES = {
    "s3_put_per_1000": 0.005,  # PUT, COPY, POST, LIST
    "s3_get_per_1000": 0.0004,  # GET, HEAD
    "dynamodb_write_per_million": 0.625,  # on-demand WRU (1 KB)
    "dynamodb_read_per_million": 0.125,  # on-demand RRU (4 KB, strongly consistent)
    "lambda_request_per_million": 0.20,
    "lambda_gb_second_arm": 0.0000133334,
    "states_transition_per_1000": 0.025,
    "ground_truth_per_object": 0.08,  # first 50,000 objects a month; UNCONFIRMED tier price
}
SERVICE_PREFIX = {"sfn": "states"}
_S3_PUT = {
    "PutObject",
    "CopyObject",
    "ListObjectsV2",
    "ListObjects",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
}
_S3_GET = {"GetObject", "HeadObject"}


class Usage:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.state_transitions = 0
        self.labeled_objects = 0
        self.lambda_gb_seconds = 0.0  # measured locally: billed duration x the function's MemorySize
        self._lock = threading.Lock()

    def install(self, session: Session) -> None:
        session.events.register("before-call", self._count)

    def add_duration(self, seconds: float, memory_mb: int) -> None:
        with self._lock:
            self.lambda_gb_seconds += seconds * memory_mb / 1024

    def _count(self, event_name: str, **kwargs: object) -> None:
        parts = event_name.split(".")
        if len(parts) >= 3:
            service = SERVICE_PREFIX.get(parts[1], parts[1])
            with self._lock:
                self.requests[f"{service}:{parts[2]}"] += 1

    def report(self, images: int) -> dict[str, Any]:
        """aws-usage.json (docs/interfaces.md): requests, measured GB-seconds, the estimated cost."""
        req = self.requests
        s3_put = sum(n for k, n in req.items() if k.startswith("s3:") and k[3:] in _S3_PUT)
        s3_get = sum(n for k, n in req.items() if k.startswith("s3:") and k[3:] in _S3_GET)
        ddb_writes = sum(n for k, n in req.items() if k in ("dynamodb:PutItem", "dynamodb:UpdateItem"))
        ddb_writes += 25 * req.get("dynamodb:BatchWriteItem", 0)  # upper bound: 25 items of <= 1 KB each
        ddb_reads = sum(n for k, n in req.items() if k in ("dynamodb:GetItem", "dynamodb:Query"))
        invocations = req.get("lambda:Invoke", 0)
        cost = {
            "s3": s3_put / 1000 * PRICES["s3_put_per_1000"] + s3_get / 1000 * PRICES["s3_get_per_1000"],
            "dynamodb": ddb_writes / 1e6 * PRICES["dynamodb_write_per_million"]
            + ddb_reads / 1e6 * PRICES["dynamodb_read_per_million"],
            "lambda": invocations / 1e6 * PRICES["lambda_request_per_million"]
            + self.lambda_gb_seconds * PRICES["lambda_gb_second_arm"],
            "states": self.state_transitions / 1000 * PRICES["states_transition_per_1000"],
            "sagemaker_ground_truth": self.labeled_objects * PRICES["ground_truth_per_object"],
        }
        total = sum(cost.values())
        per_1000 = total / images * 1000 if images else None
        return {
            "images": images,
            "requests": dict(sorted(req.items())),
            "state_transitions": self.state_transitions,
            "lambda_gb_seconds": round(self.lambda_gb_seconds, 3),
            "ground_truth_objects": self.labeled_objects,
            "estimated_cost_usd": {
                "total": round(total, 6),
                **{k: round(v, 6) for k, v in cost.items()},
                "per_1000_images": None if per_1000 is None else round(per_1000, 6),
            },
            "prices_as_of": PRICES_AS_OF,
            "prices": PRICES,
            "assumptions": "us-east-1 list prices, no free tier; BatchWriteItem counted as 25 writes; "
            "Lambda duration measured locally (an upper bound: moto is slower than AWS) times each function's "
            "MemorySize; Ground Truth fee per data object (screen)",
        }
