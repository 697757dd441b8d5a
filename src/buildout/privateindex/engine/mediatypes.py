"""The one table of media types: pages (PEP 691) and the files an index serves.

``serve``, ``publish`` and the pages all take their media types from here, so
a file goes out with the same Content-Type however it is served.
"""

from __future__ import annotations

import mimetypes

__all__ = ["HTML_TYPE", "HTML_V1_TYPE", "JSON_TYPE", "LATEST", "media_type"]

#: Media types of the simple repository API (PEP 691).
HTML_TYPE = "text/html"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_V1_TYPE = "application/vnd.pypi.simple.v1+html"
#: PEP 691's "latest" aliases, and the version they stand for.
LATEST = {
    "application/vnd.pypi.simple.latest+json": JSON_TYPE,
    "application/vnd.pypi.simple.latest+html": HTML_V1_TYPE,
}

#: By file name ending, longest first where they overlap (``.tar.gz``, ``.gz``).
_BY_SUFFIX = {
    ".whl": "application/zip",
    ".egg": "application/zip",
    ".zip": "application/zip",
    ".tar.gz": "application/gzip",
    ".tgz": "application/gzip",
    ".tar.bz2": "application/x-bzip2",
    ".tar.xz": "application/x-xz",
    ".metadata": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".json": JSON_TYPE,
}


def media_type(name: str) -> str:
    """The Content-Type of a file of the index, by its name.

    >>> media_type("foo-1.0.tar.gz"), media_type("index.json")
    ('application/gzip', 'application/vnd.pypi.simple.v1+json')
    >>> media_type("foo-1.0-py3-none-any.whl.metadata")
    'text/plain; charset=utf-8'
    """
    lowered = name.lower()
    for suffix, kind in _BY_SUFFIX.items():
        if lowered.endswith(suffix):
            return kind
    return mimetypes.guess_type(lowered)[0] or "application/octet-stream"
