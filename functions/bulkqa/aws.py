"""Lazy boto3 clients: built on first use, never at import time, cached per process.

Tests and the local runtime call :func:`reset_clients` after starting or stopping an AWS emulation.
"""

from __future__ import annotations

import functools
from typing import Any, Literal


@functools.cache
def client(service: str) -> Any:  # the service's boto3 client; the adapters declare its typed stub
    import boto3
    from botocore.config import Config

    config = Config(
        # "standard" retries throttling (ThrottlingException, ProvisionedThroughputExceeded, SlowDown)
        # and transient 5xx with backoff: transient errors are normal, not exceptional.
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=60,
        # steps run up to 32 requests at once (batch-file PUTs, per-partition Queries, verdict writes)
        max_pool_connections=32,
    )
    return boto3.client(service, config=config)  # type: ignore[call-overload]


@functools.cache
def s3_presigner(addressing_style: Literal["virtual", "path"]) -> Any:  # an S3Client (typed in review.presign)
    """An S3 client for presigning only (no request is made with it): SigV4 and S3's regional endpoint in
    every region, us-east-1 included, with ``virtual`` or ``path`` addressing. The default client signs
    some URLs with SigV2 on the global endpoint, which the page's Content-Security-Policy does not name."""
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": addressing_style, "us_east_1_regional_endpoint": "regional"},
    )
    return boto3.client("s3", config=config)


def reset_clients() -> None:
    client.cache_clear()
    s3_presigner.cache_clear()
