"""A run ended (EventBridge: Step Functions Execution Status Change): one message, and RunSeconds."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bulkqa import aws, log, metrics, notify, settings

if TYPE_CHECKING:
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> notify.NotifyResult:
    stack = settings.stack_settings()
    topic = os.environ.get("NOTIFICATION_TOPIC_ARN", "")  # empty: no NotificationEmail, no message
    notices = notify.NoticeBoard(aws.client("dynamodb"), stack.runs_table, aws.client("sns"), topic) if topic else None
    return notify.notify_run(event, notices, stack.bucket)
