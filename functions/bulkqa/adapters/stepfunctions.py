"""Step Functions: resuming a workflow that waits on a task token."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from .. import log

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

_GONE = ("TaskDoesNotExist", "InvalidToken", "TaskTimedOut")


class TaskCallbacks:
    """The ``ports.TaskCallbacks`` of the labeling steps."""

    def __init__(self, client: SFNClient) -> None:
        self._sfn = client

    def _send(self, call: Callable[[], object]) -> bool:
        try:
            call()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _GONE:
                # a duplicate event, or a wait that already timed out (the workflow re-checks the job)
                log.info("task token no longer waiting; nothing to resume", code=code)
                return False
            raise
        return True

    def succeed(self, token: str, output: Mapping[str, object]) -> bool:
        return self._send(lambda: self._sfn.send_task_success(taskToken=token, output=json.dumps(output)))

    def fail(self, token: str, error: str, cause: str) -> bool:
        return self._send(lambda: self._sfn.send_task_failure(taskToken=token, error=error[:256], cause=cause[:32_768]))
