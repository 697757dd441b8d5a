"""Clients of an index served by a real web server, shared by test_nginx and test_apache.

Plain HTTP requests (urllib, and http.client for paths sent exactly as
written) with basic auth, and pip and uv commands that install from the
index, isolated from the machine's configuration.
"""

from __future__ import annotations

import base64
import html
import http.client
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

from buildout.privateindex.engine.build import build_index
from distfactory import make_sdist, make_tinybackend_wheel, make_wheel
from webserver import WebServer

USER = "team"
# Characters that must be percent-encoded in a URL.  ASCII only: pip (requests)
# sends Basic credentials as latin-1, the servers compare bytes.
PASSWORD = "s3cr3t:p@ss/%#?+"
SECRETS = (
    PASSWORD,
    quote(PASSWORD, safe=""),
    base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
)
#: A wrong password, as unusual.
WRONG = "wr0ng:p@ss"

JSON = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = f"{JSON}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
UV_ACCEPT = f"{JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
UV = Path(sys.executable).parent / "uv"
PRIVATE_STATE = b"SQLite format 3\x00 private"


def build_sample_index(sources: Path, output: Path) -> Path:
    """An index of a wheel (foo), a .tar.gz and a .zip sdist (bar, baz) built with
    tinybackend (a wheel in the index too), in ``output``."""
    make_wheel(sources, "foo", "1.0", requires_python=">=3.8")
    make_sdist(sources, "bar", "2.0", "tar.gz")
    make_sdist(sources, "baz", "3.0", "zip")
    make_tinybackend_wheel(sources)
    report = build_index([sources], output)
    assert report.ok and report.files == 4, report
    return output


def auth_header(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())


def get(
    server: WebServer,
    path: str,
    accept: str | None = None,
    auth: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` with urllib; (status, lower-cased headers, body), errors included.

    The body is as sent: urllib decodes no ``Content-Encoding``.
    """
    request = urllib.request.Request(server.url + path, headers=dict(headers or {}))
    if accept is not None:
        request.add_header("Accept", accept)
    request.add_header("Authorization", auth or auth_header())
    try:
        with OPENER.open(request, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def raw_status(
    server: WebServer, path: str, method: str = "GET", accept: str | None = None
) -> tuple[int, bytes]:
    """Request a path exactly as written (no client-side normalization)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": auth_header()}
    if accept is not None:
        headers["Accept"] = accept
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def links(body: bytes) -> list[str]:
    """The ``href`` of every link on one of the index's own pages."""
    return [html.unescape(href) for href in re.findall(r'<a href="([^"]*)"', body.decode())]


def follow_people_pages(server: WebServer) -> dict[str, bytes]:
    """The project pages for people, reached through ``server`` by following
    the landing page's links, by path; each page's links to files are followed
    too and must answer 200 with the file's bytes."""
    landing = f"{server.prefix}/"
    status, _, body = get(server, landing)
    assert status == 200, status
    pages: dict[str, bytes] = {}
    for href in links(body):
        path = urlsplit(urljoin(landing, href)).path
        if "/projects/" not in path:
            continue
        status, headers, page = get(server, path)
        assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8"), path
        pages[path] = page
        for file_href in links(page):
            file_path = urlsplit(urljoin(path, file_href)).path
            if not file_path.endswith("/"):  # a file, not the simple page
                relative = file_path.removeprefix(server.prefix + "/")
                status, _, data = get(server, file_path)
                assert (status, data) == (200, (server.root / relative).read_bytes()), file_path
    return pages


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def without_proxies(env: dict[str, str]) -> dict[str, str]:
    env = dict(env, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(var, None)
    return env


def run(
    cmd: list[str], env: dict[str, str], timeout: float
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``cmd`` (no proxy); the finished process and how long it took."""
    start = time.monotonic()
    proc = subprocess.run(
        cmd,
        env=without_proxies(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return proc, time.monotonic() - start


def pip_command(index_url: str, target: Path, *reqs: str) -> list[str]:
    """pip installing ``reqs`` (no dependencies, no cache) into ``target``."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-input",
        "--no-cache-dir",
        "--no-deps",
        "--target",
        str(target),
        "--index-url",
        index_url,
        *reqs,
    ]


def uv_command(index_url: str, target: Path, *reqs: str) -> list[str]:
    """uv installing ``reqs`` (no dependencies) into ``target`` for this Python."""
    assert UV.is_file(), f"uv is part of the development environment: {UV}"
    return [
        str(UV),
        "pip",
        "install",
        "--no-deps",
        "--python",
        sys.executable,
        "--target",
        str(target),
        "--index-url",
        index_url,
        *reqs,
    ]


def uv_env(env: dict[str, str], tmp: Path) -> dict[str, str]:
    """``env`` for uv: its own empty cache in ``tmp``, no configuration, no downloads."""
    return dict(
        env, UV_CACHE_DIR=str(tmp / "uv-cache"), UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never"
    )


def pip_install(
    server: WebServer, env: dict[str, str], target: Path, password: str, *reqs: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    return run(pip_command(server.index_url(USER, password), target, *reqs), env, timeout=180)


def uv_install(
    server: WebServer, env: dict[str, str], tmp: Path, password: str, *reqs: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    cmd = uv_command(server.index_url(USER, password), tmp / "target", *reqs)
    return run(cmd, uv_env(env, tmp), timeout=180)
