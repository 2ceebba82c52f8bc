"""Structured JSON logs on stdout (CloudWatch Logs picks them up), by Powertools for AWS Lambda's Logger.

A thin module so the domain code keeps calling ``log.info("what", field=value)``: the Logger is built on
first use (nothing at import time), every record carries the Lambda context and ``cold_start``
(:func:`inject_lambda_context` on every handler) and the run's id once it is known (:func:`append_keys`).
Log what diagnosis needs and nothing more: no presigned URLs, no file contents, no task tokens (the
handlers never log their event; ``tests/unit/test_logging_metrics.py`` greps the logs for both).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .jsonl import dumps_line

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

#: the Logger's service (and the metrics' ``service`` dimension) when POWERTOOLS_SERVICE_NAME is unset
DEFAULT_SERVICE = "bulkqa"

_E = TypeVar("_E")
_C = TypeVar("_C")
_R = TypeVar("_R")

# fields a logging.LogRecord (or Powertools' record) owns; a call's field of that name is renamed
_RESERVED = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", None, None).__dict__,
        "message",
        "asctime",
        "level",
        "location",
        "timestamp",
        "service",
        "cold_start",
        "xray_trace_id",
    }
)

_logger: Logger | None = None


class _Stdout:
    """Writes to whatever ``sys.stdout`` is at the time (Lambda: CloudWatch Logs; tests: the capture)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _serialize(record: Mapping[str, object]) -> str:
    # one physical line per record whatever the text holds (a label with U+2028 does not split it)
    return dumps_line(record, default=str)


def logger() -> Logger:
    """The functions' Powertools Logger (built on first use, from POWERTOOLS_SERVICE_NAME and LOG_LEVEL)."""
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger

        _logger = Logger(
            service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE,
            level=os.environ.get("LOG_LEVEL", "INFO").upper(),
            stream=_Stdout(),  # type: ignore[arg-type]  # a text stream in all that logging uses
            json_serializer=_serialize,
            utc=True,
        )
    return _logger


def _fields(fields: Mapping[str, object]) -> dict[str, object]:
    return {(f"{k}_" if k in _RESERVED else k): v for k, v in fields.items()}


def info(message: str, **fields: object) -> None:
    logger().info(message, extra=_fields(fields), stacklevel=2)


def warning(message: str, **fields: object) -> None:
    logger().warning(message, extra=_fields(fields), stacklevel=2)


def error(message: str, **fields: object) -> None:
    logger().error(message, extra=_fields(fields), stacklevel=2)


def append_keys(**keys: object) -> None:
    """Keys every later record of this invocation carries (cleared when the next invocation starts)."""
    logger().append_keys(**_fields(keys))


def inject_lambda_context(handler: Callable[[_E, _C], _R]) -> Callable[[_E, _C], _R]:
    """Powertools' ``inject_lambda_context`` (state cleared per invocation), applied on first call.

    The event is never logged (it may hold a task token or presigned URLs); its ``run_id``, when it
    has one, is appended to every record of the invocation.
    """
    decorated: Callable[[Any, Any], _R] | None = None

    def keyed(event: _E, context: _C) -> _R:  # runs after Powertools cleared the last invocation's keys
        if isinstance(event, Mapping) and isinstance(event.get("run_id"), str):
            append_keys(run_id=event["run_id"])
        return handler(event, context)

    @functools.wraps(handler)
    def wrapper(event: _E, context: _C) -> _R:
        nonlocal decorated
        if decorated is None:
            decorated = logger().inject_lambda_context(keyed, log_event=False, clear_state=True)
        return decorated(event, context)

    return wrapper
