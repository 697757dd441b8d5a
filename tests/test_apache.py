"""A built index served by a real Apache httpd with docs/apache.conf.

Basic auth, PEP 691 negotiation, the private state refused however its path
is spelt, archives without ``Content-Encoding`` even under a server-level
``AddEncoding x-gzip .gz .tgz``, and pip, uv and a consumer buildout
installing through it from a network namespace holding nothing but loopback
(where ``unshare -n`` is permitted, as for root) with empty caches.

Apache must be installed (``.ci/install-system-deps`` installs it): without
it these tests fail, they do not skip.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import apache
from apache import ApacheError, render_snippet, run_apache
from buildout.privateindex.engine.build import build_index
from buildoutenv import CONSUMER, SampleBuildout, can_cut_network, empty_caches, offline_command
from distfactory import make_sdist, make_tinybackend_wheel, make_wheel
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
    pip_command,
    pip_install,
    raw_status,
    uv_command,
    uv_install,
    without_proxies,
)
from webserver import WebServer, strip_comments

OFFLINE = can_cut_network()
NETNS_CONSUMER = Path(__file__).parent / "netns_consumer.py"
#: pip's own Accept-Encoding: a server must not answer it with an encoded archive.
PIP_ACCEPT_ENCODING = {"Accept-Encoding": "gzip, deflate"}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_index(tmp_path_factory.mktemp("sources"), tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="module")
def server(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with run_apache(
        index_dir, tmp_path_factory.mktemp("apache"), {USER: PASSWORD, "other": "x"}
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def encoding(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """The same, under a server configuration with ``AddEncoding x-gzip .gz .tgz``."""
    tmp = tmp_path_factory.mktemp("apache-addencoding")
    with run_apache(index_dir, tmp, {USER: PASSWORD}, add_encoding=True) as srv:
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
        JSON.upper(),
    ],
)
def test_json_when_asked(server: WebServer, index_dir: Path, page: str, accept: str) -> None:
    status, headers, body = get(server, page, accept)
    assert status == 200
    assert headers["content-type"] == JSON
    assert "Accept" in headers["vary"]
    assert body == (index_dir / page.strip("/") / "index.json").read_bytes()
    assert json.loads(body)["meta"]["api-version"] == "1.1"


@pytest.mark.parametrize("page", ["/simple/", "/simple/foo/"])
@pytest.mark.parametrize(
    "accept",
    [
        None,
        "text/html",
        "*/*",
        "application/vnd.pypi.simple.v1+html",
        f"{JSON};q=0, text/html",
        f"{JSON} ; q=0.0, text/html",
        "application/json",
    ],
)
def test_html_otherwise(server: WebServer, index_dir: Path, page: str, accept: str | None) -> None:
    status, headers, body = get(server, page, accept)
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "Accept" in headers["vary"]
    assert body == (index_dir / page.strip("/") / "index.html").read_bytes()


def test_index_json_by_name_too(server: WebServer, index_dir: Path) -> None:
    status, headers, body = get(server, "/simple/foo/index.json")
    assert (status, headers["content-type"]) == (200, JSON)
    assert body == (index_dir / "simple" / "foo" / "index.json").read_bytes()


def test_project_pages_link_the_files(server: WebServer) -> None:
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


def test_project_without_slash_redirects(server: WebServer) -> None:
    status, headers, _ = get(server, "/simple/foo")
    assert status == 301
    assert headers["location"] == f"{server.url}/simple/foo/"


def test_landing_page_needs_auth_too(server: WebServer, index_dir: Path) -> None:
    status, headers, body = get(server, "/")
    assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert body == (index_dir / "index.html").read_bytes()
    assert get(server, "/", auth=auth_header(password="nope"))[0] == 401


def test_pages_for_people_are_served_with_the_same_auth(server: WebServer, index_dir: Path) -> None:
    pages = follow_people_pages(server)
    assert sorted(pages) == [f"/projects/{p}.html" for p in ("bar", "baz", "foo", "tinybackend")]
    assert pages["/projects/foo.html"] == (index_dir / "projects" / "foo.html").read_bytes()
    assert b"foo-1.0-py3-none-any.whl" in pages["/projects/foo.html"]
    assert get(server, "/projects/foo.html", auth=auth_header(password="nope"))[0] == 401
    assert raw_status(server, "/projects/")[0] in (403, 404)  # never listed
    assert raw_status(server, "/projects/foo.html", accept=JSON)[0] == 200  # no negotiation


@pytest.mark.parametrize("which", ["server", "encoding"])
@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("foo-1.0-py3-none-any.whl", "application/zip"),
        ("foo-1.0-py3-none-any.whl.metadata", "text/plain"),
        ("bar-2.0.tar.gz", "application/gzip"),
        ("baz-3.0.zip", "application/zip"),
    ],
)
def test_files_served_with_their_type_and_no_encoding(
    request: pytest.FixtureRequest, index_dir: Path, which: str, filename: str, content_type: str
) -> None:
    """Byte for byte as in the index, with the hash the project page gives, even
    when the server configuration says ``AddEncoding x-gzip .gz .tgz``.

    pip and uv store the bytes as received (they install such an archive
    all the same), but a client that honours ``Content-Encoding`` (requests'
    ``.content``, ``curl --compressed``, a browser) stores the decompressed
    tar: its hash is what this test compares.
    """
    srv: WebServer = request.getfixturevalue(which)
    project = filename.split("-")[0]
    status, headers, body = get(srv, f"/simple/{project}/{filename}", headers=PIP_ACCEPT_ENCODING)
    assert status == 200
    assert headers["content-type"].split(";")[0] == content_type
    page = json.loads(get(srv, f"/simple/{project}/", JSON)[2])
    (entry,) = (f for f in page["files"] if filename.startswith(f["filename"]))
    advertised = entry["core-metadata" if filename.endswith(".metadata") else "hashes"]["sha256"]
    encoding = headers.get("content-encoding")
    stored = gzip.decompress(body) if encoding in ("gzip", "x-gzip") else body
    assert hashlib.sha256(stored).hexdigest() == advertised, f"Content-Encoding: {encoding}"
    assert encoding is None
    assert body == (index_dir / "simple" / project / filename).read_bytes()


@pytest.mark.parametrize(
    ("suffix", "encoded"),
    [(".tar.gz", "x-gzip"), (".tgz", "x-gzip"), (".tar.bz2", "x-bzip2"), (".tar.xz", None)],
)
def test_every_archive_suffix_goes_out_unencoded(
    encoding: WebServer, suffix: str, encoded: str | None
) -> None:
    """Under ``simple/``, no archive gets a Content-Encoding; elsewhere, the
    server-level AddEncoding is in force (the control: this server does test
    the case)."""
    data = (encoding.root / "simple" / "bar" / "bar-2.0.tar.gz").read_bytes()
    probes = [encoding.root / f"probe{suffix}", encoding.root / "simple" / "bar" / f"probe{suffix}"]
    for probe in probes:
        probe.write_bytes(data)
        probe.chmod(0o644)
    try:
        outside = get(encoding, f"/probe{suffix}", headers=PIP_ACCEPT_ENCODING)
        inside = get(encoding, f"/simple/bar/probe{suffix}", headers=PIP_ACCEPT_ENCODING)
    finally:
        for probe in probes:
            probe.unlink()
    assert (outside[0], outside[1].get("content-encoding")) == (200, encoded)
    assert (inside[0], inside[1].get("content-encoding")) == (200, None)
    assert outside[2] == inside[2] == data


def test_metadata_matches_the_advertised_hash(server: WebServer) -> None:
    _, _, body = get(server, "/simple/foo/", JSON)
    (entry,) = json.loads(body)["files"]
    _, _, metadata = get(server, "/simple/foo/" + entry["url"].rsplit("/", 1)[-1] + ".metadata")
    assert hashlib.sha256(metadata).hexdigest() == entry["core-metadata"]["sha256"]
    assert b"Name: foo" in metadata


# -- authentication and private state ------------------------------------------------


@pytest.mark.parametrize(
    "auth", [None, auth_header(password="wrong"), auth_header(user="nobody"), "Basic !!"]
)
def test_bad_or_missing_credentials_get_401_quickly(server: WebServer, auth: str | None) -> None:
    for path in ("/", "/simple/", "/simple/foo/", "/simple/foo/foo-1.0-py3-none-any.whl"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        start = time.monotonic()
        headers = {"Accept": JSON}
        if auth:
            headers["Authorization"] = auth
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert time.monotonic() - start < 5
        assert response.status == 401
        assert response.getheader("WWW-Authenticate") == 'Basic realm="Private package index"'
        assert b"foo-1.0" not in body and b'"projects"' not in body


def test_every_user_of_the_password_file_gets_in(server: WebServer) -> None:
    assert get(server, "/simple/", auth=auth_header("other", "x"))[0] == 200
    assert get(server, "/simple/", auth=auth_header("other", PASSWORD))[0] == 401


@pytest.fixture(scope="module")
def private_files(server: WebServer) -> Path:
    """Secret bytes in the private state and in a dotfile, and the same bytes
    under a plain name (which is served: the refusals come from the config)."""
    state = server.root / ".privateindex" / "state.sqlite"
    assert state.is_file(), "the builder keeps its state in .privateindex/state.sqlite"
    for name in (".hidden", "visible"):
        path = server.root / "simple" / "foo" / name
        path.write_bytes(PRIVATE_STATE)
        path.chmod(0o644)
    return state


def test_the_private_bytes_are_readable_by_the_server(
    server: WebServer, private_files: Path
) -> None:
    status, body = raw_status(server, "/simple/foo/visible")
    assert (status, body) == (200, PRIVATE_STATE)


@pytest.mark.parametrize(
    "path",
    [
        "/.privateindex/state.sqlite",
        "/.privateindex/",
        "/.privateindex",
        "/%2Eprivateindex/state.sqlite",
        "/%2eprivateindex/state.sqlite",
        "/%2e%70rivateindex/state%2esqlite",
        "/.privateindex%2Fstate.sqlite",
        "/.privateindex%2fstate.sqlite",
        "/simple%2F..%2F.privateindex%2Fstate.sqlite",
        "/simple/..%2F.privateindex/state.sqlite",
        "/simple/../.privateindex/state.sqlite",
        "/simple/%2E%2E/.privateindex/state.sqlite",
        "/simple/%2e%2e/%2eprivateindex/state.sqlite",
        "/simple/foo/../../.privateindex/state.sqlite",
        "/projects/../.privateindex/state.sqlite",
        "/projects/%2E%2E/.privateindex/state.sqlite",
        "//.privateindex/state.sqlite",
        "/simple//../.privateindex/state.sqlite",
        "/./.privateindex/state.sqlite",
        "/.privateindex/./state.sqlite",
        "/.privateindex//state.sqlite",
        "/simple/./../.privateindex/state.sqlite",
        "/.PRIVATEINDEX/state.sqlite",
        "/.PrivateIndex/State.sqlite",
        "/.privateindex./state.sqlite",
        "/.privateindex%20/state.sqlite",
        "/.privateindex/state.sqlite.",
        "/.privateindex/state.sqlite?x=1",
        "/.privateindex/state.sqlite%00",
        "/.privateindex;x/state.sqlite",
        "/simple\\..\\.privateindex\\state.sqlite",
        "/simple/foo/.hidden",
        "/simple/foo/%2Ehidden",
        "/simple/foo/%2ehidden/",
        "/simple/foo//.hidden",
        "http://127.0.0.1/.privateindex/state.sqlite",
    ],
)
@pytest.mark.parametrize(("method", "accept"), [("GET", None), ("GET", JSON), ("HEAD", None)])
def test_private_state_and_dotfiles_never_served(
    server: WebServer, private_files: Path, path: str, method: str, accept: str | None
) -> None:
    """``RedirectMatch 404 "/\\."`` sees the decoded, normalized path: every
    spelling gets the 404 (not a 403 from file permissions: the plain-named
    copy of the same bytes is served)."""
    status, body = raw_status(server, path, method, accept)
    assert status == 404, (status, body[:200])
    assert private_files.read_bytes()[:16] not in body
    assert PRIVATE_STATE not in body


def test_snippet_is_the_documented_one_with_placeholders_replaced(
    index_dir: Path, tmp_path: Path
) -> None:
    documented = apache.DOCS_SNIPPET.read_text(encoding="utf-8").splitlines()
    rendered = render_snippet(index_dir, tmp_path / "pw").splitlines()
    changed = [(d, r) for d, r in zip(documented, rendered, strict=True) if d != r]
    assert [r.strip() for _, r in changed] == [
        f'DocumentRoot "{index_dir}"',
        f'<Directory "{index_dir}">',
        f'AuthUserFile "{tmp_path / "pw"}"',
        f'<Directory "{index_dir}/simple">',
    ]
    bare = strip_comments("\n".join(rendered))
    assert "/srv/privateindex" not in bare and "/etc/apache2" not in bare
    relocated = strip_comments(render_snippet(index_dir, None, "/pypi"))
    assert f'Alias /pypi "{index_dir}"' in relocated and "DocumentRoot" not in relocated
    assert "Require all granted" in relocated and "AuthUserFile" not in relocated


# -- real installers -----------------------------------------------------------------


def install_offline(
    index: Path,
    tmp: Path,
    env: dict[str, str],
    users: dict[str, str],
    *,
    add_encoding: bool = False,
    **what: Any,
) -> dict[str, Any]:
    """Serve ``index`` with Apache and run a consumer against it, both in a network
    namespace holding only loopback, with empty pip and uv caches
    (``tests/netns_consumer.py``; ``what``: its ``command`` or ``buildout`` and
    ``config``)."""
    args = {
        "index": str(index),
        "tmp": str(tmp / "apache"),
        "users": users,
        "server": "apache",
        "server_options": {"add_encoding": add_encoding},
        "env": {},
        **what,
    }
    command = [sys.executable, str(NETNS_CONSUMER), json.dumps(args)]
    if OFFLINE:
        command = offline_command(command)
    caches = empty_caches(tmp)
    env = dict(
        without_proxies(env),
        PIP_CACHE_DIR=caches["PIP_CACHE_DIR"],
        UV_CACHE_DIR=caches["UV_CACHE_DIR"],
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
    )
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    if OFFLINE:
        assert result["interfaces"] == ["lo"]
    return result


def installer_command(installer: str, target: Path, *reqs: str) -> list[str]:
    url = f"http://{USER}:{quote(PASSWORD, safe='')}@{{netloc}}"
    if installer == "pip":
        return pip_command(url, target, *reqs)
    return uv_command(url, target, *reqs)


@pytest.mark.parametrize("installer", ["pip", "uv"])
@pytest.mark.parametrize("add_encoding", [False, True], ids=["plain", "addencoding"])
def test_installs_wheel_and_isolated_sdist_build_offline(
    index_dir: Path, pip_env: dict[str, str], tmp_path: Path, installer: str, add_encoding: bool
) -> None:
    target = tmp_path / "target"
    result = install_offline(
        index_dir,
        tmp_path,
        pip_env,
        {USER: PASSWORD},
        add_encoding=add_encoding,
        command=installer_command(installer, target, "foo", "bar", "baz"),
    )
    output = result["output"]
    assert result["returncode"] == 0, output
    assert (target / "foo" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    assert (target / "bar" / "__init__.py").read_text() == "VERSION = '2.0'\n"
    assert (target / "baz" / "__init__.py").read_text() == "VERSION = '3.0'\n"
    assert_no_secret(output)
    log = result["access_log"]
    assert_no_secret(log)
    # The sdists came from the index, and so did their build backend (pip's and
    # uv's isolated builds), all with the credentials (the log names the user).
    assert f"{USER} [" in log
    assert '"GET /simple/bar/bar-2.0.tar.gz HTTP/1.1" 200' in log
    assert '"GET /simple/tinybackend/tinybackend-1.0-py3-none-any.whl HTTP/1.1" 200' in log


def test_pip_with_wrong_password_fails_quickly_and_clearly(
    server: WebServer, pip_env: dict[str, str], tmp_path: Path
) -> None:
    proc, elapsed = pip_install(server, pip_env, tmp_path, WRONG, "foo")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert elapsed < 30
    assert "401" in output
    assert "credentials" in output.lower()
    assert WRONG not in output and quote(WRONG, safe="") not in output
    assert_no_secret(output)


def test_uv_with_wrong_password_fails_quickly(
    server: WebServer, pip_env: dict[str, str], tmp_path: Path
) -> None:
    proc, elapsed = uv_install(server, pip_env, tmp_path, WRONG, "foo")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert elapsed < 30
    assert "401 Unauthorized" in output
    assert WRONG not in output and quote(WRONG, safe="") not in output
    assert_no_secret(output)


def test_password_in_no_log(server: WebServer, pip_env: dict[str, str], tmp_path: Path) -> None:
    get(server, "/simple/foo/", JSON)
    get(server, "/simple/foo/", auth=auth_header(password=PASSWORD + "x"))
    proc, _ = pip_install(server, pip_env, tmp_path, PASSWORD, "foo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    logs = server.logs()
    assert f" {USER} [" in logs and "password mismatch" in logs.lower()
    assert_no_secret(logs)
    assert PASSWORD + "x" not in logs


#: The consumer buildout's password (buildout's own syntax keeps it simple).
CONSUMER_PASSWORD = "s3cr3t:p@ss"


def test_consumer_buildout_installs_through_apache_offline(
    sample: SampleBuildout, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A team member's buildout, offline, from the index behind Apache (with
    the server-level AddEncoding), with an sdist that pip builds with a
    backend from the same index."""
    dists = tmp_path_factory.mktemp("team-dists")
    make_wheel(dists, "demo-app", "1.0", requires_dist=["demo-lib"])
    make_sdist(dists, "demo-lib", "2.0", "tar.gz", build_requires=["tinybackend"])
    make_tinybackend_wheel(dists)
    index = tmp_path_factory.mktemp("team") / "private-index"
    assert build_index([dists], index).ok
    quoted = quote(CONSUMER_PASSWORD, safe="")
    config = sample.write(CONSUMER.format(private_index=f"http://{USER}:{quoted}@{{netloc}}"))
    result = install_offline(
        index,
        tmp_path,
        sample.env,
        {USER: CONSUMER_PASSWORD},
        add_encoding=True,
        buildout=str(sample.directory / "bin" / "buildout"),
        config=str(config),
    )
    output = result["output"]
    assert result["returncode"] == 0, output
    assert "installing only from http://127.0.0.1:" in output
    proc = subprocess.run(
        [str(sample.directory / "bin" / "py"), "-c", "import demo_app, demo_lib; print('ok')"],
        capture_output=True,
        text=True,
    )
    assert proc.stdout.strip() == "ok", proc.stderr
    log = result["access_log"]
    assert f"{USER} [" in log
    assert '"GET /simple/demo-lib/demo_lib-2.0.tar.gz HTTP/1.1" 200' in log
    assert "/simple/tinybackend/" in log
    for secret in (CONSUMER_PASSWORD, quoted):
        assert secret not in output and secret not in log
        leaked = [p for p in sample.files_containing(secret) if p.name != "buildout.cfg"]
        assert leaked == []


