"""The S3 side of publishing: the client, uploads, listings, deletions, errors.

boto3 (extra ``s3``) is imported only here, and only to make a client.
Uploads below ``multipart_threshold`` are one PUT; larger files go through
boto3's transfer manager in parts (S3 refuses single PUTs over 5 GB), with
the part size equal to the threshold.  A multipart object's ETag is not the
md5 of its content, so the publisher never compares ETags with content: the
manifest records what it uploaded, and each object carries its sha256 as
``x-amz-meta-sha256``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from buildout.privateindex.errors import IndexStateError, PrivateIndexError
from buildout.privateindex.sharing.redact import environ_secrets, redact, split_userinfo

__all__ = ["MULTIPART_THRESHOLD", "S3", "PublishError"]

log = logging.getLogger(__name__)

#: Files from this size up are uploaded in parts of this size.
MULTIPART_THRESHOLD = 64 * 1024 * 1024
#: Parts of one file uploaded at once.
MULTIPART_CONCURRENCY = 4


class PublishError(PrivateIndexError, ValueError):
    """Publishing to ``target`` failed, or ``target`` is not a valid S3 URL.

    ``about`` says what the user should fix: ``"target"`` (the URL, the
    bucket, permissions), ``"endpoint"`` (the endpoint URL, the connection)
    or ``"credentials"`` (profile, keys).
    """

    def __init__(self, target: str, reason: str, about: str = "target") -> None:
        self.target = redact(target)
        self.reason = redact(reason)
        self.about = about
        super().__init__(f"{self.target}: {self.reason}")


def _boto() -> tuple[Any, Any]:
    boto3 = importlib.import_module("boto3")
    return boto3, importlib.import_module("botocore.exceptions")


def client_errors() -> tuple[type[BaseException], ...]:
    try:
        exceptions = importlib.import_module("botocore.exceptions")
    except ImportError:
        return ()
    return (exceptions.BotoCoreError, exceptions.ClientError)


def describe(exc: BaseException, target: str) -> PublishError:
    """One clear PublishError for a botocore/boto3 exception (never a traceback)."""
    name = type(exc).__name__
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        error = response["Error"]
        code = str(error.get("Code", "error"))
        reason = f"{code}: {error.get('Message', '')}".rstrip(": ")
        about = "credentials" if code in _CREDENTIAL_CODES else "target"
        return PublishError(target, reason, about)
    if name == "ProfileNotFound":
        profile = getattr(exc, "kwargs", {}).get("profile", "?")
        return PublishError(target, f"AWS profile {profile!r} not found", "credentials")
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        reason = (
            f"{exc}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
            "or ~/.aws/credentials"
        )
        return PublishError(target, reason, "credentials")
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return PublishError(target, str(exc), "endpoint")
    return PublishError(target, str(exc) or name)


_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}


def check_endpoint(endpoint_url: str, target: str) -> str:
    """``endpoint_url`` without user-info (S3 requests are signed, never sent
    with a URL's password); an error for anything but an http(s) URL."""
    url, password = split_userinfo(endpoint_url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        reason = f"invalid endpoint URL {redact(endpoint_url, [password or ''])!r}"
        raise PublishError(target, reason, "endpoint")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise PublishError(target, f"invalid endpoint URL {url!r}", "endpoint") from None
    if password is not None:
        log.warning("ignoring the credentials in the endpoint URL %s (S3 requests are signed)", url)
    return url


class S3:
    """A boto3 S3 client with the few operations publishing needs."""

    def __init__(self, client: Any, multipart_threshold: int = MULTIPART_THRESHOLD) -> None:
        self.client = client
        self.threshold = multipart_threshold

    @classmethod
    def connect(
        cls, target: str, endpoint_url: str | None, jobs: int, multipart_threshold: int
    ) -> tuple[S3, list[str]]:
        """A client from boto3's usual credential chain, and the secrets it holds."""
        try:
            boto3, _ = _boto()
            config = importlib.import_module("botocore.config").Config
        except ImportError as exc:
            reason = "publishing to S3 needs boto3: pip install 'buildout.privateindex[s3]'"
            raise PublishError(target, reason) from exc
        secrets = environ_secrets()
        if endpoint_url is not None:
            secrets.append(split_userinfo(endpoint_url)[1] or "")
            endpoint_url = check_endpoint(endpoint_url, target)
        pool = max(10, jobs * MULTIPART_CONCURRENCY)
        conf = config(max_pool_connections=pool, retries={"mode": "standard"})
        try:
            session = boto3.session.Session()
            client = session.client("s3", endpoint_url=endpoint_url, config=conf)
            credentials = session.get_credentials()
        except client_errors() as exc:
            raise describe(exc, target) from None
        except ValueError as exc:  # botocore: "Invalid endpoint: ..."
            raise PublishError(target, str(exc), "endpoint") from None
        if credentials is not None:
            secrets += [credentials.secret_key or "", credentials.token or ""]
        return cls(client, multipart_threshold), secrets

    def listing(self, bucket: str, prefix: str) -> dict[str, tuple[str, int]]:
        """``{key: (etag, size)}`` of every object below ``prefix``."""
        remote: dict[str, tuple[str, int]] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", ()):
                remote[obj["Key"]] = (str(obj.get("ETag", "")).strip('"'), int(obj["Size"]))
        return remote

    def get(self, bucket: str, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def head_sha256(self, bucket: str, key: str) -> tuple[str | None, int]:
        """The sha256 an object was uploaded with (its metadata), and its size."""
        head = self.client.head_object(Bucket=bucket, Key=key)
        metadata = head.get("Metadata") or {}
        return metadata.get("sha256"), int(head.get("ContentLength", -1))

    def put(self, bucket: str, key: str, body: Any, sha256: str, **kw: str) -> str:
        """One PUT of ``body`` (bytes or a file); return the new ETag."""
        response = self.client.put_object(
            Bucket=bucket, Key=key, Body=body, Metadata={"sha256": sha256}, **kw
        )
        return str(response.get("ETag", "")).strip('"')

    def upload(self, bucket: str, key: str, path: Path, size: int, sha256: str, **kw: str) -> str:
        """Upload the file at ``path``; return the ETag S3 gives it."""
        try:
            if size < self.threshold:
                with path.open("rb") as body:
                    etag = self.put(bucket, key, body, sha256, **kw)
            else:
                etag = self._multipart(bucket, key, path, sha256, **kw)
        except OSError as exc:
            raise IndexStateError(path, f"cannot read: {exc.strerror or exc}") from exc
        log.debug("uploaded %s", key)
        return etag

    def _multipart(self, bucket: str, key: str, path: Path, sha256: str, **kw: str) -> str:
        transfer = importlib.import_module("boto3.s3.transfer")
        config = transfer.TransferConfig(
            multipart_threshold=self.threshold,
            multipart_chunksize=self.threshold,
            max_concurrency=MULTIPART_CONCURRENCY,
        )
        extra = {"Metadata": {"sha256": sha256}, **kw}
        self.client.upload_file(str(path), bucket, key, ExtraArgs=extra, Config=config)
        return str(self.client.head_object(Bucket=bucket, Key=key).get("ETag", "")).strip('"')

    def delete(self, bucket: str, keys: list[str], target: str) -> Iterator[str]:
        """Delete ``keys``, 1000 per request; yield each deleted key."""
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            objects = [{"Key": k} for k in chunk]
            response = self.client.delete_objects(
                Bucket=bucket, Delete={"Objects": objects, "Quiet": True}
            )
            for error in response.get("Errors") or ():
                key, code, message = error.get("Key"), error.get("Code"), error.get("Message")
                raise PublishError(target, f"cannot delete {key}: {code} {message}")
            for key in chunk:
                log.debug("deleted %s", key)
                yield key
