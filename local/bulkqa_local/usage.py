"""What a local run would cost on AWS: requests counted from the local cloud's own traffic.

Every AWS API request made by the stack's functions, by Step Functions and by the Ground Truth
emulator goes through the default boto3 session, whose ``before-call`` event is counted here as
``service:Operation``. The runner's own calls (setup, polling) use a separate session.
"""

from __future__ import annotations

import json
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
    "apigateway_http_per_million": 1.00,  # HTTP API, first 300 million requests a month
    # Cognito user pools, Lite tier: per monthly active user beyond the 10,000 that are free every month.
    # Billed per reviewer, not per image: reported beside the estimate, not in it (docs/costs.md).
    "cognito_lite_per_mau_over_10000": 0.0055,
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
        self.lambda_invocations = 0  # every handler run: by Step Functions, EventBridge, Ground Truth, the API
        self.api_requests = 0  # HTTP API requests (the self-hosted review API; the local server counts them)
        self.reviewers = 0  # reviewer accounts that signed in (Cognito monthly active users)
        #: DynamoDB write and read units by item count: a transaction's item costs 2 units (DynamoDB's
        #: pricing page), a batch write one per item (not the 25-per-request upper bound)
        self.ddb_write_units = 0
        self.ddb_read_units = 0
        self._lock = threading.Lock()

    def install(self, session: Session) -> None:
        session.events.register("before-call", self._count)

    def add_duration(self, seconds: float, memory_mb: int) -> None:
        """One invocation of a function (Lambda bills each, whoever invoked it) and its duration."""
        with self._lock:
            self.lambda_gb_seconds += seconds * memory_mb / 1024
            self.lambda_invocations += 1

    def add_api_request(self) -> None:
        with self._lock:
            self.api_requests += 1

    def _count(self, event_name: str, params: object = None, **kwargs: object) -> None:
        parts = event_name.split(".")
        if len(parts) >= 3:
            service = SERVICE_PREFIX.get(parts[1], parts[1])
            writes, reads = _dynamodb_units(parts[2], params) if service == "dynamodb" else (0, 0)
            with self._lock:
                self.requests[f"{service}:{parts[2]}"] += 1
                self.ddb_write_units += writes
                self.ddb_read_units += reads

    def report(self, images: int) -> dict[str, Any]:
        """aws-usage.json (docs/interfaces.md): requests, measured GB-seconds, the estimated cost."""
        req = self.requests
        s3_put = sum(n for k, n in req.items() if k.startswith("s3:") and k[3:] in _S3_PUT)
        s3_get = sum(n for k, n in req.items() if k.startswith("s3:") and k[3:] in _S3_GET)
        ddb_writes, ddb_reads = self.ddb_write_units, self.ddb_read_units
        invocations = self.lambda_invocations
        cost = {
            "s3": s3_put / 1000 * PRICES["s3_put_per_1000"] + s3_get / 1000 * PRICES["s3_get_per_1000"],
            "dynamodb": ddb_writes / 1e6 * PRICES["dynamodb_write_per_million"]
            + ddb_reads / 1e6 * PRICES["dynamodb_read_per_million"],
            "lambda": invocations / 1e6 * PRICES["lambda_request_per_million"]
            + self.lambda_gb_seconds * PRICES["lambda_gb_second_arm"],
            "states": self.state_transitions / 1000 * PRICES["states_transition_per_1000"],
            "sagemaker_ground_truth": self.labeled_objects * PRICES["ground_truth_per_object"],
            "apigateway": self.api_requests / 1e6 * PRICES["apigateway_http_per_million"],
        }
        total = sum(cost.values())
        per_1000 = total / images * 1000 if images else None
        return {
            "images": images,
            "requests": dict(sorted(req.items())),
            "state_transitions": self.state_transitions,
            "lambda_gb_seconds": round(self.lambda_gb_seconds, 3),
            "lambda_invocations": self.lambda_invocations,
            "ground_truth_objects": self.labeled_objects,
            "api_requests": self.api_requests,
            "dynamodb_units": {"write": ddb_writes, "read": ddb_reads},
            "reviewer_accounts": self.reviewers,
            "cognito_usd_per_reviewer_month": {"first_10000": 0.0, "beyond": PRICES["cognito_lite_per_mau_over_10000"]},
            "estimated_cost_usd": {
                "total": round(total, 6),
                **{k: round(v, 6) for k, v in cost.items()},
                "per_1000_images": None if per_1000 is None else round(per_1000, 6),
            },
            "prices_as_of": PRICES_AS_OF,
            "prices": PRICES,
            "assumptions": "us-east-1 list prices, no free tier; DynamoDB units counted per item (1 KB writes, "
            "4 KB strongly consistent reads; 2 units per item in a transaction); "
            "Lambda duration measured locally (an upper bound: moto is slower than AWS) times each function's "
            "MemorySize; Ground Truth fee per data object (screen); Cognito is billed per reviewer and month "
            "(free for the first 10,000), so it is not in the per-image estimate",
        }


#: one unit per item; a transaction's items cost two (DynamoDB on-demand pricing)
_WRITE_ONE = {"PutItem", "UpdateItem", "DeleteItem"}
_READ_ONE = {"GetItem"}


def _dynamodb_units(operation: str, params: object) -> tuple[int, int]:
    """(write units, read units) a DynamoDB request costs at most, from its parameters (items <= 1 KB / 4 KB;
    a Query or Scan is counted as one read unit per request: the local tables' pages are small).

    ``params`` is botocore's request dict (``before-call``): the API parameters are its JSON ``body``.
    """
    body: dict[str, Any] = {}
    raw = params.get("body") if isinstance(params, dict) else None
    if raw:
        try:
            parsed = json.loads(raw)
        except (TypeError, ValueError):
            parsed = None
        body = parsed if isinstance(parsed, dict) else {}
    if operation in _WRITE_ONE:
        return 1, 0
    if operation in _READ_ONE:
        return 0, 1
    if operation in ("Query", "Scan"):
        return 0, 1
    if operation == "BatchWriteItem":
        return sum(len(v) for v in dict(body.get("RequestItems") or {}).values()), 0
    if operation == "BatchGetItem":
        return 0, sum(len(dict(v).get("Keys") or []) for v in dict(body.get("RequestItems") or {}).values())
    if operation == "TransactWriteItems":
        return 2 * len(body.get("TransactItems") or []), 0
    if operation == "TransactGetItems":
        return 0, 2 * len(body.get("TransactItems") or [])
    return 0, 0
