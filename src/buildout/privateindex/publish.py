"""Publish a built index directory to S3-compatible object storage (a CDN origin).

Incremental, by content: the prefix is listed once (ETag and size of every
object).  The manifest ``<prefix>/.privateindex-manifest.json``, written last,
records for each key the sha256 uploaded and the ETag S3 answered; an object
whose listed ETag is still the recorded one, with the local sha256, is current.
Without such an entry (manifest lost, stale, publish interrupted) the ETag is
compared with the local md5, which S3 returns for the single-part PUTs made
here: a lost manifest costs no uploads, a wrong guess only an upload.

Uploads go in stages, so a reader never sees a link to a missing object: files
(distributions, ``.metadata``), project pages, root pages, the landing page,
the manifest.  Each page is also stored under its directory key (``simple/foo/``)
for plain, website-less S3 endpoints.  Deletion happens only with ``delete=True``,
after every upload.  boto3 (extra ``s3``) is imported only to make a client.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import json
import logging
import mimetypes
import os
import re
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock

from .errors import IndexStateError, PrivateIndexError
from .state import STATE_DIR

__all__ = ["MANIFEST_NAME", "PublishError", "PublishReport", "parse_s3_url", "publish"]

log = logging.getLogger(__name__)

#: The manifest object, below the prefix.  Never part of the local tree.
MANIFEST_NAME = ".privateindex-manifest.json"
MANIFEST_VERSION = 1
#: Pages change with every build; files never change under their name.
PAGE_CACHE_CONTROL = "public, max-age=300"
FILE_CACHE_CONTROL = "public, max-age=31536000, immutable"
HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_TYPES = {".metadata": "text/plain; charset=utf-8", ".tar.bz2": "application/x-bzip2"}
_TYPES |= {".tar.xz": "application/x-xz", ".tar.gz": "application/gzip", ".tgz": "application/gzip"}
_TYPES |= dict.fromkeys((".whl", ".zip", ".egg"), "application/zip")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_CHUNK = 1 << 20
#: Seconds to wait for a running build of the directory to finish.
LOCK_TIMEOUT = 600


class PublishError(PrivateIndexError, ValueError):
    """Publishing to ``target`` failed, or ``target`` is not a valid S3 URL."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"{target}: {reason}")


@dataclass
class PublishReport:
    """What a publish did (or, with ``dry_run``, would do)."""

    #: Keys uploaded, in upload order (the manifest is not listed here).
    uploaded: list[str] = field(default_factory=list)
    #: Objects already up to date remotely.
    unchanged: int = 0
    #: Remote keys deleted (only with ``delete=True``).
    deleted: list[str] = field(default_factory=list)
    #: Seconds the publish took.
    elapsed: float = 0.0
    #: Whether the manifest object was (re)written.
    manifest_written: bool = False


