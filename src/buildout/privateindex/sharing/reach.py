"""Can this index be used now?  One probe, one clear cause.

A pinned run that cannot reach its index must stop before anything is
installed, naming the index and why: no such directory, connection refused,
name not resolved, TLS failure, timeout, or the HTTP status.  The probe reads
the root page of an http(s) index once, sends credentials to the index's own
host only, and follows no redirect to another host.  It never imports
zc.buildout.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
import urllib.request
from typing import IO, Any

from buildout.privateindex.errors import PrivateIndexError
from buildout.privateindex.sharing.location import IndexLocation, authorized_request, origin, redact

TIMEOUT = 15.0


class IndexUnavailableError(PrivateIndexError, OSError):
    """The private index cannot be used: ``cause`` says why."""

    def __init__(self, url: str, cause: str) -> None:
        self.url = redact(url)
        self.cause = cause
        super().__init__(f"The private index {self.url} cannot be used: {cause}.")


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects within the index's scheme, host and port only.

    The credentials are an unredirected header, which urllib never copies to
    a redirect; they are put back on a redirect within the same origin (a
    server's ``/simple`` to ``/simple/``), and a redirect elsewhere is an
    error before anything is sent there.
    """

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if origin(newurl) != origin(req.full_url):
            raise urllib.error.HTTPError(
                req.full_url, code, f"redirects to another host: {redact(newurl)}", headers, fp
            )
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        auth = req.unredirected_hdrs.get("Authorization")
        if new is not None and auth is not None:
            new.add_unredirected_header("Authorization", auth)
        return new


def check_index(location: IndexLocation, timeout: float = TIMEOUT) -> None:
    """Raise :class:`IndexUnavailableError` unless ``location`` can serve a run."""
    if location.path is not None:
        if not location.path.is_dir():
            raise IndexUnavailableError(location.url, f"no such directory: {location.path}")
        if not (location.path / "index.html").is_file():
            raise IndexUnavailableError(
                location.url, f"{location.path} holds no index (no index.html)"
            )
        return
    request = authorized_request(location.url, location.credentials, {"Accept": "text/html"})
    opener = urllib.request.build_opener(_SameOriginRedirects())
    try:
        opener.open(request, timeout=timeout).close()
    except urllib.error.HTTPError as exc:
        raise IndexUnavailableError(location.url, _http_cause(exc, location)) from None
    except (OSError, http.client.HTTPException) as exc:
        raise IndexUnavailableError(location.url, network_cause(exc, timeout)) from None


def _http_cause(exc: urllib.error.HTTPError, location: IndexLocation) -> str:
    creds = location.credentials
    if exc.code in (401, 403):
        if creds is None:
            return (
                f"it asks for credentials (HTTP {exc.code}); put them in the URL, "
                f"~/.netrc or ~/.pypirc"
            )
        return f"it refused the credentials from {creds.origin} (HTTP {exc.code})"
    if str(exc.reason).startswith("redirects to another host"):
        return str(exc.reason)
    return f"HTTP {exc.code} {exc.reason}".rstrip()


def network_cause(exc: BaseException, timeout: float = TIMEOUT) -> str:
    """A short, user-facing cause for a failed connection."""
    reason: Any = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"name not resolved ({reason.strerror or reason})"
    if isinstance(reason, ssl.SSLError):
        return f"TLS failure ({getattr(reason, 'reason', None) or reason})"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"timed out after {timeout:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return redact(str(reason)) or type(reason).__name__
