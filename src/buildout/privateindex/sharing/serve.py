"""Serve a built index over HTTP, with PEP 691 content negotiation.

A small ``http.server`` for local use and tests, not a production server.
Directory URLs under ``/simple/`` answer with ``index.json`` or
``index.html`` according to the request's ``Accept`` header (q-values
honoured, ``Vary: Accept`` always sent, 406 when nothing acceptable exists).
The private state directory ``/.privateindex/`` and every other dotfile are
never served, and directories are never listed.
"""

from __future__ import annotations

import email.utils
import logging
import os
import shutil
import socket
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

from packaging.utils import canonicalize_name

from buildout.privateindex.engine.fsutil import is_within
from buildout.privateindex.engine.mediatypes import (
    HTML_TYPE,
    HTML_V1_TYPE,
    JSON_TYPE,
    LATEST,
    media_type,
)
from buildout.privateindex.errors import IndexStateError

__all__ = ["make_server", "negotiate", "server_url"]

log = logging.getLogger(__name__)

#: What a simple API directory URL can answer: media type -> page file.
_PAGES: tuple[tuple[str, str], ...] = (
    (HTML_TYPE, "index.html"),
    (HTML_V1_TYPE, "index.html"),
    (JSON_TYPE, "index.json"),
)
#: Media types that name one of ours (PEP 691's ``latest`` aliases).
_ALIASES = LATEST
#: Ties go to the type most clients understand.
_PREFERENCE = {HTML_TYPE: 2, HTML_V1_TYPE: 1, JSON_TYPE: 0}


def _parse_accept(header: str) -> list[tuple[str, float]]:
    """``(media range, q)`` pairs of an Accept header; bad ranges are dropped."""
    ranges: list[tuple[str, float]] = []
    for item in header.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        media = media.lower()
        if media.count("/") != 1:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = -1.0
        if q >= 0:
            ranges.append((_ALIASES.get(media, media), q))
    return ranges


def _specificity(media_range: str, media_type: str) -> int:
    """How specifically ``media_range`` matches ``media_type``; -1: not at all."""
    if media_range == media_type:
        return 2
    if media_range == media_type.split("/")[0] + "/*":
        return 1
    return 0 if media_range == "*/*" else -1


def negotiate(accept: str | None) -> str | None:
    """The media type to answer ``accept`` with, None when nothing is acceptable.

    Each of our types gets the q-value of the most specific range matching it
    (``type/subtype`` over ``type/*`` over ``*/*``); the highest q wins, then
    the more specific match, then HTML.  No (or an empty) header means HTML.
    """
    ranges = _parse_accept(accept or "")
    if not ranges:
        return HTML_TYPE
    best: tuple[float, int, int, str] | None = None
    for kind, _page in _PAGES:
        matches = [(_specificity(rng, kind), q) for rng, q in ranges]
        matches = [(s, q) for s, q in matches if s >= 0]
        if not matches:
            continue
        specificity = max(s for s, _ in matches)
        q = max(q for s, q in matches if s == specificity)
        key = (q, specificity, _PREFERENCE[kind], kind)
        if q > 0 and (best is None or key > best):
            best = key
    return None if best is None else best[3]


class IndexRequestHandler(SimpleHTTPRequestHandler):
    """Serves one index directory; see the module documentation."""

    server_version = "privateindex"
    protocol_version = "HTTP/1.1"  # keep-alive: every response has a Content-Length
    #: Seconds a connection may stay silent before it is closed (slow clients
    #: must not hold a thread for ever).
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s - %s", self.address_string(), format % args)

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return media_type(os.fspath(path))

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")

    def send_head(self) -> BinaryIO | None:
        url = urlsplit(self.path)
        # Decide on the decoded path: "%2F" is a "/" and "%2E" a "." to the
        # file system, so they are to this check too.
        decoded = unquote(url.path)
        segments = decoded.replace("\\", "/").split("/")
        if "\0" in decoded or any(s.startswith(".") for s in segments):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        path = self.translate_path(self.path)
        if not is_within(os.path.realpath(path), os.path.realpath(self.directory)):
            # A symbolic link in the index that leads out of it.
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        simple = segments[1:2] == ["simple"]
        if simple and not os.path.exists(path) and len(segments) >= 3:
            self._redirect_normalized(segments)
            return None
        if not (simple and os.path.isdir(path) and url.path.endswith("/")):
            return super().send_head()
        query = parse_qs(url.query).get("format")
        # A "+" left unencoded in ?format= arrives as a space.
        wanted = query[-1].replace(" ", "+") if query else self.headers.get("Accept")
        media_type = negotiate(wanted)
        if media_type is None:
            self.send_response(HTTPStatus.NOT_ACCEPTABLE)
            body = ("Acceptable: " + ", ".join(t for t, _ in _PAGES) + "\n").encode()
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Vary", "Accept")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return None
        page = os.path.join(path, dict(_PAGES)[media_type])
        try:
            stream = open(page, "rb")  # noqa: SIM115 (closed by the caller)
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        stat = os.fstat(stream.fileno())
        self.send_response(HTTPStatus.OK)
        charset = "" if media_type == JSON_TYPE else "; charset=utf-8"
        self.send_header("Content-Type", media_type + charset)
        self.send_header("Content-Length", str(stat.st_size))
        self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
        self.send_header("Vary", "Accept")
        self.end_headers()
        return stream

    def _redirect_normalized(self, segments: list[str]) -> None:
        """PEP 503: ``/simple/Foo_Bar/`` redirects to ``/simple/foo-bar/``."""
        name = canonicalize_name(segments[2])
        if name != segments[2] and os.path.isdir(os.path.join(self.directory, "simple", name)):
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            rest = segments[3:] or [""]  # a project URL always ends with a slash
            self.send_header("Location", "/simple/" + quote("/".join([name, *rest])))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")

    def copyfile(self, source: BinaryIO, outputfile: BinaryIO) -> None:  # type: ignore[override]
        try:
            shutil.copyfileobj(source, outputfile, 1024 * 1024)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away during %s", self.path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def make_server(
    directory: str | os.PathLike[str], bind: str = "127.0.0.1", port: int = 8000
) -> ThreadingHTTPServer:
    """A server (not yet serving) for the index in ``directory``; port 0 picks one."""
    root = os.path.abspath(directory)
    if not os.path.isfile(os.path.join(root, "simple", "index.html")):
        raise IndexStateError(root, "no simple/index.html here: not a package index")
    handler = partial(IndexRequestHandler, directory=root)
    server_class = _Server6 if ":" in bind else _Server
    return server_class((bind, port), handler)


def server_url(server: ThreadingHTTPServer) -> str:
    """The ``/simple/`` URL of ``server``, usable from this machine."""
    host, port = str(server.server_address[0]), server.server_address[1]
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/simple/"
