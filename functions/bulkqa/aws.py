"""Lazy boto3 clients: built on first use, never at import time, cached per process.

Tests and the local runtime call :func:`reset_clients` after starting or stopping an AWS emulation.
"""

from __future__ import annotations

import functools
from typing import Any


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


def reset_clients() -> None:
    client.cache_clear()
