"""``privateindex add``: requirements and all they need, from an upstream, into an index.

The upstream is a test index on 127.0.0.1 (with basic auth) holding a tiny
sdist ``docopt`` built by ``tinybackend``; after ``add``, pip and uv install
it from the index with no network and empty caches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildout.privateindex.cli import main
from buildout.privateindex.closure.add import StoreIndex, read_requirements
from buildout.privateindex.closure.resolve import find_uv
from buildout.privateindex.engine.build import build_index, load_index
from buildoutenv import empty_caches, run_offline
from conftest import isolated_pip_environ
from distfactory import make_sdist, make_tinybackend_wheel, make_truncated, make_wheel
from servers import StaticServer, serve_directory

USERS = {"joe": "s3cr3t-pass"}
STORE = Path(".privateindex", "store")


@pytest.fixture(scope="module")
def upstream_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dists = tmp_path_factory.mktemp("upstream-dists")
    make_sdist(
        dists,
        "docopt",
        "0.6.2",
        requires_dist=["helper", 'winonly; sys_platform == "win32"'],
        build_requires=["tinybackend>=1.0"],
    )
    make_wheel(dists, "helper", "1.0")
    make_wheel(dists, "helper", "2.0")
    make_wheel(dists, "winonly", "1.0")
    make_wheel(dists, "unrelated", "1.0")
    make_tinybackend_wheel(dists)
    out = tmp_path_factory.mktemp("upstream") / "index"
    assert build_index([dists], out).ok
    return out


@pytest.fixture
def upstream(upstream_dir: Path) -> Iterator[StaticServer]:
    with serve_directory(upstream_dir, users=USERS) as server:
        yield server


def index_url(server: StaticServer, auth: bool = True) -> str:
    url = server.url + "simple/"
    return url.replace("http://", "http://joe:s3cr3t-pass@") if auth else url


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def filenames(index: Path) -> set[str]:
    return {dist.filename for dist in load_index(index)}


def offline(command: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = isolated_pip_environ()
    env.update(empty_caches(tmp))
    return run_offline(command, env)


def test_add_fetches_the_closure_and_installs_offline(
    upstream: StaticServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idx = tmp_path / "idx"
    code, out, err = run(capsys, "add", "-o", idx, "--index-url", index_url(upstream), "docopt")
    assert code == 0, err
    # The requirement, its dependency at the newest version, the backend its
    # sdist builds with; nothing else, nothing for another platform.
    expected = {
        "docopt-0.6.2.tar.gz",
        "helper-2.0-py3-none-any.whl",
        "tinybackend-1.0-py3-none-any.whl",
    }
    assert filenames(idx) == expected
    assert {p.name for p in (idx / STORE).iterdir()} == expected
    lines = out.splitlines()
    assert lines[0].startswith("target ") and "(this machine, 2 projects)" in lines[0]
    assert lines[0].endswith("builds from source: docopt==0.6.2")
    assert lines[-1] == f"added 3 files to {idx}"
    assert "s3cr3t-pass" not in out + err and "joe" not in out + err

    url = (idx / "simple").as_uri() + "/"
    pip = offline(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--index-url",
            url,
            "--target",
            str(tmp_path / "pip-t"),
            "docopt",
        ],
        tmp_path,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert (tmp_path / "pip-t" / "docopt" / "__init__.py").is_file()
    assert (tmp_path / "pip-t" / "helper" / "__init__.py").is_file()
    uv = offline(
        [
            find_uv(),
            "pip",
            "install",
            "--no-config",
            "--python",
            sys.executable,
            "--index-url",
            url,
            "--target",
            str(tmp_path / "uv-t"),
            "docopt",
        ],
        tmp_path,
    )
    assert uv.returncode == 0, uv.stdout + uv.stderr
    assert (tmp_path / "uv-t" / "docopt" / "__init__.py").is_file()

    # Again: nothing new, the same summary.
    code, again, _ = run(capsys, "add", "-o", idx, "--index-url", index_url(upstream), "docopt")
    assert code == 0 and again.splitlines()[-1] == f"added 0 files to {idx}"
    assert run(capsys, "verify", idx)[0] == 0


def test_targets_no_deps_and_requirements_files(
    upstream: StaticServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("# what we need\ndocopt  # the parser\n")
    idx = tmp_path / "idx"
    code, out, err = run(
        capsys, "add", "-o", idx, "--index-url", index_url(upstream), "-r", reqs,
        "--platform", "win_amd64", "--python-version", "3.12", "--no-deps",
    )  # fmt: skip
    assert code == 0, err
    # --no-deps: no helper, no winonly; but what building the sdist needs.
    assert filenames(idx) == {"docopt-0.6.2.tar.gz", "tinybackend-1.0-py3-none-any.whl"}
    assert "target win_amd64 / Python 3.12 (1 projects): builds from source: docopt==0.6.2" in out
    code, out, err = run(
        capsys, "add", "-o", idx, "--index-url", index_url(upstream), "docopt",
        "--platform", "win_amd64", "--python-version", "3.12",
    )  # fmt: skip
    assert code == 0, err
    # With the dependencies: the Windows target's marker-only one too.
    assert {"helper-2.0-py3-none-any.whl", "winonly-1.0-py3-none-any.whl"} <= filenames(idx)
    assert "target win_amd64 / Python 3.12 (3 projects)" in out


def test_prune_keeps_what_add_added(
    upstream: StaticServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idx = tmp_path / "idx"
    assert run(capsys, "add", "-o", idx, "--index-url", index_url(upstream), "helper==1.0")[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    make_wheel(other, "mine", "1.0")
    code, _, err = run(capsys, "build", other, "-o", idx, "--prune")
    assert code == 0, err
    assert filenames(idx) == {"helper-1.0-py3-none-any.whl", "mine-1.0-py3-none-any.whl"}
    # A file removed from the store is pruned like any other.
    (idx / STORE / "helper-1.0-py3-none-any.whl").unlink()
    assert run(capsys, "build", other, "-o", idx, "--prune")[0] == 0
    assert filenames(idx) == {"mine-1.0-py3-none-any.whl"}
    # The store may also be named as a source, though it lies inside the index.
    assert run(capsys, "build", idx / STORE, "-o", idx)[0] == 0


def test_add_renders_pages_with_its_yanks(
    upstream: StaticServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idx = tmp_path / "idx"
    yank = "helper==1.0: broken"
    code, _, err = run(
        capsys, "add", "-o", idx, "--index-url", index_url(upstream), "helper==1.0",
        "--yank", yank,
    )  # fmt: skip
    assert code == 0, err
    page = json.loads((idx / "simple" / "helper" / "index.json").read_text())
    (entry,) = page["files"]
    assert entry["yanked"] == "broken"
    # Without --yank, the pages are rendered without it (as by build).
    assert run(capsys, "add", "-o", idx, "--index-url", index_url(upstream), "helper==1.0")[0] == 0
    page = json.loads((idx / "simple" / "helper" / "index.json").read_text())
    assert page["files"][0]["yanked"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "win_amd63", "x"], "--platform: not a wheel platform tag"),
        (["--python-version", "3.7", "x"], "--python-version: not a Python version 3.8"),
        (["not a requirement!"], "requirement: not a requirement"),
        ([], "REQUIREMENT: nothing to add"),
        (["--python", sys.executable, "x"], "--python: only with --from-installed"),
        (["--index-url", "ftp://joe:s3cr3t-pass@host/simple/", "x"], "--index-url: unsupported"),
    ],
)
def test_errors_are_one_line_naming_the_option(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "add", "-o", tmp_path / "idx", *args)
    assert code == 1 and out == ""
    assert err.startswith(f"privateindex: error: {message}") and err.count("\n") == 1, err
    assert "s3cr3t-pass" not in err
    assert not (tmp_path / "idx").exists()


def test_a_requirement_the_upstream_lacks(
    upstream: StaticServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idx = tmp_path / "idx"
    code, out, err = run(
        capsys, "add", "-o", idx, "--index-url", index_url(upstream), "docopt", "nosuch>=1"
    )
    assert code == 1 and out == ""
    assert err.startswith("privateindex: error: cannot add: nosuch>=1: No solution found"), err
    assert err.count("\n") == 1 and "s3cr3t-pass" not in err
    assert filenames(idx) == set()  # nothing fetched
    # An index the command did not make is refused.
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "add", "-o", stranger, "--index-url", index_url(upstream), "docopt")
    assert code == 1 and "not an index" in err
    assert sorted(os.listdir(stranger)) == ["notes.txt"]


def test_requirements_files(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("a>=1 \\\n  ,<2\n\n# comment\nB[x]  # trailing\na>=1,<2\n")
    assert read_requirements(["c"], [good]) == ["c", "a<2,>=1", "B[x]"]
    bad = tmp_path / "bad.txt"
    bad.write_text("ok\n-e .\n")
    with pytest.raises(ValueError, match=r"bad\.txt, line 2: options are not supported"):
        read_requirements([], [bad])
    with pytest.raises(ValueError, match="-r: cannot read the requirements file"):
        read_requirements([], [tmp_path / "missing.txt"])


def test_the_store_keeps_only_what_is_indexed(tmp_path: Path) -> None:
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    make_wheel(fetched, "good", "1.0")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    make_truncated(make_wheel(scratch, "cut", "1.0"), fetched)
    index = StoreIndex(str(tmp_path / "idx"))
    assert index.add(fetched) == 1
    assert [p.name for p in index.store.iterdir()] == ["good-1.0-py3-none-any.whl"]
    assert [Path(problem.path).name for problem in index.problems] == ["cut-1.0-py3-none-any.whl"]
    # Another content under a name the index holds is not taken in.
    (fetched / "cut-1.0-py3-none-any.whl").unlink()
    (fetched / "good-1.0-py3-none-any.whl").write_bytes(b"other")
    assert index.add(fetched) == 0
    assert "the index holds another file of that name" in index.problems[-1].reason
    assert filenames(tmp_path / "idx") == {"good-1.0-py3-none-any.whl"}
