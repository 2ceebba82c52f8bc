"""S3: the run's files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectRequestTypeDef, HeadObjectRequestTypeDef

BLOCK = 8 * 1024 * 1024


#: Parts one ``put_file`` uploads at once (analyze uploads 4 files at a time: 32 connections at most).
UPLOAD_THREADS = 8


class ObjectStore:
    """The stack's bucket (the ``ports.ObjectStore`` of the steps)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def _body(self, key: str, version: str | None, byte_range: str = "") -> StreamingBody:
        request: GetObjectRequestTypeDef = {"Bucket": self.bucket, "Key": key}
        if version:
            request["VersionId"] = version
        if byte_range:
            request["Range"] = byte_range
        return self._s3.get_object(**request)["Body"]

    def size(self, key: str, version: str | None = None) -> int:
        request: HeadObjectRequestTypeDef = {"Bucket": self.bucket, "Key": key}
        if version:
            request["VersionId"] = version
        return self._s3.head_object(**request)["ContentLength"]

    def read_range(self, key: str, start: int, end: int, version: str | None = None) -> bytes:
        """Bytes [start, end) of an object (one ranged GET)."""
        if end <= start:
            return b""
        return self._body(key, version, f"bytes={start}-{end - 1}").read()

    def stream(self, key: str, start: int = 0, version: str | None = None, block: int = BLOCK) -> Iterator[bytes]:
        """The object's bytes from ``start`` in blocks (one streaming GET)."""
        body = self._body(key, version, f"bytes={start}-" if start else "")
        while True:
            data = body.read(block)
            if not data:
                break
            yield data

    def read_bytes(self, key: str, version: str | None = None) -> bytes:
        return self._body(key, version).read()

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_bytes(key))

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> None:
        """Upload a local file (multipart when large: s3:PutObject covers every part)."""
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(max_concurrency=UPLOAD_THREADS)
        self._s3.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=config)

    def put_json(self, key: str, value: object) -> None:
        self.put_bytes(
            key, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), "application/json"
        )

    def put_many(self, objects: list[tuple[str, bytes, str]], threads: int = 16) -> None:
        """PUT many small objects concurrently (boto3 clients are thread-safe)."""
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(self.put_bytes, *obj) for obj in objects]:
                future.result()

    def keys(self, prefix: str) -> list[str]:
        out: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            out.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(out)

    def copy(self, source_key: str, target_key: str) -> None:
        self._s3.copy_object(Bucket=self.bucket, Key=target_key, CopySource={"Bucket": self.bucket, "Key": source_key})


def read_s3_text(client: S3Client, uri: str) -> str:
    """Read a whole object named by an s3:// URI as UTF-8 text."""
    bucket, key = uri[5:].split("/", 1)
    return client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
