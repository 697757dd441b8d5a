"""A built index served by a real nginx with docs/nginx.conf: auth, PEP 691, pip, uv.

nginx must be installed (``.ci/install-system-deps`` installs it): without it
these tests fail, they do not skip.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from indexclient import (
    JSON,
    PASSWORD,
    PIP_ACCEPT,
    PRIVATE_STATE,
    USER,
    UV_ACCEPT,
    WRONG,
    assert_no_secret,
    auth_header,
    build_sample_index,
    follow_people_pages,
    get,
    pip_install,
    raw_status,
    uv_install,
)
from nginx import NginxError, NginxServer, render_snippet, run_nginx, strip_comments


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_index(tmp_path_factory.mktemp("sources"), tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="module")
def server(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    with run_nginx(
        index_dir, tmp_path_factory.mktemp("nginx"), {USER: PASSWORD, "other": "x"}
    ) as srv:
        yield srv


# -- content negotiation -------------------------------------------------------------


@pytest.mark.parametrize("page", ["/simple/", "/simple/foo/", "/simple/bar/"])
@pytest.mark.parametrize(
    "accept",
    [
        JSON,
        PIP_ACCEPT,
        UV_ACCEPT,
        "application/vnd.pypi.simple.latest+json",
        "text/html;q=0.5, " + JSON,
    ],
)
def test_json_when_asked(server: NginxServer, index_dir: Path, page: str, accept: str) -> None:
    status, headers, body = get(server, page, accept)
    assert status == 200
    assert headers["content-type"] == JSON
    assert "Accept" in headers["vary"]
    assert body == (index_dir / page.strip("/") / "index.json").read_bytes()
    assert json.loads(body)["meta"]["api-version"] == "1.1"


@pytest.mark.parametrize("page", ["/simple/", "/simple/foo/"])
@pytest.mark.parametrize(
    "accept",
    [None, "text/html", "*/*", "application/vnd.pypi.simple.v1+html", f"{JSON};q=0, text/html"],
)
def test_html_otherwise(
    server: NginxServer, index_dir: Path, page: str, accept: str | None
) -> None:
    status, headers, body = get(server, page, accept)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert "Accept" in headers["vary"]
    assert body == (index_dir / page.strip("/") / "index.html").read_bytes()


def test_project_pages_link_the_files(server: NginxServer) -> None:
    _, _, body = get(server, "/simple/foo/", JSON)
    files = {f["filename"]: f for f in json.loads(body)["files"]}
    assert set(files) == {"foo-1.0-py3-none-any.whl"}
    _, _, html = get(server, "/simple/foo/", "text/html")
    assert (
        b"foo-1.0-py3-none-any.whl#sha256="
        + files["foo-1.0-py3-none-any.whl"]["hashes"]["sha256"].encode()
        in html
    )
    _, _, root = get(server, "/simple/", JSON)
    assert {p["name"] for p in json.loads(root)["projects"]} == {"bar", "baz", "foo", "tinybackend"}


def test_project_without_slash_redirects_relatively(server: NginxServer) -> None:
    status, headers, _ = get(server, "/simple/foo")
    assert status == 301
    assert headers["location"] == "/simple/foo/"


def test_landing_page_needs_auth_too(server: NginxServer, index_dir: Path) -> None:
    status, headers, body = get(server, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body == (index_dir / "index.html").read_bytes()
    assert get(server, "/", auth=auth_header(password="nope"))[0] == 401


def test_pages_for_people_are_served_with_the_same_auth(
    server: NginxServer, index_dir: Path
) -> None:
    pages = follow_people_pages(server)
    assert sorted(pages) == [f"/projects/{p}.html" for p in ("bar", "baz", "foo", "tinybackend")]
    assert pages["/projects/foo.html"] == (index_dir / "projects" / "foo.html").read_bytes()
    assert b"foo-1.0-py3-none-any.whl" in pages["/projects/foo.html"]
    assert get(server, "/projects/foo.html", auth=auth_header(password="nope"))[0] == 401
    assert raw_status(server, "/projects/")[0] in (403, 404)  # never listed
    assert raw_status(server, "/projects/foo.html", accept=JSON)[0] == 200  # no negotiation


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("foo-1.0-py3-none-any.whl", "application/zip"),
        ("foo-1.0-py3-none-any.whl.metadata", "text/plain"),
        ("bar-2.0.tar.gz", "application/gzip"),
        ("baz-3.0.zip", "application/zip"),
    ],
)
def test_files_served_with_their_type(
    server: NginxServer, index_dir: Path, filename: str, content_type: str
) -> None:
    project = filename.split("-")[0]
    status, headers, body = get(server, f"/simple/{project}/{filename}")
    assert status == 200
    assert headers["content-type"].split(";")[0] == content_type
    assert "content-encoding" not in headers
    assert body == (index_dir / "simple" / project / filename).read_bytes()


def test_metadata_matches_the_advertised_hash(server: NginxServer) -> None:
    _, _, body = get(server, "/simple/foo/", JSON)
    (entry,) = json.loads(body)["files"]
    _, _, metadata = get(server, "/simple/foo/" + entry["url"].rsplit("/", 1)[-1] + ".metadata")
    assert hashlib.sha256(metadata).hexdigest() == entry["core-metadata"]["sha256"]
    assert b"Name: foo" in metadata


# -- authentication and private state ------------------------------------------------


@pytest.mark.parametrize(
    "auth", [None, auth_header(password="wrong"), auth_header(user="nobody"), "Basic !!"]
)
def test_bad_or_missing_credentials_get_401_quickly(server: NginxServer, auth: str | None) -> None:
    for path in ("/simple/", "/simple/foo/", "/simple/foo/foo-1.0-py3-none-any.whl"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        start = time.monotonic()
        conn.request("GET", path, headers={"Authorization": auth} if auth else {})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert time.monotonic() - start < 5
        assert response.status == 401
        assert response.getheader("WWW-Authenticate") == 'Basic realm="Private package index"'
        assert b"foo-1.0" not in body


def test_every_user_of_the_password_file_gets_in(server: NginxServer) -> None:
    assert get(server, "/simple/", auth=auth_header("other", "x"))[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/.privateindex/state.sqlite",
        "/.privateindex/",
        "/%2Eprivateindex/state.sqlite",
        "/simple/../.privateindex/state.sqlite",
        "/simple/%2E%2E/.privateindex/state.sqlite",
        "/simple//../.privateindex/state.sqlite",
        "/projects/../.privateindex/state.sqlite",
        "/projects/%2E%2E/.privateindex/state.sqlite",
        "/simple/foo/.hidden",
    ],
)
def test_private_state_and_dotfiles_never_served(
    server: NginxServer, index_dir: Path, path: str
) -> None:
    (index_dir / "simple" / "foo" / ".hidden").write_bytes(PRIVATE_STATE)
    state = index_dir / ".privateindex" / "state.sqlite"
    assert state.is_file(), "the builder keeps its state in .privateindex/state.sqlite"
    status, body = raw_status(server, path)
    assert status in (400, 403, 404)
    assert state.read_bytes()[:16] not in body
    assert PRIVATE_STATE not in body


def test_snippet_placeholders_are_replaced(index_dir: Path, tmp_path: Path) -> None:
    rendered = strip_comments(render_snippet(index_dir, 1234, tmp_path / "pw"))
    assert "listen 127.0.0.1:1234;" in rendered and "listen 80;" not in rendered
    assert f'root "{index_dir}";' in rendered and "/srv/privateindex" not in rendered
    assert f'auth_basic_user_file "{tmp_path / "pw"}";' in rendered
    assert "/etc/nginx/privateindex.htpasswd" not in rendered
    relocated = strip_comments(render_snippet(index_dir, 1234, None, "/pypi"))
    assert "auth_basic off;" in relocated and "auth_basic_user_file" not in relocated
    assert f'location /pypi/simple/ {{\n        alias "{index_dir}/simple/";' in relocated


# -- real installers -----------------------------------------------------------------


def test_pip_installs_wheel_and_isolated_sdist_build(
    server: NginxServer, pip_env: dict[str, str], tmp_path: Path
) -> None:
    proc, _ = pip_install(server, pip_env, tmp_path, PASSWORD, "foo", "bar", "baz")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert (tmp_path / "foo" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    assert (tmp_path / "bar" / "__init__.py").read_text() == "VERSION = '2.0'\n"
    assert (tmp_path / "baz" / "__init__.py").read_text() == "VERSION = '3.0'\n"
    assert_no_secret(output)
    # The sdists' build backend came from the same, authenticated index.
    assert (
        "GET /simple/tinybackend/tinybackend-1.0-py3-none-any.whl" in server.access_log.read_text()
    )


def test_pip_with_wrong_password_fails_quickly_and_clearly(
    server: NginxServer, pip_env: dict[str, str], tmp_path: Path
) -> None:
    wrong = WRONG
    proc, elapsed = pip_install(server, pip_env, tmp_path, wrong, "foo")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert elapsed < 30
    assert "401" in output
    assert "credentials" in output.lower()
    assert wrong not in output and quote(wrong, safe="") not in output
    assert_no_secret(output)


def test_uv_installs_wheel_and_isolated_sdist_build(
    server: NginxServer, pip_env: dict[str, str], tmp_path: Path
) -> None:
    proc, _ = uv_install(server, pip_env, tmp_path, PASSWORD, "foo", "bar", "baz")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    target = tmp_path / "target"
    assert (target / "foo" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    assert (target / "bar" / "__init__.py").read_text() == "VERSION = '2.0'\n"
    assert (target / "baz" / "__init__.py").read_text() == "VERSION = '3.0'\n"
    assert_no_secret(output)


def test_uv_with_wrong_password_fails_quickly(
    server: NginxServer, pip_env: dict[str, str], tmp_path: Path
) -> None:
    wrong = WRONG
    proc, elapsed = uv_install(server, pip_env, tmp_path, wrong, "foo")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert elapsed < 30
    assert "401 Unauthorized" in output
    assert wrong not in output and quote(wrong, safe="") not in output
    assert_no_secret(output)


def test_password_in_no_log(server: NginxServer, pip_env: dict[str, str], tmp_path: Path) -> None:
    get(server, "/simple/foo/", JSON)
    get(server, "/simple/foo/", auth=auth_header(password=PASSWORD + "x"))
    proc, _ = pip_install(server, pip_env, tmp_path, PASSWORD, "foo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    logs = server.logs()
    assert f" {USER} " in logs and "password mismatch" in logs
    assert_no_secret(logs)
    assert PASSWORD + "x" not in logs


# -- relocated under a path prefix ---------------------------------------------------


@pytest.fixture(scope="module")
def prefixed(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    tmp = tmp_path_factory.mktemp("nginx-prefix")
    with run_nginx(index_dir, tmp, {USER: PASSWORD}, prefix="/pypi") as srv:
        yield srv


def test_prefix_negotiates_and_hides_private_state(prefixed: NginxServer, index_dir: Path) -> None:
    status, headers, body = get(prefixed, "/pypi/simple/foo/", PIP_ACCEPT)
    assert (status, headers["content-type"]) == (200, JSON)
    assert body == (index_dir / "simple" / "foo" / "index.json").read_bytes()
    status, headers, body = get(prefixed, "/pypi/simple/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body == (index_dir / "simple" / "index.html").read_bytes()
    assert get(prefixed, "/pypi/")[2] == (index_dir / "index.html").read_bytes()
    assert len(follow_people_pages(prefixed)) == 4
    status, headers, _ = get(prefixed, "/pypi/simple/foo")
    assert (status, headers["location"]) == (301, "/pypi/simple/foo/")
    assert raw_status(prefixed, "/pypi/.privateindex/state.sqlite")[0] in (403, 404)
    assert get(prefixed, "/pypi/simple/", auth=auth_header(password="nope"))[0] == 401


def test_pip_installs_from_a_prefix(
    prefixed: NginxServer, pip_env: dict[str, str], tmp_path: Path
) -> None:
    proc, _ = pip_install(prefixed, pip_env, tmp_path, PASSWORD, "foo", "bar")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert (tmp_path / "bar" / "__init__.py").read_text() == "VERSION = '2.0'\n"
    assert_no_secret(output)


# -- the helper itself ---------------------------------------------------------------


def test_documented_openssl_password_entry_works(server: NginxServer) -> None:
    """docs/nginx.conf's `openssl passwd -6` entry is one nginx accepts."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is missing: run .ci/install-system-deps"
    hashed = subprocess.run(
        [openssl, "passwd", "-6", "-stdin"], input="0pen:ssl", capture_output=True, text=True
    ).stdout.strip()
    assert hashed.startswith("$6$")
    user_file = server.tmp / "htpasswd"
    saved = user_file.read_text()
    try:
        user_file.write_text(saved + f"ops:{hashed}\n")  # nginx reads it at each request
        assert get(server, "/simple/", auth=auth_header("ops", "0pen:ssl"))[0] == 200
        assert get(server, "/simple/", auth=auth_header("ops", "0pen:ss"))[0] == 401
    finally:
        user_file.write_text(saved)


def test_run_nginx_without_users_and_teardown(index_dir: Path, tmp_path: Path) -> None:
    with run_nginx(index_dir, tmp_path) as srv:
        assert srv.process is not None
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        conn.request("GET", "/simple/foo/", headers={"Accept": JSON})
        response = conn.getresponse()
        assert (response.status, response.getheader("Content-Type")) == (200, JSON)
        response.read()
        conn.close()
        assert raw_status(srv, "/.privateindex/state.sqlite")[0] in (403, 404)
    assert srv.process.returncode is not None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()


def test_missing_nginx_fails_loudly(
    index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(NginxError, match="install-system-deps"), run_nginx(index_dir, tmp_path):
        pass
