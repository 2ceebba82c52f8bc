"""Ground Truth annotation consolidation: every reviewer's answer -> per-image counts."""

from typing import Any

from bulkqa import aws, deps, settings, steps
from bulkqa.adapters.s3 import read_s3_text


def lambda_handler(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    stack = settings.stack_settings()
    return steps.post_labeling(event, deps.labels(stack), lambda uri: read_s3_text(aws.client("s3"), uri))
