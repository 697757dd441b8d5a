"""Upstream provenance: a file keeps the upstream's upload time and yank.

The upstream is an index built here from tiny wheels with chosen dates and a
yank, served on 127.0.0.1 with PEP 691 negotiation (``privateindex serve``),
so it publishes ``upload-time`` in JSON and ``data-yanked``/``yanked`` in
both formats, as PyPI does.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildout.privateindex.closure import fill as closure
from buildout.privateindex.closure.directoryindex import DirectoryIndex
from buildout.privateindex.closure.provenance import lookup
from buildout.privateindex.closure.resolve import Resolver, find_uv
from buildout.privateindex.closure.targets import make_targets
from buildout.privateindex.engine.build import build_index
from buildoutenv import SampleBuildout, empty_caches, run_offline
from conftest import isolated_pip_environ
from distfactory import make_bootstrap_standins, make_wheel
from servers import serve_directory, serve_index

#: When each upstream file was uploaded (its modification time there).
DATES = {
    "app-1.0-py3-none-any.whl": "2024-03-01T12:00:00",
    "lib-1.0-py3-none-any.whl": "2023-06-01T08:30:00",
    "lib-2.0-py3-none-any.whl": "2024-05-01T09:15:00",
    "lib-3.0-py3-none-any.whl": "2024-08-01T10:00:00",
}
YANK = "lib==2.0: broken build"
EXCLUDE_NEWER = "2024-06-01T00:00:00Z"


def _ns(text: str) -> int:
    moment = datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp()) * 10**9


def _json_time(text: str) -> str:
    return text + ".000000Z"


@pytest.fixture(scope="module")
def upstream_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dists = tmp_path_factory.mktemp("dists")
    make_wheel(dists, "app", "1.0", requires_dist=["lib"])
    for version in ("1.0", "2.0", "3.0"):
        make_wheel(dists, "lib", version)
    for name, date in DATES.items():
        os.utime(dists / name, ns=(_ns(date), _ns(date)))
    make_bootstrap_standins(dists)  # for the buildout runs
    out = tmp_path_factory.mktemp("upstream") / "index"
    assert build_index([dists], out, yanks=[YANK]).ok
    return out


@pytest.fixture(scope="module")
def upstream(upstream_dir: Path) -> Iterator[str]:
    with serve_index(upstream_dir) as url:
        yield url


def project_files(index: Path, project: str) -> dict[str, dict[str, object]]:
    data = json.loads((index / "simple" / project / "index.json").read_text())
    return {entry["filename"]: entry for entry in data["files"]}


def fill(index: Path, upstream: str, roots: list[str]) -> None:
    """Fill ``index`` with each root's closure in turn (a project once per fill)."""
    build_index([], index)  # an empty index, to fill
    directory = DirectoryIndex(str(index))
    targets = make_targets([], [])
    resolver = Resolver([upstream, directory.url], sys.executable)
    for root in roots:
        report = closure.fill(targets, [root], {}, resolver, directory, upstream_index=upstream)
        assert report.problems == []


