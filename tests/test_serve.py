"""``privateindex serve``: content negotiation, content types, what is hidden."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from buildout.privateindex.dists.model import DistFile, Kind
from buildout.privateindex.engine.render import (
    HTML_TYPE,
    HTML_V1_TYPE,
    JSON_TYPE,
    PageFile,
    project_html,
    project_json,
    root_html,
    root_json,
)
from buildout.privateindex.errors import IndexStateError
from buildout.privateindex.sharing.serve import make_server, negotiate
from distfactory import make_wheel

PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small index written with the real page renderers."""
    root = tmp_path_factory.mktemp("served")
    project_dir = root / "simple" / "foo"
    project_dir.mkdir(parents=True)
    wheel = make_wheel(project_dir, "foo", "1.0")
    data = wheel.read_bytes()
    metadata = b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n\n"
    (project_dir / (wheel.name + ".metadata")).write_bytes(metadata)
    dist = DistFile(
        filename=wheel.name,
        project="foo",
        name="foo",
        version="1.0",
        kind=Kind.WHEEL,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        mtime_ns=0,
        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
    )
    files = [PageFile(dist, wheel.name)]
    (project_dir / "index.html").write_text(project_html("foo", files))
    (project_dir / "index.json").write_text(project_json("foo", files))
    (project_dir / ".hidden").write_text("secret")
    (root / "simple" / "index.html").write_text(root_html(["foo"]))
    (root / "simple" / "index.json").write_text(root_json(["foo"]))
    (root / "index.html").write_text("<!DOCTYPE html><title>landing</title>")
    (root / ".privateindex").mkdir()
    (root / ".privateindex" / "state.sqlite").write_text("private")
    (root / "unlisted").mkdir()
    (root / "unlisted" / "a.txt").write_text("a")
    # A planted link out of the index (an attacker's "sdist").
    outside = tmp_path_factory.mktemp("outside") / "passwd"
    outside.write_text("root:x:0:0:secret")
    (project_dir / "planted-1.0.tar.gz").symlink_to(outside)
    return root


@pytest.fixture(scope="module")
def port(index: Path) -> Iterator[int]:
    server = make_server(index, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def request(
    port: int, path: str, accept: str | None = None, method: str = "GET"
) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {} if accept is None else {"Accept": accept}
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, HTML_TYPE),
        ("", HTML_TYPE),
        ("*/*", HTML_TYPE),
        ("text/html", HTML_TYPE),
        ("text/*", HTML_TYPE),
        (JSON_TYPE, JSON_TYPE),
        (HTML_V1_TYPE, HTML_V1_TYPE),
        ("application/vnd.pypi.simple.latest+json", JSON_TYPE),
        ("application/vnd.pypi.simple.latest+html", HTML_V1_TYPE),
        (PIP_ACCEPT, JSON_TYPE),
        ("text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.9", JSON_TYPE),
        ("application/vnd.pypi.simple.v1+json;q=0.2, text/html", HTML_TYPE),
        ("application/vnd.pypi.simple.v1+json, text/html", HTML_TYPE),
        ("APPLICATION/VND.PYPI.SIMPLE.V1+JSON", JSON_TYPE),
        ("text/html;q=0, */*;q=0.5", HTML_V1_TYPE),
        ("text/html;q=0, application/vnd.pypi.simple.v1+html;q=0, */*", JSON_TYPE),
        ("*/*;q=0.1, application/vnd.pypi.simple.v1+json", JSON_TYPE),
        ("application/*", HTML_V1_TYPE),
        ("image/png", None),
        ("application/json", None),
        ("application/vnd.pypi.simple.v1+json;q=0", None),
        ("*/*;q=0", None),
        ("*/*;q=0, text/html;q=0.001", HTML_TYPE),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


@pytest.mark.parametrize("path", ["/simple/", "/simple/foo/"])
@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, HTML_TYPE),
        ("*/*", HTML_TYPE),
        ("text/html", HTML_TYPE),
        (JSON_TYPE, JSON_TYPE),
        (HTML_V1_TYPE, HTML_V1_TYPE),
        (PIP_ACCEPT, JSON_TYPE),
        ("text/html;q=0.2, application/vnd.pypi.simple.v1+json;q=0.3", JSON_TYPE),
    ],
)
def test_pages_negotiated(port: int, path: str, accept: str | None, expected: str) -> None:
    response, body = request(port, path, accept)
    assert response.status == 200
    assert response.getheader("Content-Type", "").split(";")[0] == expected
    assert response.getheader("Vary") == "Accept"
    assert int(response.getheader("Content-Length", "-1")) == len(body)
    if expected == JSON_TYPE:
        data = json.loads(body)
        assert data["meta"]["api-version"].startswith("1.")
        assert ("projects" in data) == (path == "/simple/")
    else:
        assert body.startswith(b"<!DOCTYPE html>")
        assert b"foo" in body


