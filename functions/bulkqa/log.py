"""Structured JSON logs on stdout (CloudWatch Logs picks them up).

Log what diagnosis needs and nothing more: no presigned URLs, no file contents, no task tokens.
"""

from __future__ import annotations

import logging
import os
import sys

from .jsonl import dumps_line

_LOGGER_NAME = "bulkqa"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: level, message, the call's fields, and the exception if any.

    One physical line per record whatever the text holds (:func:`bulkqa.jsonl.dumps_line`: a label with
    U+2028 in a log field does not split the record). Public because the local cloud formats the
    functions' logs the same way (function-logs.jsonl).
    """

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {"level": record.levelname, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            body.update(fields)
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return dumps_line(body, default=str)


def _logger() -> logging.Logger:
    logger = logging.getLogger(_LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return logger


def info(message: str, **fields: object) -> None:
    _logger().info(message, extra={"fields": fields})


def warning(message: str, **fields: object) -> None:
    _logger().warning(message, extra={"fields": fields})


def error(message: str, **fields: object) -> None:
    _logger().error(message, extra={"fields": fields})
