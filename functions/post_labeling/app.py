"""Ground Truth annotation consolidation: every reviewer's answer -> per-image counts."""

from bulkqa import aws, deps, settings, steps
from bulkqa.adapters.s3 import read_s3_text
from bulkqa.model import ConsolidationEntry
from bulkqa.ports import LambdaContext, RawEvent


def lambda_handler(event: RawEvent, context: LambdaContext) -> list[ConsolidationEntry]:
    stack = settings.stack_settings()
    return steps.post_labeling(event, deps.labels(stack), lambda uri: read_s3_text(aws.client("s3"), uri))