@pytest.mark.parametrize("accept", ["image/png", "application/json", f"{JSON_TYPE};q=0"])
def test_not_acceptable(port: int, accept: str) -> None:
    response, body = request(port, "/simple/foo/", accept)
    assert response.status == 406
    assert response.getheader("Vary") == "Accept"
    assert JSON_TYPE.encode() in body


def test_format_query_parameter_overrides_accept(port: int) -> None:
    for value in (quote(JSON_TYPE), JSON_TYPE):  # a bare "+" means a space in a query
        response, body = request(port, f"/simple/foo/?format={value}", "text/html")
        assert response.getheader("Content-Type") == JSON_TYPE
        assert json.loads(body)["name"] == "foo"


def test_head(port: int) -> None:
    response, body = request(port, "/simple/foo/", JSON_TYPE, method="HEAD")
    assert response.status == 200
    assert response.getheader("Content-Type") == JSON_TYPE
    assert int(response.getheader("Content-Length", "0")) > 0
    assert body == b""


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/simple", "/simple/"),
        ("/simple/foo", "/simple/foo/"),
        ("/simple/FOO/", "/simple/foo/"),
        ("/simple/Foo", "/simple/foo/"),
        ("/simple/FOO/index.json", "/simple/foo/index.json"),
    ],
)
def test_redirects(port: int, path: str, location: str) -> None:
    response, _ = request(port, path)
    assert response.status == 301
    assert response.getheader("Location", "").endswith(location)


def test_files_and_content_types(port: int, index: Path) -> None:
    wheel = next((index / "simple" / "foo").glob("*.whl"))
    response, body = request(port, f"/simple/foo/{wheel.name}")
    assert response.status == 200
    assert body == wheel.read_bytes()
    assert response.getheader("Content-Type") == "application/zip"
    response, body = request(port, f"/simple/foo/{wheel.name}.metadata")
    assert response.getheader("Content-Type", "").startswith("text/plain")
    assert body.startswith(b"Metadata-Version")
    response, body = request(port, "/simple/foo/index.json")
    assert response.getheader("Content-Type") == JSON_TYPE
    response, body = request(port, "/")
    assert response.status == 200
    assert b"landing" in body


@pytest.mark.parametrize(
    "path",
    [
        "/.privateindex/",
        "/.privateindex/state.sqlite",
        "/%2eprivateindex/state.sqlite",
        "/simple/../.privateindex/state.sqlite",
        "/simple%2F..%2F.privateindex%2Fstate.sqlite",
        "/simple/%2e%2e/%2Eprivateindex/state.sqlite",
        "/simple%5C..%5C.privateindex%5Cstate.sqlite",
        "/simple/foo/.hidden",
        "/x%00y",
        "/simple/foo/planted-1.0.tar.gz",
        "/unlisted/",  # no index.html: directories are never listed
        "/simple/foo/nope.whl",
        "/simple/nope/",
    ],
)
def test_hidden_and_missing(port: int, path: str) -> None:
    """The private state, dotfiles, NUL bytes and links out of the index: 404,
    however the path is spelt (decided on the decoded path)."""
    response, body = request(port, path)
    assert response.status == 404
    assert b"private" not in body and b"secret" not in body


def test_a_silent_client_is_disconnected(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection that sends nothing does not hold a thread for ever."""
    from buildout.privateindex.sharing.serve import IndexRequestHandler

    assert IndexRequestHandler.timeout == 30
    monkeypatch.setattr(IndexRequestHandler, "timeout", 1)  # read per connection
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server
        assert time.monotonic() - started < 10


def test_requests_are_logged_not_printed(
    port: int, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.INFO, logger="buildout.privateindex.sharing.serve"):
        request(port, "/simple/")
    assert any("GET /simple/" in r.getMessage() for r in caplog.records)
    assert capfd.readouterr().err == ""


def test_refuses_a_directory_that_is_no_index(tmp_path: Path) -> None:
    with pytest.raises(IndexStateError, match="not a package index"):
        make_server(tmp_path, "127.0.0.1", 0)


def test_cli_serve_prints_url_and_stops_on_ctrl_c(index: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "buildout.privateindex", "serve", str(index), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(
            rf"Serving {re.escape(str(index))} at http://127\.0\.0\.1:(\d+)/simple/\n", line
        )
        assert match, line
        _, body = request(int(match.group(1)), "/simple/foo/", JSON_TYPE)
        assert json.loads(body)["name"] == "foo"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    assert "GET /simple/foo/" not in err  # requests are logged only with -v
