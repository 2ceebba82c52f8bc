"""Per-run business metrics in CloudWatch's embedded metric format (EMF), by Powertools' Metrics.

One namespace (POWERTOOLS_METRICS_NAMESPACE, ``BulkLabelQA`` by default) and one dimension,
``service`` (POWERTOOLS_SERVICE_NAME: the stack's name), so the dashboard of a stack reads its own
runs. Every handler is wrapped in :func:`log_metrics`; the steps add what they settle:

- make_batches: RowsAccepted, RowsRejected, RowsBelowMinimum (the settled counts of the file);
- analyze_results: ImagesReviewed, ImagesConfirmed, ImagesDisconfirmed;
- notify_run: RunSeconds (start to end of the execution, whatever its outcome).

Runs started, succeeded and failed are Step Functions' own (AWS/States ExecutionsStarted, ...).
The metrics are flushed as one JSON line on stdout at the end of the invocation; CloudWatch Logs
turns them into metrics, no PutMetricData call and no IAM permission needed.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from .model import IngestRows

DEFAULT_NAMESPACE: Final = "BulkLabelQA"

ROWS_ACCEPTED: Final = "RowsAccepted"
ROWS_REJECTED: Final = "RowsRejected"
ROWS_BELOW_MINIMUM: Final = "RowsBelowMinimum"
IMAGES_REVIEWED: Final = "ImagesReviewed"
IMAGES_CONFIRMED: Final = "ImagesConfirmed"
IMAGES_DISCONFIRMED: Final = "ImagesDisconfirmed"
RUN_SECONDS: Final = "RunSeconds"

_E = TypeVar("_E")
_C = TypeVar("_C")
_R = TypeVar("_R")

_metrics: Metrics | None = None


def metrics() -> Metrics:
    """The functions' Powertools Metrics (built on first use)."""
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools import Metrics

        from .log import DEFAULT_SERVICE

        _metrics = Metrics(
            namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
            service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE,
        )
    return _metrics


def count(name: str, value: float) -> None:
    metrics().add_metric(name=name, unit="Count", value=value)


def seconds(name: str, value: float) -> None:
    metrics().add_metric(name=name, unit="Seconds", value=value)


def rows(counts: IngestRows) -> None:
    """The file's settled row counts (make_batches' ``rows``)."""
    count(ROWS_ACCEPTED, counts["accepted"])
    count(ROWS_REJECTED, counts["rejected"])
    count(ROWS_BELOW_MINIMUM, counts["below_min_confidence"])


def log_metrics(handler: Callable[[_E, _C], _R]) -> Callable[[_E, _C], _R]:
    """Powertools' ``log_metrics``, applied on first call: an invocation's metrics flushed when it ends.

    An invocation that added none writes nothing (and does not warn).
    """

    @functools.wraps(handler)
    def wrapper(event: _E, context: _C) -> _R:
        decorated: Callable[[Any, Any], _R] = metrics().log_metrics(handler, raise_on_empty_metrics=False)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            return decorated(event, context)

    return wrapper