def test_the_index_keeps_the_upstreams_upload_time_and_yanks(
    upstream: str, upstream_dir: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    fill(index, upstream, ["app", "lib==1.0", "lib==2.0", "lib==3.0"])
    for project in ("app", "lib"):
        mine, theirs = project_files(index, project), project_files(upstream_dir, project)
        assert sorted(mine) == sorted(theirs)
        for name, entry in mine.items():
            assert entry["upload-time"] == theirs[name]["upload-time"] == _json_time(DATES[name])
            assert entry["yanked"] == theirs[name]["yanked"]
    assert project_files(index, "lib")["lib-2.0-py3-none-any.whl"]["yanked"] == "broken build"
    html = (index / "simple" / "lib" / "index.html").read_text()
    assert 'data-yanked="broken build"' in html


#: Serve an index on 127.0.0.1 and run uv against it (inside the network
#: namespace: JSON pages, which carry upload-time, come from a server only).
_SERVED_UV = """
import subprocess, sys, threading
from buildout.privateindex.sharing.serve import make_server, server_url
server = make_server(sys.argv[1], "127.0.0.1", 0)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.exit(subprocess.call([a.replace("{url}", server_url(server)) for a in sys.argv[2:]]))
"""


def _compile(tmp: Path, *, upstream: str | None = None, index: Path | None = None) -> str:
    (tmp / "in.txt").write_text("app\n")
    command = [find_uv(), "pip", "compile", "--quiet", "--no-header", "--index-url"]
    command += [upstream or "{url}", "--exclude-newer", EXCLUDE_NEWER, str(tmp / "in.txt")]
    env = isolated_pip_environ()
    env.update(empty_caches(tmp))
    if index is None:
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    else:  # with no network at all
        proc = run_offline([sys.executable, "-c", _SERVED_UV, str(index), *command], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return "".join(line for line in proc.stdout.splitlines(True) if line[:1].isalnum())  # pins


def test_exclude_newer_gives_the_upstreams_answer_offline(upstream: str, tmp_path: Path) -> None:
    index = tmp_path / "index"
    fill(index, upstream, ["app", "lib==1.0", "lib==2.0", "lib==3.0"])
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    online = _compile(tmp_path / "on", upstream=upstream)
    offline = _compile(tmp_path / "off", index=index)
    assert "lib==1.0" in online  # 3.0 is too new, 2.0 is yanked
    assert offline == online


def test_a_record_applies_only_to_the_same_name_and_hash(
    upstream: str, upstream_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_wheel(src, "lib", "2.0", summary="a different build")  # same name, other bytes
    shutil.copy2(upstream_dir / "simple" / "lib" / "lib-1.0-py3-none-any.whl", src)
    index = tmp_path / "index"
    build_index([src], index)
    records = lookup(upstream, ["lib", "unknown-here"])
    assert sorted(records) == ["lib"]
    build_index([src], index, provenance=records)
    files = project_files(index, "lib")
    assert files["lib-1.0-py3-none-any.whl"]["upload-time"] == _json_time(
        DATES["lib-1.0-py3-none-any.whl"]
    )
    assert files["lib-2.0-py3-none-any.whl"]["yanked"] is False  # not the upstream's file
    assert files["lib-2.0-py3-none-any.whl"]["upload-time"] != _json_time(
        DATES["lib-2.0-py3-none-any.whl"]
    )


def test_a_local_yank_overrides_and_an_unyank_clears(
    upstream: str, upstream_dir: Path, tmp_path: Path
) -> None:
    src = upstream_dir / "simple" / "lib"
    index = tmp_path / "index"
    records = lookup(upstream, ["lib"])
    build_index([src], index, provenance=records)
    assert project_files(index, "lib")["lib-2.0-py3-none-any.whl"]["yanked"] == "broken build"
    build_index([src], index, yanks=["lib==2.0: use 3.0"])
    assert project_files(index, "lib")["lib-2.0-py3-none-any.whl"]["yanked"] == "use 3.0"
    build_index([src], index, unyanks=["lib==2.0"])
    assert project_files(index, "lib")["lib-2.0-py3-none-any.whl"]["yanked"] is False
    build_index([src], index)
    assert project_files(index, "lib")["lib-2.0-py3-none-any.whl"]["yanked"] == "broken build"


def test_an_html_only_upstream_gives_yanks(upstream_dir: Path, tmp_path: Path) -> None:
    (upstream_dir / "simple" / "lib" / "index.json").rename(tmp_path / "saved.json")
    try:
        with serve_directory(upstream_dir) as server:  # no PEP 691: HTML pages only
            records = lookup(server.url + "simple/", ["lib"])
    finally:
        (tmp_path / "saved.json").rename(upstream_dir / "simple" / "lib" / "index.json")
    by_name = {item.filename: item for item in records["lib"]}
    assert by_name["lib-2.0-py3-none-any.whl"].yanked == "broken build"
    assert by_name["lib-1.0-py3-none-any.whl"].yanked is None
    assert all(item.upload_time_ns is None for item in by_name.values())


def test_a_file_dated_in_the_future_is_clamped_to_when_it_was_indexed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    wheel = make_wheel(src, "future", "1.0")
    year_2099 = _ns("2099-01-01T00:00:00")
    os.utime(wheel, ns=(year_2099, year_2099))
    before = time.time_ns()
    build_index([src], tmp_path / "index")
    [entry] = project_files(tmp_path / "index", "future").values()
    shown = datetime.datetime.fromisoformat(str(entry["upload-time"]).replace("Z", "+00:00"))
    assert before // 10**9 - 1 <= shown.timestamp() <= time.time() + 1
    page = (tmp_path / "index" / "simple" / "future" / "index.json").read_bytes()
    build_index([src], tmp_path / "index", base_url=None, yanks=["future==9.9"])
    assert (tmp_path / "index" / "simple" / "future" / "index.json").read_bytes() == page


BUILDOUT = """
[buildout]
extensions = buildout.privateindex
download-cache = ${{buildout:directory}}/downloads
index = {index}
newest = false
parts = app private-index

[versions]
lib = 1.0

[app]
recipe = zc.recipe.egg
eggs = app

[private-index]
recipe = buildout.privateindex
directory = ${{buildout:directory}}/private-index
"""


def test_each_online_run_records_and_refreshes_provenance(
    sample: SampleBuildout, upstream_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "upstream"
    shutil.copytree(upstream_dir, copy)
    with serve_index(copy) as url:
        sample.write(BUILDOUT.format(index=url))
        assert (run := sample.run(env={"PIP_INDEX_URL": url})).returncode == 0, run
        private = sample.directory / "private-index"
        for project in ("app", "lib"):
            for name, entry in project_files(private, project).items():
                assert entry["upload-time"] == _json_time(DATES[name]), name
                assert entry["yanked"] is False
        # The upstream yanks lib 1.0 after the download: the next online run says so.
        build_index([], copy, yanks=[YANK, "lib==1.0: security"])
        run = sample.run("buildout:private-index-mode=off", env={"PIP_INDEX_URL": url})
        assert run.returncode == 0, run
        lib = project_files(private, "lib")["lib-1.0-py3-none-any.whl"]
        assert lib["yanked"] == "security"


def test_privateindex_add_records_provenance(upstream: str, tmp_path: Path) -> None:
    from buildout.privateindex.cli import main

    index = tmp_path / "index"
    assert main(["add", "-q", "-o", str(index), "--index-url", upstream, "app", "lib==2.0"]) == 0
    files = {**project_files(index, "app"), **project_files(index, "lib")}
    assert {name: entry["upload-time"] for name, entry in files.items()} == {
        name: _json_time(DATES[name]) for name in files
    }
    assert files["lib-2.0-py3-none-any.whl"]["yanked"] == "broken build"
