"""No silent fallback: a consumer whose private index is missing or unreachable stops.

Each consumer names an upstream ``index`` served by the test; a fallback
would show as a request to it.  The run must stop before anything is
installed, with one error naming the index and the cause.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index
from buildoutenv import CONSUMER as BASE_CONSUMER
from buildoutenv import SampleBuildout
from distfactory import make_wheel
from servers import StaticServer, serve_directory

#: The team's consumer buildout, with an upstream ``index`` a fallback would use.
CONSUMER = BASE_CONSUMER.replace("[buildout]\n", "[buildout]\nindex = {upstream}\n", 1)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dists = tmp_path_factory.mktemp("fallback-dists")
    make_wheel(dists, "demo-app", "1.0")
    out = tmp_path_factory.mktemp("fallback") / "index"
    assert build_index([dists], out).ok
    return out


@pytest.fixture
def upstream(index_dir: Path) -> Iterator[StaticServer]:
    """What a fallback would reach: it must see no request."""
    with serve_directory(index_dir) as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused(sample: SampleBuildout, upstream: StaticServer, private_index: str) -> str:
    sample.write(CONSUMER.format(upstream=upstream.url + "simple/", private_index=private_index))
    run = sample.run()
    assert run.returncode != 0, run
    assert "Traceback" not in run.output
    assert "Installing app" not in run.output
    assert not (sample.directory / "bin" / "py").exists()
    assert upstream.requests == []
    errors = [line for line in run.output.splitlines() if "The private index" in line]
    assert len(errors) == 1, run.output
    assert errors[0].startswith("Error: The private index "), errors  # buildout's UserError
    return errors[0].removeprefix("Error: ")


def test_a_wrong_path(sample: SampleBuildout, upstream: StaticServer, tmp_path: Path) -> None:
    missing = tmp_path / "unmounted" / "private-index"
    line = refused(sample, upstream, str(missing))
    assert line == (
        f"The private index {missing.as_uri()}/simple/ cannot be used: "
        f"no such directory: {missing}/simple."
    )


def test_a_directory_that_is_no_index(
    sample: SampleBuildout, upstream: StaticServer, tmp_path: Path
) -> None:
    (tmp_path / "empty" / "simple").mkdir(parents=True)
    line = refused(sample, upstream, str(tmp_path / "empty"))
    assert line.endswith(f"cannot be used: {tmp_path}/empty/simple holds no index (no index.html).")


def test_server_down(sample: SampleBuildout, upstream: StaticServer) -> None:
    url = f"http://127.0.0.1:{free_port()}/simple/"
    assert (
        refused(sample, upstream, url)
        == f"The private index {url} cannot be used: connection refused."
    )


def test_name_not_resolved(sample: SampleBuildout, upstream: StaticServer) -> None:
    url = "http://private-index.invalid/simple/"
    line = refused(sample, upstream, url)
    assert line.startswith(f"The private index {url} cannot be used: name not resolved (")


def test_tls_failure(sample: SampleBuildout, upstream: StaticServer, index_dir: Path) -> None:
    with serve_directory(index_dir) as plain_http:
        url = plain_http.url.replace("http://", "https://") + "simple/"
        line = refused(sample, upstream, url)
    assert line.startswith(f"The private index {url} cannot be used: TLS failure (")


def test_credentials_missing(
    sample: SampleBuildout, upstream: StaticServer, index_dir: Path
) -> None:
    with serve_directory(index_dir, {"team": "secret"}) as server:
        url = server.url + "simple/"
        line = refused(sample, upstream, url)
    assert line == (
        f"The private index {url} cannot be used: it asks for credentials (HTTP 401); "
        f"put them in the URL, ~/.netrc or ~/.pypirc."
    )


def test_not_found(sample: SampleBuildout, upstream: StaticServer, index_dir: Path) -> None:
    with serve_directory(index_dir) as server:
        url = server.url + "no-such-prefix/simple/"
        line = refused(sample, upstream, url)
    assert line == f"The private index {url} cannot be used: HTTP 404 File not found."


def test_only_the_index_this_buildout_writes_is_populated(
    sample: SampleBuildout, upstream: StaticServer, tmp_path: Path
) -> None:
    """A recipe part writing another directory does not make a missing index fine."""
    missing = tmp_path / "elsewhere"
    text = CONSUMER.format(upstream=upstream.url + "simple/", private_index=str(missing))
    text = text.replace(
        "parts = app", "download-cache = ${buildout:directory}/downloads\nparts = app idx"
    )
    text += "\n[idx]\nrecipe = buildout.privateindex\ndirectory = ${buildout:directory}/own-index\n"
    (sample.directory / "downloads").mkdir()
    sample.write(text)
    run = sample.run()
    assert run.returncode != 0, run
    assert (
        f"The private index {missing.as_uri()}/simple/ cannot be used: no such directory"
        in run.output
    )
    assert upstream.requests == []
