"""Where a private index lives, and the credentials needed to read it.

An index location is what a user writes in ``private-index =``: a directory
(the index root holding ``simple/``, or ``simple/`` itself), a ``file://``
URL, or an ``http(s)://`` URL that may carry ``user:password@``.  This module
turns it into a credential-free URL for everything that is logged or stored,
and keeps the credentials apart.  It never imports zc.buildout.
"""

from __future__ import annotations

import configparser
import netrc
import os
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from buildout.privateindex.errors import PrivateIndexError

REDACTED = "***"
#: The ``user[:password]@`` of a URL: everything between ``://`` and ``@`` in the
#: authority (no ``/``, ``@`` or white space).
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


class LocationError(PrivateIndexError, ValueError):
    """A ``private-index`` value that names no usable index."""

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"{reason}: {redact(value)!r}")


@dataclass(frozen=True)
class Credentials:
    """A user name and password for HTTP basic auth; never printed."""

    username: str
    password: str = field(repr=False)
    origin: str = "url"

    def __str__(self) -> str:
        return f"{REDACTED} (from {self.origin})"


@dataclass(frozen=True)
class IndexLocation:
    """A private index, as buildout, pip and the logs must each see it.

    ``url`` never carries credentials and always ends with ``/``; ``path`` is
    the local ``simple/`` directory for a local index, else None.
    """

    url: str
    path: Path | None = None
    credentials: Credentials | None = None

    @property
    def is_local(self) -> bool:
        return self.path is not None

    @property
    def host(self) -> str | None:
        """The host name (and port) of a remote index, None for a local one."""
        if self.is_local:
            return None
        return urllib.parse.urlsplit(self.url).netloc

    def exists(self) -> bool:
        """Whether the index can be used now (a remote one is assumed to)."""
        if self.path is None:
            return True
        return (self.path / "index.html").is_file()

    def url_with_credentials(self) -> str:
        """The URL with ``user:password@`` for pip's environment; never log it."""
        if self.credentials is None:
            return self.url
        parts = urllib.parse.urlsplit(self.url)
        userinfo = ":".join(
            urllib.parse.quote(piece, safe="")
            for piece in (self.credentials.username, self.credentials.password)
        )
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))

    def with_credentials(self, credentials: Credentials | None) -> IndexLocation:
        return IndexLocation(self.url, self.path, credentials)


def basic_auth_header(credentials: Credentials) -> str:
    """The ``Authorization`` header value of HTTP basic auth (latin-1, as pip sends it)."""
    import base64

    pair = f"{credentials.username}:{credentials.password}".encode("latin-1", "replace")
    return "Basic " + base64.b64encode(pair).decode("ascii")


def authorized_request(
    url: str, credentials: Credentials | None, headers: dict[str, str] | None = None
) -> urllib.request.Request:
    """A ``urllib`` request for ``url`` carrying ``credentials`` (if any) for it alone.

    The ``Authorization`` header is an unredirected one: urllib never copies it
    onto a redirected request, so the password never follows a redirect to
    another host.
    """
    request = urllib.request.Request(url, headers=headers or {})
    if credentials is not None:
        request.add_unredirected_header("Authorization", basic_auth_header(credentials))
    return request


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of ``url`` (default ports filled in): who receives a request."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def redact(text: str) -> str:
    """``text`` with the user info of every URL in it replaced by ``***``.

    >>> redact("see https://joe:secret@example.com/simple/ now")
    'see https://***@example.com/simple/ now'
    """
    return _USERINFO.sub(rf"\1{REDACTED}@", text)