# -- relocated under a path prefix ---------------------------------------------------


@pytest.fixture(scope="module")
def prefixed(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    tmp = tmp_path_factory.mktemp("apache-prefix")
    with run_apache(index_dir, tmp, {USER: PASSWORD}, prefix="/pypi") as srv:
        yield srv


def test_prefix_negotiates_and_hides_private_state(prefixed: WebServer, index_dir: Path) -> None:
    status, headers, body = get(prefixed, "/pypi/simple/foo/", PIP_ACCEPT)
    assert (status, headers["content-type"]) == (200, JSON)
    assert body == (index_dir / "simple" / "foo" / "index.json").read_bytes()
    status, headers, body = get(prefixed, "/pypi/simple/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body == (index_dir / "simple" / "index.html").read_bytes()
    assert get(prefixed, "/pypi/")[2] == (index_dir / "index.html").read_bytes()
    assert len(follow_people_pages(prefixed)) == 4
    status, headers, _ = get(prefixed, "/pypi/simple/foo")
    assert (status, headers["location"]) == (301, f"{prefixed.url}/pypi/simple/foo/")
    for path in ("/pypi/.privateindex/state.sqlite", "/pypi/%2Eprivateindex/state.sqlite"):
        assert raw_status(prefixed, path)[0] == 404
    assert get(prefixed, "/simple/")[0] in (403, 404)  # only under the prefix
    assert get(prefixed, "/pypi/simple/", auth=auth_header(password="nope"))[0] == 401


def test_pip_installs_from_a_prefix(
    prefixed: WebServer, pip_env: dict[str, str], tmp_path: Path
) -> None:
    proc, _ = pip_install(prefixed, pip_env, tmp_path, PASSWORD, "foo", "bar")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert (tmp_path / "bar" / "__init__.py").read_text() == "VERSION = '2.0'\n"
    assert_no_secret(output)


# -- the helper itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    "make_entry",
    [
        ["openssl", "passwd", "-apr1", "-stdin"],  # the docs' printf line
        ["htpasswd", "-niB", "ops"],  # the docs' `htpasswd -B`
    ],
    ids=["openssl-apr1", "htpasswd-B"],
)
def test_documented_password_entries_work(server: WebServer, make_entry: list[str]) -> None:
    tool = shutil.which(make_entry[0])
    assert tool, f"{make_entry[0]} is missing: run .ci/install-system-deps"
    made = subprocess.run(
        [tool, *make_entry[1:]], input="0pen:ssl", capture_output=True, text=True, check=True
    ).stdout.strip()
    entry = made if made.startswith("ops:") else f"ops:{made}"
    assert entry.startswith(("ops:$apr1$", "ops:$2y$"))
    assert server.user_file is not None
    saved = server.user_file.read_text()
    try:
        server.user_file.write_text(saved + entry + "\n")  # read at each request
        assert get(server, "/simple/", auth=auth_header("ops", "0pen:ssl"))[0] == 200
        assert get(server, "/simple/", auth=auth_header("ops", "0pen:ss"))[0] == 401
    finally:
        server.user_file.write_text(saved)


def test_run_apache_without_users_and_teardown(index_dir: Path, tmp_path: Path) -> None:
    with run_apache(index_dir, tmp_path) as srv:
        assert srv.process is not None
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        conn.request("GET", "/simple/foo/", headers={"Accept": JSON})
        response = conn.getresponse()
        assert (response.status, response.getheader("Content-Type")) == (200, JSON)
        response.read()
        conn.close()
        assert raw_status(srv, "/.privateindex/state.sqlite")[0] == 404
        copy = srv.root
        assert copy != index_dir and (copy / "simple" / "index.json").is_file()
    assert srv.process.returncode is not None
    with pytest.raises(ProcessLookupError):  # no worker left behind
        os.killpg(srv.process.pid, 0)
    assert not copy.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()


def test_missing_apache_fails_loudly(
    index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(ApacheError, match="install-system-deps"), run_apache(index_dir, tmp_path):
        pass
