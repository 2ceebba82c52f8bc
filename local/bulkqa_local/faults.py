"""Fault injection for ``bulkqa demo --faults``: the failures real AWS brings, on purpose.

- every S3 "Object Created" event delivered twice;
- the pre-labeling and consolidation functions invoked twice for the same data;
- the labeling job's completion event delivered twice, and one completion event dropped;
- transient throttling errors from DynamoDB and S3 on the first attempt of some requests.
The report must not change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from boto3 import Session
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse

ALL = (
    "duplicate-s3-events",
    "duplicate-labeling-calls",
    "duplicate-completion-events",
    "drop-completion-event",
    "throttling",
)


@dataclass
class Faults:
    enabled: frozenset[str] = field(default_factory=frozenset)
    injected: dict[str, int] = field(default_factory=dict)
    _dropped_once: bool = False
    _seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def all(cls) -> Faults:
        return cls(frozenset(ALL))

    def _count(self, name: str) -> None:
        with self._lock:
            self.injected[name] = self.injected.get(name, 0) + 1

    def on(self, name: str) -> bool:
        return name in self.enabled

    def install(self, session: Session) -> None:
        if self.on("throttling"):
            # before-send, ahead of moto's own handler: the response goes through botocore's retry logic.
            # botocore sends a before-send handler's return value as the response; its stubs say None.
            throttle = cast("Callable[..., None]", self._throttle)
            session.events.register_first("before-send.dynamodb", throttle)
            session.events.register_first("before-send.s3", throttle)

    def _throttle(self, event_name: str, request: AWSPreparedRequest, **kwargs: object) -> AWSResponse | None:
        """Fail the first attempt of every 5th distinct write/read with a retryable throttling error."""
        operation = event_name.rsplit(".", 1)[-1]
        if operation not in ("BatchWriteItem", "UpdateItem", "PutObject", "GetObject", "Query"):
            return None
        body = request.body if isinstance(request.body, (bytes, str)) else b""
        key = f"{request.method} {request.url} {body!r}"
        with self._lock:
            first = key not in self._seen
            self._seen.add(key)
            if not first or len(self._seen) % 5:
                return None
        self._count("throttling")
        from botocore.awsrequest import AWSResponse, HTTPHeaders
        from moto.core.botocore_stubber import MockRawResponse

        if ".dynamodb." in event_name:
            payload = (
                b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
                b'"message":"injected transient throttling"}'
            )
            headers = HTTPHeaders.from_dict({"Content-Type": "application/x-amz-json-1.0"})
            return AWSResponse(request.url, 400, headers, MockRawResponse(payload))
        payload = b"<Error><Code>SlowDown</Code><Message>injected transient throttling</Message></Error>"
        return AWSResponse(
            request.url, 503, HTTPHeaders.from_dict({"Content-Type": "application/xml"}), MockRawResponse(payload)
        )

    def event_copies(self, event: Mapping[str, object]) -> int:
        detail_type = event.get("detail-type")
        if detail_type == "Object Created" and self.on("duplicate-s3-events"):
            self._count("duplicate-s3-events")
            return 2
        if detail_type == "SageMaker Ground Truth Labeling Job State Change":
            if self.on("drop-completion-event") and not self._dropped_once:
                self._dropped_once = True
                self._count("drop-completion-event")
                return 0
            if self.on("duplicate-completion-events"):
                self._count("duplicate-completion-events")
                return 2
        return 1

    def labeling_calls(self) -> int:
        if self.on("duplicate-labeling-calls"):
            self._count("duplicate-labeling-calls")
            return 2
        return 1