def split_credentials(url: str) -> tuple[str, Credentials | None]:
    """Split ``user:password@`` off an http(s) URL (percent-decoding both)."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    creds = Credentials(urllib.parse.unquote(user), urllib.parse.unquote(password))
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), creds


def _simple_dir(path: Path) -> Path:
    """The ``simple/`` directory of an index given by its root or by ``simple/``."""
    if path.name == "simple":
        return path
    if (path / "index.html").is_file() and not (path / "simple").is_dir():
        return path  # a simple/ directory under another name
    return path / "simple"


def parse_location(value: str, base: str | os.PathLike[str] = ".") -> IndexLocation:
    """Parse a ``private-index`` value; relative paths are taken from ``base``.

    A local directory may be the index root (holding ``simple/``) or the
    ``simple/`` directory itself; it need not exist yet.
    """
    value = value.strip()
    if not value:
        raise LocationError(value, "empty private index location")
    scheme = urllib.parse.urlsplit(value).scheme.lower()
    if scheme in ("http", "https"):
        url, creds = split_credentials(value)
        if not urllib.parse.urlsplit(url).hostname:
            raise LocationError(value, "no host in private index URL")
        return IndexLocation(url.rstrip("/") + "/", None, creds)
    if scheme == "file":
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(value).path))
    elif scheme and len(scheme) > 1:
        raise LocationError(value, f"unsupported URL scheme {scheme!r} for a private index")
    else:
        path = Path(base, os.path.expanduser(value))
    simple = _simple_dir(Path(os.path.abspath(path)))
    return IndexLocation(simple.as_uri().rstrip("/") + "/", simple)


def netrc_credentials(host: str, netrc_file: str | None = None) -> Credentials | None:
    """Credentials for ``host`` (name, without port) from ``~/.netrc``, as pip reads them."""
    path = netrc_file or os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
    try:
        auth = netrc.netrc(path).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    if not auth or not auth[0]:
        return None
    return Credentials(auth[0], auth[2] or "", origin="~/.netrc")


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme)


def repository_matches(repository: str, url: str) -> bool:
    """Whether ``url`` lies in ``repository`` (a ``~/.pypirc`` ``repository``).

    Same scheme, host and port (a missing port is the scheme's default), and
    the repository's path is a whole-segment prefix of the URL's: a bare
    ``startswith``, as zc.buildout's finder uses, would send the credentials
    of ``https://h`` to ``https://h.evil`` and of ``/simple`` to ``/simple-x``.

    >>> repository_matches("https://h/simple", "https://h/simple/foo/")
    True
    >>> repository_matches("https://h", "https://h.evil/simple/")
    False
    >>> repository_matches("https://h:443/", "https://H/simple/")
    True
    """
    try:
        repo, target = urllib.parse.urlsplit(repository), urllib.parse.urlsplit(url)
        repo_port = repo.port or _default_port(repo.scheme.lower())
        target_port = target.port or _default_port(target.scheme.lower())
    except ValueError:  # a port that is no number
        return False
    if (repo.scheme.lower(), repo.hostname, repo_port) != (
        target.scheme.lower(),
        target.hostname,
        target_port,
    ) or not repo.hostname:
        return False
    prefix = repo.path.rstrip("/")
    return target.path == prefix or target.path.startswith(prefix + "/")


def pypirc_credentials(url: str, pypirc_file: str | None = None) -> Credentials | None:
    """Credentials of the ``~/.pypirc`` section whose ``repository`` holds ``url``
    (see :func:`repository_matches`)."""
    path = pypirc_file or os.path.expanduser("~/.pypirc")
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return None
    for section in parser.sections():
        repository = parser.get(section, "repository", fallback="").strip()
        username = parser.get(section, "username", fallback="").strip()
        if repository and username and repository_matches(repository, url):
            password = parser.get(section, "password", fallback="").strip()
            return Credentials(username, password, origin="~/.pypirc")
    return None


def find_credentials(location: IndexLocation) -> Credentials | None:
    """The credentials to read ``location``: from its URL, ``~/.netrc`` or ``~/.pypirc``."""
    if location.credentials is not None or location.is_local:
        return location.credentials
    hostname = urllib.parse.urlsplit(location.url).hostname or ""
    return netrc_credentials(hostname) or pypirc_credentials(location.url)
