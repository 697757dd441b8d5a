"""What the upstream index says about its files: upload time and yanks.

A file fetched from an upstream keeps the upstream's word on it: its PEP 700
``upload-time`` (given in PEP 691 JSON only) and its PEP 592 yank (JSON or
the HTML ``data-yanked``).  :func:`lookup` reads one page per project,
several at a time, and never raises: a project the upstream does not have
(a team's own) simply has no record.  A record is applied to an indexed file
only when both its name and its sha256 agree (see the state).
"""

from __future__ import annotations

import datetime
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urldefrag

from buildout.privateindex.dists.model import UpstreamFile
from buildout.privateindex.engine.mediatypes import JSON_TYPE
from buildout.privateindex.engine.pageread import parse_anchors
from buildout.privateindex.sharing.location import Credentials, authorized_request, redact

__all__ = ["LOOKUP_THREADS", "UpstreamFile", "lookup", "parse_html", "parse_json"]

logger = logging.getLogger(__name__)

#: Project pages read at once.
LOOKUP_THREADS = 8
_ACCEPT = f"{JSON_TYPE}, text/html;q=0.1"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


#: Upstream files by normalized project name.
Records = Mapping[str, list[UpstreamFile]]


def _upload_time_ns(value: object) -> int | None:
    """PEP 700's ISO 8601 ``upload-time`` in nanoseconds since the epoch, else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def _yank(value: object) -> str | None:
    if value is True:
        return ""
    if isinstance(value, str) and value:
        return value
    return None


def parse_json(text: str) -> list[UpstreamFile]:
    """The files of a PEP 691 project page (JSON); malformed entries are left out."""
    data = json.loads(text)
    files = data.get("files") if isinstance(data, dict) else None
    found: list[UpstreamFile] = []
    for entry in files if isinstance(files, list) else ():
        if not isinstance(entry, dict):
            continue
        hashes = entry.get("hashes")
        sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
        filename = entry.get("filename")
        if isinstance(filename, str) and isinstance(sha256, str):
            found.append(
                UpstreamFile(
                    filename,
                    sha256.lower(),
                    _upload_time_ns(entry.get("upload-time")),
                    _yank(entry.get("yanked")),
                )
            )
    return found


def parse_html(text: str) -> list[UpstreamFile]:
    """The files of a PEP 503 project page (HTML: yanks, but no upload time)."""
    found: list[UpstreamFile] = []
    for attrs, label in parse_anchors(text):
        url, fragment = urldefrag(attrs.get("href") or "")
        name, _, value = fragment.partition("=")
        if name != "sha256" or not value:
            continue
        filename = urllib.parse.unquote(url.rstrip("/").rsplit("/", 1)[-1]) or label
        yanked = (attrs["data-yanked"] or "") if "data-yanked" in attrs else None
        found.append(UpstreamFile(filename, value.lower(), None, yanked))
    return found


def _read_page(url: str, creds: Credentials | None, timeout: float) -> list[UpstreamFile]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        directory = Path(urllib.request.url2pathname(parts.path))
        if (directory / "index.json").is_file():
            return parse_json((directory / "index.json").read_text("utf-8"))
        return parse_html((directory / "index.html").read_text("utf-8"))
    request = authorized_request(url, creds, {"Accept": _ACCEPT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        kind = response.headers.get_content_type()
        text = response.read().decode(response.headers.get_content_charset() or "utf-8")
    return parse_json(text) if kind == JSON_TYPE else parse_html(text)


def lookup(
    index_url: str,
    projects: Iterable[str],
    *,
    credentials: Callable[[str], Credentials | None] = lambda url: None,
    timeout: float = 30,
) -> dict[str, list[UpstreamFile]]:
    """The upstream's files of each of ``projects`` (normalized names), by project.

    One request per project, :data:`LOOKUP_THREADS` at a time.  A project the
    upstream lacks, or whose page cannot be read, is left out (logged).
    """
    base = index_url.rstrip("/") + "/"
    names = sorted(set(projects))

    def one(project: str) -> tuple[str, list[UpstreamFile] | None]:
        url = f"{base}{urllib.parse.quote(project)}/"
        try:
            return project, _read_page(url, credentials(url), timeout)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            if not (isinstance(exc, urllib.error.HTTPError) and exc.code == 404):
                logger.debug("no upstream record for %s: %s", project, redact(str(exc)))
            return project, None

    records: dict[str, list[UpstreamFile]] = {}
    with ThreadPoolExecutor(max_workers=LOOKUP_THREADS) as pool:
        for project, files in pool.map(one, names):
            if files is not None:
                records[project] = files
    return records
