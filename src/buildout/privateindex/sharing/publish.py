"""Publish a built index directory to S3-compatible object storage (a CDN origin).

Incremental, by content: the prefix is listed once (ETag and size of every
object).  The manifest ``<prefix>/.privateindex-manifest.json``, written last,
records for each key the sha256 uploaded and the ETag S3 answered; an object
whose listed ETag is still the recorded one, with the local sha256, is
current.  An object the manifest does not know (manifest lost, publish
interrupted) is asked for the sha256 it was uploaded with (its
``x-amz-meta-sha256``): a lost manifest costs one HEAD per object, no upload.
ETags are never compared with a local md5: multipart uploads have none.

Uploads go in stages, so a reader never sees a link to a missing object: files
(distributions, ``.metadata``), project pages (and the pages for people,
``projects/*.html``), root pages, the landing page, the manifest.  With
``directory_keys`` each page is also stored under its directory key
(``simple/foo/``), for plain S3 endpoints without website hosting; the
default is on for AWS (no ``endpoint_url``) and off for other endpoints, as
SeaweedFS turns such keys into (empty) directories and MinIO
refuses them.  Deletion happens only with ``delete=True``, after every
upload, and only of keys the manifest lists as published from here.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from buildout.privateindex.engine import locking
from buildout.privateindex.engine.fsutil import LOCK_MODE
from buildout.privateindex.engine.state import STATE_DIR
from buildout.privateindex.errors import IndexStateError
from buildout.privateindex.sharing.publishplan import (
    MANIFEST_NAME,
    Item,
    Manifest,
    content_type,
    entry,
    scan,
)
from buildout.privateindex.sharing.redact import environ_secrets, redacting
from buildout.privateindex.sharing.s3client import (
    MULTIPART_THRESHOLD,
    S3,
    PublishError,
    client_errors,
    describe,
)

__all__ = [
    "MANIFEST_NAME",
    "MULTIPART_THRESHOLD",
    "PublishError",
    "PublishReport",
    "content_type",
    "parse_s3_url",
    "publish",
]

log = logging.getLogger(__name__)

#: Pages change with every build; files never change under their name.
PAGE_CACHE_CONTROL = "public, max-age=300"
FILE_CACHE_CONTROL = "public, max-age=31536000, immutable"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
#: Seconds to wait for a running build of the directory to finish.
LOCK_TIMEOUT = 600


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
    #: Local files read to hash them, and their bytes (the rest: from the state).
    hashed_files: int = 0
    hashed_bytes: int = 0


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


@contextlib.contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    """Hold the builder's lock, so that no build changes the tree while it is read."""
    if not (root / STATE_DIR).is_dir():
        yield
        return
    try:
        with locking.held(root / STATE_DIR / "lock", LOCK_TIMEOUT, LOCK_MODE):
            yield
    except locking.LockTimeout:
        raise IndexStateError(root, f"a build held the lock for {LOCK_TIMEOUT}s") from None


def publish(
    directory: str | os.PathLike[str],
    target: str,
    *,
    endpoint_url: str | None = None,
    delete: bool = False,
    client: object | None = None,
    dry_run: bool = False,
    jobs: int = 8,
    directory_keys: bool | None = None,
    multipart_threshold: int = MULTIPART_THRESHOLD,
) -> PublishReport:
    """Make ``target`` (``s3://bucket/prefix``) hold exactly the index in ``directory``.

    ``client`` is a boto3 S3 client (made from the usual credential chain and
    ``endpoint_url`` when not given).  ``dry_run`` only reports what would be
    uploaded and deleted.  ``jobs`` uploads run at once within one stage.
    ``directory_keys``: also store each page under its directory key (None:
    only on AWS, when no ``endpoint_url`` is given).  Files from
    ``multipart_threshold`` bytes up are uploaded in parts of that size.
    Credentials never appear in a message or a log record, whoever logs it.
    """
    started = time.perf_counter()
    parse_s3_url(target)
    keys = endpoint_url is None if directory_keys is None else directory_keys
    with redacting(environ_secrets()):
        if client is None:
            s3, secrets = S3.connect(target, endpoint_url, jobs, multipart_threshold)
        else:
            s3, secrets = S3(client, multipart_threshold), []
        with redacting(secrets):
            try:
                with _build_lock(Path(directory)), ThreadPoolExecutor(max(1, jobs)) as pool:
                    report = _Publisher(s3, pool, target, keys).run(
                        Path(directory), delete=delete, dry_run=dry_run
                    )
            except client_errors() as exc:
                raise describe(exc, target) from exc
    report.elapsed = time.perf_counter() - started
    verb = "would publish to" if dry_run else "published to"
    counts = (len(report.uploaded), report.unchanged, len(report.deleted), report.elapsed)
    log.info("%s %s: %d uploaded, %d unchanged, %d deleted in %.1fs", verb, target, *counts)
    return report


