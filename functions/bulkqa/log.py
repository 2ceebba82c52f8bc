"""Structured JSON logs on stdout (CloudWatch Logs picks them up).

Log what diagnosis needs and nothing more: no presigned URLs, no file contents, no task tokens.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

_LOGGER_NAME = "bulkqa"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {"level": record.levelname, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            body.update(fields)
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)


def _logger() -> logging.Logger:
    logger = logging.getLogger(_LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(_JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return logger


def info(message: str, **fields: Any) -> None:
    _logger().info(message, extra={"fields": fields})


def warning(message: str, **fields: Any) -> None:
    _logger().warning(message, extra={"fields": fields})


def error(message: str, **fields: Any) -> None:
    _logger().error(message, extra={"fields": fields})
