"""Render the pages of the index: pure functions from records to text.

Project and root pages follow the simple repository API: PEP 503 (HTML),
PEP 691 (JSON), PEP 592 (yanking), PEP 658/714 (core metadata), PEP 629
(repository version) and PEP 700 (``versions``, ``size``, ``upload-time``).
Output depends only on the arguments: no clock, no environment, and the order
of the input never matters.  Every text is HTML-escaped.  The pages for
people (the landing page, the project pages) are in :mod:`.landing`.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any, NamedTuple
from urllib.parse import quote

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from buildout.privateindex.dists.model import DistFile
from buildout.privateindex.dists.safetext import CONTROL_CHARACTERS, without_controls
from buildout.privateindex.engine.mediatypes import HTML_TYPE, HTML_V1_TYPE, JSON_TYPE

__all__ = [
    "API_VERSION",
    "HTML_TYPE",
    "HTML_V1_TYPE",
    "JSON_TYPE",
    "PageFile",
    "humanize_size",
    "project_html",
    "project_json",
    "root_html",
    "root_json",
    "upload_time",
]


#: The API version the pages declare (PEP 629; 1.1 since PEP 700).
API_VERSION = "1.1"

#: The Unix epoch in UTC (naive: only ever formatted, with a ``Z``).
_EPOCH = datetime.datetime(1970, 1, 1)
_NO_VERSION = Version("0")
_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
#: What :func:`_e` changes: what HTML escapes, and what ``without_controls`` removes.
_SPECIAL = re.compile(f"[&<>\"'{CONTROL_CHARACTERS}]")


class PageFile(NamedTuple):
    """One file as a project page links it.

    ``url`` is the link without fragment, relative (``foo-1.0.tar.gz``) or
    absolute; it must already be a valid URL (percent-encoded), it is only
    HTML-escaped here.  ``yanked`` is None when the file is not yanked, ``""``
    when it is yanked without a reason, else the reason (PEP 592).
    """

    dist: DistFile
    url: str
    yanked: str | None = None
    #: The PEP 700 upload time; the file's modification time if not given.
    upload_time_ns: int | None = None


def _e(text: str) -> str:
    """HTML-escaped, without control characters (no page needs one, and they
    are not allowed in HTML)."""
    if _SPECIAL.search(text) is None:  # most texts: names, versions, hashes
        return text
    return escape(without_controls(text), quote=True)


def _file_key(page_file: PageFile) -> tuple[str, str, str]:
    return (page_file.dist.filename, page_file.url, page_file.dist.sha256)


@functools.lru_cache(maxsize=4096)
def _version_key(version: str) -> tuple[int, Version, str]:
    """Order by PEP 440; versions packaging cannot parse come first, by text."""
    try:
        return (1, Version(version), version)
    except InvalidVersion:
        return (0, _NO_VERSION, version)


def _distinct_versions(versions: Iterable[str]) -> list[str]:
    """Versions sorted oldest first, equal ones (``1.0``, ``1.0.0``) once.

    Of equal versions the smallest spelling is kept, so the result does not
    depend on the input order.
    """
    chosen: dict[object, str] = {}
    for version in versions:
        valid, parsed, _ = _version_key(version)
        key: object = parsed if valid else version
        if key not in chosen or version < chosen[key]:
            chosen[key] = version
    return sorted(chosen.values(), key=_version_key)


def upload_time(mtime_ns: int) -> str:
    """``mtime_ns`` as PEP 700's ISO 8601 UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    moment = _EPOCH + datetime.timedelta(microseconds=mtime_ns // 1000)
    return moment.isoformat(timespec="microseconds") + "Z"  # 3 times strftime's speed


def humanize_size(n: int) -> str:
    """A size for humans: ``512 B``, ``12.3 KiB``, ``4.0 MiB``."""
    if n < 0:
        return "-" + humanize_size(-n)
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in _UNITS:
        value /= 1024
        if round(value, 1) < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def _dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


def _html(title: str, body: Iterable[str], head: Iterable[str] | None = None) -> str:
    """A page; without ``head`` it is a simple repository page (PEP 629)."""
    if head is None:
        head = [f'<meta name="pypi:repository-version" content="{API_VERSION}">']
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        '    <meta charset="utf-8">',
        *(f"    {line}" for line in head),
        f"    <title>{_e(title)}</title>",
        "  </head>",
        "  <body>",
        *(f"    {line}" for line in body),
        "  </body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)


def _anchor(page_file: PageFile) -> str:
    dist = page_file.dist
    attrs = [("href", f"{page_file.url}#sha256={dist.sha256}")]
    if dist.requires_python:
        attrs.append(("data-requires-python", dist.requires_python))
    if dist.metadata_sha256 is not None:
        attrs.append(("data-core-metadata", f"sha256={dist.metadata_sha256}"))
        attrs.append(("data-dist-info-metadata", f"sha256={dist.metadata_sha256}"))
    if page_file.yanked is not None:
        attrs.append(("data-yanked", page_file.yanked))
    rendered = " ".join(f'{name}="{_e(value)}"' for name, value in attrs)
    return f"<a {rendered}>{_e(dist.filename)}</a><br>"


def project_html(project: str, files: Sequence[PageFile]) -> str:
    """The PEP 503 project page: one link per file, sorted by file name."""
    title = f"Links for {project}"
    anchors = [_anchor(page_file) for page_file in sorted(files, key=_file_key)]
    return _html(title, [f"<h1>{_e(title)}</h1>", *anchors])


def _file_json(page_file: PageFile) -> dict[str, Any]:
    dist = page_file.dist
    metadata: dict[str, str] | bool = False
    if dist.metadata_sha256 is not None:
        metadata = {"sha256": dist.metadata_sha256}
    yanked: str | bool = False
    if page_file.yanked is not None:
        yanked = page_file.yanked or True
    data: dict[str, Any] = {
        "filename": dist.filename,
        "url": page_file.url,
        "hashes": {"sha256": dist.sha256},
        "core-metadata": metadata,
        "dist-info-metadata": metadata,
        "yanked": yanked,
        "size": dist.size,
        "upload-time": upload_time(
            dist.mtime_ns if page_file.upload_time_ns is None else page_file.upload_time_ns
        ),
    }
    if dist.requires_python:
        data["requires-python"] = dist.requires_python
    return data


def project_json(project: str, files: Sequence[PageFile]) -> str:
    """The PEP 691 project page with the PEP 700 fields."""
    ordered = sorted(files, key=_file_key)
    return _dumps(
        {
            "meta": {"api-version": API_VERSION},
            "name": canonicalize_name(project),
            "files": [_file_json(page_file) for page_file in ordered],
            "versions": _distinct_versions(f.dist.version for f in ordered),
        }
    )


def _project_names(projects: Iterable[str]) -> list[str]:
    return sorted({canonicalize_name(project) for project in projects})


def root_html(projects: Sequence[str]) -> str:
    """The PEP 503 root page: one link per (normalized) project name."""
    anchors = [
        f'<a href="{_e(quote(name))}/">{_e(name)}</a><br>' for name in _project_names(projects)
    ]
    return _html("Simple index", ["<h1>Simple index</h1>", *anchors])


def root_json(projects: Sequence[str]) -> str:
    """The PEP 691 root page."""
    names = _project_names(projects)
    return _dumps(
        {
            "meta": {"api-version": API_VERSION},
            "projects": [{"name": name} for name in names],
        }
    )
