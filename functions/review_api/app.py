"""The self-hosted review backend's HTTP API (API Gateway HTTP API, payload format 2.0) and reviewer page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkqa import deps, log, metrics, settings
from bulkqa.review import api, presign

if TYPE_CHECKING:
    from bulkqa.ports import LambdaContext, RawEvent


@log.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: RawEvent, context: LambdaContext) -> api.HttpResponse:
    config = settings.review_settings()
    backend = api.Backend(config, lambda: deps.review_service(config), presign.image_urls)
    return api.handle(event, context, backend)
