"""After a power loss: what a build makes durable, and how it repairs lost files.

A power loss cannot be caused in a test; its effects can: files the state
lists are deleted or truncated on disk (as the page cache would have lost
them), then a build runs.  That the build syncs the files before the state
commits is checked by watching the sync call itself.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import sqlite3
from pathlib import Path

import pytest

from buildout.privateindex.engine import durable
from buildout.privateindex.engine.build import BuildReport, build_index, load_index
from buildout.privateindex.engine.state import state_path
from buildout.privateindex.engine.verify import verify_index
from buildout.privateindex.errors import IndexStateError
from distfactory import make_sdist, make_tinybackend_wheel, make_wheel
from indexcheck import check_index, hrefs


def build(sources: list[Path], out: Path, **kwargs: object) -> BuildReport:
    return build_index(sources, out, jobs=1, **kwargs)  # type: ignore[arg-type]


def replace_with(path: Path, data: bytes) -> None:
    """Give ``path`` new content in a new inode (the index's copy, not its source)."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    tmp.replace(path)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.fixture
def src(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    make_wheel(src, "foo", "1.0")
    make_sdist(src, "foo", "1.1", "tar.gz")
    make_sdist(src, "bar", "2.0", "zip")
    make_wheel(src, "baz", "3.0")
    make_tinybackend_wheel(src)  # what the sdists build with (verify checks)
    return src


def test_lost_files_are_placed_again_from_their_sources(
    src: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_wheel(src, "corge", "1.0")
    out = tmp_path / "index"
    assert build([src], out).ok
    simple = out / "simple"
    (simple / "foo/foo-1.0-py3-none-any.whl").unlink()
    truncated = simple / "bar/bar-2.0.zip"
    replace_with(truncated, truncated.read_bytes()[:100])
    (simple / "baz/baz-3.0-py3-none-any.whl.metadata").unlink()
    replace_with(simple / "corge/corge-1.0-py3-none-any.whl.metadata", b"")
    assert verify_index(out) != []
    caplog.set_level("WARNING", logger="buildout.privateindex")
    report = build([src], out)
    assert report.ok, report.problems
    assert sorted(report.added) == [
        "bar-2.0.zip",
        "baz-3.0-py3-none-any.whl",
        "corge-1.0-py3-none-any.whl",
        "foo-1.0-py3-none-any.whl",
    ]
    messages = warnings(caplog)
    for name in report.added:
        assert any(name in m and "placed in the index again" in m for m in messages), messages
    assert any("bar-2.0.zip has 100 bytes instead of" in m for m in messages), messages
    assert verify_index(out) == []
    listed = check_index(out)
    assert sorted(listed) == sorted(path.name for path in src.iterdir())
    for path in src.iterdir():
        project = path.name.split("-")[0]
        assert (simple / project / path.name).read_bytes() == path.read_bytes()
    again = build([src], out)
    assert again.ok and again.added == [] and again.pages_written == 0


def test_lost_files_no_source_holds_are_dropped(
    src: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    make_wheel(extra, "qux", "1.0")  # the only file of its project
    make_wheel(extra, "foo", "1.2")
    out = tmp_path / "index"
    assert build([src, extra], out).ok
    simple = out / "simple"
    (simple / "qux/qux-1.0-py3-none-any.whl").unlink()
    lost = simple / "foo/foo-1.2-py3-none-any.whl"
    replace_with(lost, lost.read_bytes()[:10])
    for path in extra.iterdir():
        path.unlink()
    caplog.set_level("WARNING", logger="buildout.privateindex")
    report = build([src], out)  # no --prune: only the lost files go
    assert report.ok, report.problems
    assert report.added == [] and report.pruned == []
    messages = warnings(caplog)
    for name in ("qux-1.0-py3-none-any.whl", "foo-1.2-py3-none-any.whl"):
        assert any(name in m and "dropped from the index" in m for m in messages), messages
    assert verify_index(out) == []
    assert sorted(check_index(out)) == sorted(path.name for path in src.iterdir())
    assert sorted(d.filename for d in load_index(out)) == sorted(p.name for p in src.iterdir())
    assert not (simple / "qux").exists() and not lost.exists()
    assert "qux/" not in hrefs(simple / "index.html")
    root = json.loads((simple / "index.json").read_text())
    assert "qux" not in [project["name"] for project in root["projects"]]
    assert "foo-1.2" not in (simple / "foo/index.json").read_text()


def _files_in_state(out: Path) -> set[str]:
    with sqlite3.connect(state_path(str(out))) as db:  # another connection: what is committed
        return {row[0] for row in db.execute("SELECT filename FROM files")}


def test_files_are_synced_before_the_state_lists_them(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "index"
    assert build([src], out).ok
    before = _files_in_state(out)
    new = make_wheel(src, "foo", "1.2")
    gone = src / "bar-2.0.zip"
    gone.unlink()
    simple = out / "simple"
    seen: list[tuple[set[str], bool, bool, bool]] = []

    def syncfs(fd: int) -> int:
        assert os.path.samefile(f"/proc/self/fd/{fd}", out)
        seen.append(
            (
                _files_in_state(out),
                (simple / "foo" / new.name).is_file(),
                (simple / "foo" / (new.name + ".metadata")).is_file(),
                (simple / "bar").exists(),
            )
        )
        return 0

    monkeypatch.setattr(durable, "_syncfs", syncfs)
    report = build([src], out, prune=True)
    assert report.ok and report.added == [new.name] and report.pruned == [gone.name]
    # Once before the commit (the new file on disk, the state not listing it
    # yet), once after the removal of the pruned project, before the build ends.
    assert seen == [
        (before, True, True, True),
        (before - {gone.name} | {new.name}, True, True, False),
    ]
    assert _files_in_state(out) == seen[1][0]
    seen.clear()
    assert build([src], out).pages_written == 0
    assert seen == []  # nothing written, nothing to sync


def test_without_syncfs_each_changed_path_is_fsynced_once(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "index"
    assert build([src], out).ok
    new = make_wheel(src, "quux", "1.0")  # a new project: a new directory
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(durable, "_syncfs", None)
    monkeypatch.setattr(os, "fsync", fsync)
    report = build([src], out)
    assert report.ok and report.added == [new.name]
    simple = str(out / "simple")
    project = os.path.join(simple, "quux")
    expected = {
        os.path.join(project, name)
        for name in (new.name, new.name + ".metadata", "index.html", "index.json")
    }
    expected |= {project, simple, str(out), os.path.join(simple, "index.html")}
    expected |= {os.path.join(simple, "index.json"), str(out / "index.html")}
    expected |= {str(out / "projects"), str(out / "projects" / "quux.html")}  # for people
    assert set(synced) == expected
    assert len(synced) == len(expected)  # one fsync per path, however often it changed


def test_a_failed_sync_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert durable._load_syncfs() is not None  # Linux: libc's syncfs is found
    batch = durable.SyncBatch(str(tmp_path))
    batch.flush()  # nothing noted: nothing to do
    batch.note(str(tmp_path / "file"))
    batch.flush()  # the real syncfs

    def failing(fd: int) -> int:
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(durable, "_syncfs", failing)
    batch.note(str(tmp_path / "file"))
    with pytest.raises(IndexStateError, match="cannot sync: Input/output error") as info:
        batch.flush()
    assert info.value.path == str(tmp_path)
