"""S3 presigned GET URLs of the images a reviewer's lease shows (the only S3 call of the review API).

The URLs are signed with SigV4 and name S3's regional endpoint in every region (us-east-1 included):
``https://<bucket>.s3.<region>.amazonaws.com/<key>?X-Amz-...`` (virtual host), or path style,
``https://s3.<region>.amazonaws.com/<bucket>/<key>?...``, for a bucket whose name has a dot (a virtual
host would not match S3's TLS certificate). The page's Content-Security-Policy allows those origins
(``bulkqa.review.page.image_origins``). The signing clients are ``bulkqa.aws.s3_presigner``'s (boto3's
default S3 client signs some URLs with SigV2 on the global endpoint). Signing makes no request; a URL carries
the function role's rights and dies with its session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from bulkqa import aws
from bulkqa.keys import parse_s3_uri

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: the longest a presigned image URL lives (seconds): 15 minutes, whatever the lease
MAX_URL_SECONDS: Final = 900


def url_seconds(lease_seconds_left: float) -> int:
    """ExpiresIn of an image URL: the lease's whole seconds left, at most 15 minutes, at least 1."""
    return max(1, min(MAX_URL_SECONDS, int(lease_seconds_left)))


class ImageUrls:
    """Presigns ``s3://bucket/key`` image URIs for GET."""

    def __init__(self, virtual: S3Client, path: S3Client) -> None:
        self._virtual = virtual  # for bucket names without a dot
        self._path = path  # for the others

    def url(self, uri: str, expires_in: int) -> str:
        """A presigned GET URL of ``uri`` valid ``expires_in`` seconds (ValueError if not an s3:// URI)."""
        bucket, key = parse_s3_uri(uri)
        client = self._path if "." in bucket else self._virtual
        return client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in, HttpMethod="GET"
        )


def image_urls() -> ImageUrls:
    """The process's presigner (its clients are built on first use and kept)."""
    return ImageUrls(signing_client("virtual"), signing_client("path"))


def signing_client(addressing_style: Literal["virtual", "path"]) -> S3Client:
    """The process's S3 client for presigning with this addressing style (``bulkqa.aws.s3_presigner``: built
    on first use, kept, cleared with the other clients by ``aws.reset_clients()``)."""
    client: S3Client = aws.s3_presigner(addressing_style)
    return client
