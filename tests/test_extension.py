"""The extension against a real ``zc.buildout.buildout.Buildout`` object, in process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import zc.buildout
import zc.buildout.buildout
import zc.buildout.easy_install as easy_install

from buildout.privateindex import extension
from buildout.privateindex.engine.build import build_index
from buildout.privateindex.session import get_session
from distfactory import make_wheel
from servers import serve_directory


@pytest.fixture
def make_buildout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://extra.example/simple/")
    monkeypatch.setenv("PIP_FIND_LINKS", "/somewhere")
    saved_index = easy_install.index_url()
    saved_links = easy_install.use_dependency_links()

    def factory(text: str) -> zc.buildout.buildout.Buildout:
        (tmp_path / "buildout.cfg").write_text(text)
        return zc.buildout.buildout.Buildout(str(tmp_path / "buildout.cfg"), [])

    yield factory
    easy_install.index_url(saved_index or "")
    easy_install.use_dependency_links(saved_links)


def built_index(directory: Path) -> Path:
    dists = directory / "dists"
    dists.mkdir()
    make_wheel(dists, "demo-app", "1.0")
    assert build_index([dists], directory / "private-index").ok
    return directory / "private-index"


def test_noop_unless_listed_in_extensions(make_buildout, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    built_index(tmp_path)
    buildout = make_buildout("[buildout]\nparts =\nprivate-index = private-index\n")
    extension.extension(buildout)
    assert get_session(buildout) is None
    assert buildout["buildout"].get("index") is None
    assert os.environ["PIP_FIND_LINKS"] == "/somewhere"
    extension.unload(buildout)  # nothing to do, no error


def test_pins_everything_and_unload_restores_it(make_buildout, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    index = built_index(tmp_path)
    buildout = make_buildout(
        "[buildout]\nextensions = buildout.privateindex\nparts =\n"
        "private-index = private-index\nfind-links = /links\n"
        "index = https://upstream.example/simple/\n"
    )
    extension.extension(buildout)
    session = get_session(buildout)
    assert session is not None and session.pinned
    url = (index / "simple").as_uri() + "/"
    options = buildout["buildout"]
    assert options["index"] == url
    assert easy_install.index_url() == url
    assert options["find-links"] == ""
    assert options["allow-hosts"] == extension.NO_HOST
    assert options["use-dependency-links"] == "false"
    assert easy_install.use_dependency_links() is False
    assert os.environ["PIP_INDEX_URL"] == url
    assert os.environ["PIP_CONFIG_FILE"] == os.devnull
    assert "PIP_EXTRA_INDEX_URL" not in os.environ and "PIP_FIND_LINKS" not in os.environ
    assert session.upstream == "https://upstream.example/simple/"

    extension.unload(buildout)
    assert options["index"] == "https://upstream.example/simple/"
    assert options["find-links"] == "/links"
    assert os.environ["PIP_FIND_LINKS"] == "/somewhere"
    assert os.environ["PIP_EXTRA_INDEX_URL"] == "https://extra.example/simple/"
    assert "PIP_INDEX_URL" not in os.environ or os.environ["PIP_INDEX_URL"] != url
    assert easy_install.use_dependency_links() is True


def test_auto_mode_without_index_does_not_pin(make_buildout, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    buildout = make_buildout(
        "[buildout]\nextensions = buildout.privateindex\nparts = pi\n"
        "[pi]\nrecipe = buildout.privateindex\ndirectory = ${buildout:directory}/idx\n"
    )
    extension.extension(buildout)
    session = get_session(buildout)
    assert session is not None and not session.pinned
    assert buildout["buildout"].get("index") is None
    extension.unload(buildout)


def test_default_location_is_the_parts_directory(make_buildout, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dists = tmp_path / "dists"
    dists.mkdir()
    make_wheel(dists, "demo-app", "1.0")
    assert build_index([dists], tmp_path / "elsewhere").ok
    buildout = make_buildout(
        "[buildout]\nextensions = buildout.privateindex\nparts = pi\n"
        "[pi]\nrecipe = buildout.privateindex\ndirectory = ${buildout:directory}/elsewhere\n"
    )
    extension.extension(buildout)
    assert buildout["buildout"]["index"] == (tmp_path / "elsewhere" / "simple").as_uri() + "/"
    extension.unload(buildout)


def test_http_index_credentials_stay_out_of_buildout_options(make_buildout, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with serve_directory(built_index(tmp_path), {"joe": "p@ss"}) as server:
        host = server.url.split("/")[2]
        buildout = make_buildout(
            "[buildout]\nextensions = buildout.privateindex\nparts =\n"
            f"private-index = http://joe:p%40ss@{host}/simple\n"
        )
        extension.extension(buildout)
        try:
            assert buildout["buildout"]["index"] == f"http://{host}/simple/"
            assert buildout["buildout"]["allow-hosts"] == host
            assert os.environ["PIP_INDEX_URL"] == f"http://joe:p%40ss@{host}/simple/"
            from zc.buildout import _package_index

            cred = _package_index.PyPIConfig().find_credential(
                f"http://{host}/simple/foo/foo-1.0.tar.gz"
            )
            assert (cred.username, cred.password) == ("joe", "p@ss")
        finally:
            extension.unload(buildout)
    # The extension's probe of the index sent the credentials.
    assert server.requests == ["/simple/"]


def test_bad_location_is_a_user_error(make_buildout) -> None:  # type: ignore[no-untyped-def]
    buildout = make_buildout(
        "[buildout]\nextensions = buildout.privateindex\nparts =\n"
        "private-index = ftp://example.com/simple/\n"
    )
    with pytest.raises(
        zc.buildout.UserError, match="option 'private-index': unsupported URL scheme"
    ):
        extension.extension(buildout)
    get_session(buildout).restore()  # type: ignore[union-attr]