class _Publisher:
    def __init__(self, s3: S3, pool: ThreadPoolExecutor, target: str, directory_keys: bool):
        self.s3, self.pool, self.target = s3, pool, target
        self.bucket, self.prefix = parse_s3_url(target)
        self.directory_keys = directory_keys

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def run(self, root: Path, *, delete: bool, dry_run: bool) -> PublishReport:
        found = scan(root, bool(self.prefix), self.directory_keys, self.pool)
        report = PublishReport(hashed_files=found.hashed_files, hashed_bytes=found.hashed_bytes)
        remote = self.s3.listing(self.bucket, f"{self.prefix}/" if self.prefix else "")
        manifest_key = self.key(MANIFEST_NAME)
        manifest = Manifest({})
        if manifest_key in remote:
            raw = self.s3.get(self.bucket, manifest_key)
            manifest = Manifest.parse(raw, f"s3://{self.bucket}/{manifest_key}")
        adopted = self._adopt(found.items, remote, manifest)

        entries: dict[str, dict[str, str]] = {}
        for stage in range(4):
            todo: list[Item] = []
            for item in (i for i in found.items if i.stage == stage):
                current = remote.get(self.key(item.rel))
                verdict = manifest.is_current(item, current)
                if current is not None and (verdict or (verdict is None and item.rel in adopted)):
                    report.unchanged += 1
                    entries[item.rel] = entry(item.sha256, current[0])
                else:
                    todo.append(item)
            report.uploaded += [self.key(item.rel) for item in todo]
            if not dry_run:
                entries |= self._upload(todo)

        local = {item.rel for item in found.items}
        stale = [r for r in manifest.objects if r not in local and self.key(r) in remote]
        ours = [r for r in stale if manifest.ours(r, remote.get(self.key(r)))]
        for rel in sorted(set(stale) - set(ours)):
            log.warning("%s changed since it was published from here: left alone", self.key(rel))
        if delete:
            report.deleted = sorted(self.key(rel) for rel in ours)
            if not manifest.found and any(k not in local for k in remote if k != manifest_key):
                log.warning(
                    "no usable manifest at s3://%s/%s: deleting nothing (only objects "
                    "a manifest lists as published from this index are deleted)",
                    self.bucket,
                    manifest_key,
                )
            if not dry_run:
                deleted = set(self.s3.delete(self.bucket, report.deleted, self.target))
                ours = [rel for rel in ours if self.key(rel) not in deleted]
        for rel in ours:  # still ours: kept in the manifest, for a later delete
            entries[rel] = manifest.objects[rel]

        new_raw = manifest.dump(entries)
        if new_raw != manifest.raw and not dry_run:
            sha = hashlib.sha256(new_raw).hexdigest()
            kw = {"ContentType": "application/json", "CacheControl": "no-cache"}
            self.s3.put(self.bucket, manifest_key, new_raw, sha, **kw)
            report.manifest_written = True
        return report

    def _adopt(
        self, items: list[Item], remote: dict[str, tuple[str, int]], manifest: Manifest
    ) -> set[str]:
        """The objects the manifest does not know that hold the local content."""
        unknown = [
            item
            for item in items
            if self.key(item.rel) in remote
            and manifest.is_current(item, remote[self.key(item.rel)]) is None
        ]
        heads = self.pool.map(
            lambda item: self.s3.head_sha256(self.bucket, self.key(item.rel)), unknown
        )
        return {
            item.rel
            for item, (sha, size) in zip(unknown, heads, strict=True)
            if sha == item.sha256 and size == item.size
        }

    def _upload(self, todo: list[Item]) -> dict[str, dict[str, str]]:
        """Upload ``todo`` concurrently; after a failure, start nothing more."""

        def one(item: Item) -> str:
            cache = FILE_CACHE_CONTROL if item.stage == 0 else PAGE_CACHE_CONTROL
            kw = {"ContentType": content_type(item.rel), "CacheControl": cache}
            return self.s3.upload(
                self.bucket, self.key(item.rel), item.path, item.size, item.sha256, **kw
            )

        futures = {self.pool.submit(one, item): item for item in todo}
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()
        done: dict[str, dict[str, str]] = {}
        for future, item in futures.items():
            if not future.cancelled():  # result() raises the failure, if any
                done[item.rel] = entry(item.sha256, future.result())
        return done