@dataclass(frozen=True, slots=True)
class _Item:
    """One object to publish: ``rel`` is its key below the prefix."""

    rel: str
    path: Path
    size: int
    sha256: str
    md5: str
    stage: int


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` -> ``("bucket", "some/prefix")``."""
    if not url.startswith("s3://") or any(c in url for c in "?#\\"):
        raise PublishError(url, "not an s3://BUCKET[/PREFIX] URL")
    bucket, _, prefix = url[5:].partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise PublishError(url, f"invalid bucket name {bucket!r}")
    prefix = prefix.strip("/")
    parts = prefix.split("/") if prefix else []
    if any(p in ("", ".", "..") or not p.isprintable() for p in parts):
        raise PublishError(url, f"invalid key prefix {prefix!r}")
    return bucket, prefix


def _stage(rel: str) -> int:
    """0 files, 1 project pages, 2 root pages, 3 landing page."""
    parts = rel.split("/")
    if parts == ["index.html"]:
        return 3
    if len(parts) == 2 and parts[0] == "simple" and parts[1] in ("index.html", "index.json"):
        return 2
    if len(parts) == 3 and parts[0] == "simple" and parts[2] in ("index.html", "index.json"):
        return 1
    return 0


def content_type(rel: str) -> str:
    """The Content-Type an object is stored with."""
    name = rel.rsplit("/", 1)[-1]
    if name == "" or name.endswith((".html", ".htm")):
        return HTML_TYPE
    if name == "index.json":
        return JSON_TYPE
    for suffix, media_type in _TYPES.items():
        if name.endswith(suffix):
            return media_type
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _hash(path: Path) -> tuple[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                sha.update(chunk)
                md5.update(chunk)
    except OSError as exc:
        raise IndexStateError(path, f"cannot read: {exc.strerror or exc}") from exc
    return sha.hexdigest(), md5.hexdigest()


def _scan(root: Path, has_prefix: bool, pool: ThreadPoolExecutor) -> list[_Item]:
    """Every object to publish, page aliases included, sorted by stage and key."""
    if not (root / "simple" / "index.html").is_file():
        raise IndexStateError(root, "not a built index (no simple/index.html)")
    found: list[tuple[str, Path, int]] = []
    for dirpath, dirnames, filenames in os.walk(root):  # skips STATE_DIR, dotfiles
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if not name.startswith(".") and path.is_file():
                found.append((path.relative_to(root).as_posix(), path, path.stat().st_size))
    hashes = list(pool.map(_hash, [path for _, path, _ in found]))
    items: list[_Item] = []
    for (rel, path, size), (sha, md5) in zip(found, hashes, strict=True):
        items.append(_Item(rel, path, size, sha, md5, _stage(rel)))
        if rel.rsplit("/", 1)[-1] == "index.html":
            alias = rel[: -len("index.html")]
            if alias or has_prefix:
                items.append(_Item(alias, path, size, sha, md5, _stage(rel)))
    return sorted(items, key=lambda item: (item.stage, item.rel))


def _load_manifest(client: Any, bucket: str, key: str) -> tuple[bytes, dict[str, Any]]:
    """The raw manifest and its ``objects`` mapping; ``{}`` when unusable."""
    raw: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        data = json.loads(raw)
        objects = data["objects"] if data.get("version") == MANIFEST_VERSION else None
    except (ValueError, TypeError, AttributeError, KeyError):
        objects = None
    if not isinstance(objects, dict):
        log.warning("ignoring unreadable manifest s3://%s/%s", bucket, key)
        return raw, {}
    return raw, objects


def _is_current(item: _Item, remote: tuple[str, int] | None, recorded: Any) -> bool:
    if remote is None or remote[1] != item.size:
        return False
    etag = remote[0]
    if isinstance(recorded, dict) and recorded.get("etag") == etag:
        return bool(recorded.get("sha256") == item.sha256)
    return etag == item.md5


def _put(s3: Any, bucket: str, key: str, body: Any, md5: str, sha256: str, **kw: str) -> str:
    """One single-part PUT, Content-MD5 checked by S3; return the new ETag."""
    digest = base64.b64encode(bytes.fromhex(md5)).decode()
    response = s3.put_object(
        Bucket=bucket, Key=key, Body=body, ContentMD5=digest, Metadata={"sha256": sha256}, **kw
    )
    log.debug("uploaded %s", key)
    return str(response.get("ETag", "")).strip('"') or md5


def _put_item(s3: Any, bucket: str, key: str, item: _Item) -> str:
    cache = FILE_CACHE_CONTROL if item.stage == 0 else PAGE_CACHE_CONTROL
    kw = {"ContentType": content_type(item.rel), "CacheControl": cache}
    try:
        body = item.path.open("rb")
    except OSError as exc:
        raise IndexStateError(item.path, f"cannot read: {exc.strerror or exc}") from exc
    with body:
        return _put(s3, bucket, key, body, item.md5, item.sha256, **kw)


def _make_client(target: str, endpoint_url: str | None, jobs: int) -> Any:
    try:
        boto3 = importlib.import_module("boto3")
        config = importlib.import_module("botocore.config").Config
    except ImportError as exc:
        reason = "publishing to S3 needs boto3: pip install 'buildout.privateindex[s3]'"
        raise PublishError(target, reason) from exc
    conf = config(max_pool_connections=max(10, jobs), retries={"mode": "standard"})
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=conf)


def _client_errors() -> tuple[type[BaseException], ...]:
    try:
        exceptions = importlib.import_module("botocore.exceptions")
    except ImportError:
        return ()
    return (exceptions.BotoCoreError, exceptions.ClientError)


def _describe(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        error = response["Error"]
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc) or type(exc).__name__


@contextlib.contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    """Hold the builder's lock, so that no build changes the tree while it is read."""
    if not (root / STATE_DIR).is_dir():
        yield
        return
    lock = filelock.FileLock(root / STATE_DIR / "lock", timeout=LOCK_TIMEOUT)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise IndexStateError(root, f"a build held the lock for {LOCK_TIMEOUT}s") from None
    try:
        yield
    finally:
        lock.release()


def publish(
    directory: str | os.PathLike[str],
    target: str,
    *,
    endpoint_url: str | None = None,
    delete: bool = False,
    client: object | None = None,
    dry_run: bool = False,
    jobs: int = 8,
) -> PublishReport:
    """Make ``target`` (``s3://bucket/prefix``) hold exactly the index in ``directory``.

    ``client`` is a boto3 S3 client (made from the usual credential chain and
    ``endpoint_url`` when not given).  ``dry_run`` only reports what would be
    uploaded and deleted.  ``jobs`` uploads run at once within one stage.
    """
    started = time.perf_counter()
    parse_s3_url(target)
    root = Path(directory)
    s3 = client if client is not None else _make_client(target, endpoint_url, jobs)
    try:
        with _build_lock(root), ThreadPoolExecutor(max(1, jobs)) as pool:
            report = _publish(s3, pool, root, target, delete=delete, dry_run=dry_run)
    except _client_errors() as exc:
        raise PublishError(target, _describe(exc)) from exc
    report.elapsed = time.perf_counter() - started
    verb = "would publish to" if dry_run else "published to"
    counts = (len(report.uploaded), report.unchanged, len(report.deleted), report.elapsed)
    log.info("%s %s: %d uploaded, %d unchanged, %d deleted in %.1fs", verb, target, *counts)
    return report


def _publish(
    s3: Any, pool: ThreadPoolExecutor, root: Path, target: str, *, delete: bool, dry_run: bool
) -> PublishReport:
    bucket, prefix = parse_s3_url(target)

    def key_of(rel: str) -> str:
        return f"{prefix}/{rel}" if prefix else rel

    items = _scan(root, bool(prefix), pool)
    remote: dict[str, tuple[str, int]] = {}
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""):
        for obj in page.get("Contents", ()):
            remote[obj["Key"]] = (str(obj.get("ETag", "")).strip('"'), int(obj["Size"]))
    manifest_key = key_of(MANIFEST_NAME)
    old_raw, recorded = b"", dict[str, Any]()
    if manifest_key in remote:
        old_raw, recorded = _load_manifest(s3, bucket, manifest_key)

    report = PublishReport()
    entries: dict[str, dict[str, str]] = {}
    for stage in range(4):
        todo: list[_Item] = []
        for item in (i for i in items if i.stage == stage):
            current = remote.get(key_of(item.rel))
            if _is_current(item, current, recorded.get(item.rel)):
                report.unchanged += 1
                etag = current[0] if current else item.md5
                entries[item.rel] = {"sha256": item.sha256, "etag": etag}
            else:
                todo.append(item)
        report.uploaded += [key_of(item.rel) for item in todo]
        if dry_run:
            continue
        futures = {pool.submit(_put_item, s3, bucket, key_of(i.rel), i): i for i in todo}
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:  # after a failure, start nothing more
            future.cancel()
        for future, item in futures.items():
            if not future.cancelled():  # result() raises the failure, if any
                entries[item.rel] = {"sha256": item.sha256, "etag": future.result()}

    document = {"version": MANIFEST_VERSION, "objects": dict(sorted(entries.items()))}
    new_raw = (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()
    if new_raw != old_raw and not dry_run:
        md5 = hashlib.md5(new_raw, usedforsecurity=False).hexdigest()
        sha = hashlib.sha256(new_raw).hexdigest()
        kw = {"ContentType": "application/json", "CacheControl": "no-cache"}
        _put(s3, bucket, manifest_key, new_raw, md5, sha, **kw)
        report.manifest_written = True

    if delete:
        wanted = {key_of(item.rel) for item in items} | {manifest_key}
        report.deleted = sorted(key for key in remote if key not in wanted)
        if not dry_run:
            _delete(s3, bucket, report.deleted, target)
    return report


def _delete(s3: Any, bucket: str, keys: Iterable[str], target: str) -> None:
    batch = list(keys)
    for start in range(0, len(batch), 1000):
        chunk = batch[start : start + 1000]
        objects = [{"Key": k} for k in chunk]
        response = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        for error in response.get("Errors") or ():
            reason = f"cannot delete {error.get('Key')}: {error.get('Code')} {error.get('Message')}"
            raise PublishError(target, reason)
        for key in chunk:
            log.debug("deleted %s", key)
