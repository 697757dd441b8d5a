"""Fetch the files a resolution names, several at once, each checked by its sha256."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildout.privateindex.closure.resolve import LockedFile
from buildout.privateindex.sharing.location import Credentials, authorized_request, redact

__all__ = ["FETCH_THREADS", "FetchReport", "fetch_files"]

#: Files fetched at once.
FETCH_THREADS = 8


@dataclass
class FetchReport:
    """Files fetched into a directory, and the ones that could not be."""

    files: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def fetch_files(
    files: Iterable[LockedFile],
    dest: Path,
    *,
    credentials: Callable[[str], Credentials | None] = lambda url: None,
    timeout: float = 60,
) -> FetchReport:
    """Download ``files`` into ``dest`` (several at once), checking each sha256.

    ``credentials(url)`` gives the credentials for a URL, or None; they are
    sent to that URL's host only, never along a redirect.
    """
    report = FetchReport()
    unique = {item.filename: item for item in files}

    def one(item: LockedFile) -> tuple[str, Path | None, str | None]:
        try:
            return item.filename, _fetch_one(item, dest, credentials(item.url), timeout), None
        except (OSError, ValueError) as exc:
            return item.filename, None, redact(str(exc)) or type(exc).__name__

    with ThreadPoolExecutor(max_workers=FETCH_THREADS) as pool:
        for name, path, error in pool.map(one, [unique[key] for key in sorted(unique)]):
            if path is not None:
                report.files.append(path)
            else:
                report.failed[name] = error or "failed"
    return report


def _fetch_one(item: LockedFile, dest: Path, creds: Credentials | None, timeout: float) -> Path:
    name = item.filename
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"refusing the file name {name!r} of {redact(item.url)}")
    target = dest / name
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest, prefix=".fetch-")
    try:
        with os.fdopen(fd, "wb") as out, _open_url(item.url, creds, timeout) as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        if item.sha256 is not None and digest.hexdigest() != item.sha256.lower():
            raise ValueError(
                f"sha256 mismatch for {redact(item.url)}: expected {item.sha256}, "
                f"got {digest.hexdigest()}"
            )
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return target


def _open_url(url: str, creds: Credentials | None, timeout: float) -> Any:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme == "file":
        return open(urllib.request.url2pathname(urllib.parse.urlsplit(url).path), "rb")
    if scheme not in ("http", "https"):
        raise ValueError(f"cannot fetch {redact(url)}: unsupported scheme")
    return urllib.request.urlopen(authorized_request(url, creds), timeout=timeout)
