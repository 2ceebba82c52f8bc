"""Ground Truth pre-labeling: one batch file -> the worker page's task.input."""

import json
from typing import Any

from bulkqa import aws, steps
from bulkqa.adapters.s3 import read_s3_text


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return steps.pre_labeling(event, lambda uri: json.loads(read_s3_text(aws.client("s3"), uri)))
