"""Step Functions: resuming a workflow that waits on a task token."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .. import log

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
else:
    SFNClient = Any

_GONE = ("TaskDoesNotExist", "InvalidToken", "TaskTimedOut")


class TaskCallbacks:
    def __init__(self, client: SFNClient) -> None:
        self._sfn = client

    def _send(self, call: str, **kwargs: Any) -> bool:
        try:
            getattr(self._sfn, call)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _GONE:
                # a duplicate event, or a wait that already timed out (the workflow re-checks the job)
                log.info("task token no longer waiting; nothing to resume", code=code)
                return False
            raise
        return True

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        return self._send("send_task_success", taskToken=token, output=json.dumps(output))

    def fail(self, token: str, error: str, cause: str) -> bool:
        return self._send("send_task_failure", taskToken=token, error=error[:256], cause=cause[:32_768])
