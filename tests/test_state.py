"""The pieces of the build engine: state database, safe writes, scanning, reading."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import pytest

from buildout.privateindex.dists.model import DistFile, Kind, Problem
from buildout.privateindex.engine import cleanup, fsutil
from buildout.privateindex.engine.candidates import CandidateList
from buildout.privateindex.engine.reading import read_files
from buildout.privateindex.engine.scan import check_sources, iter_candidates
from buildout.privateindex.engine.state import (
    IndexState,
    ScanEntry,
    dist_to_row,
    row_to_dist,
    state_path,
)
from buildout.privateindex.errors import IndexStateError, SourceError
from distfactory import make_plain_tarball, make_sdist, make_wheel

SDIST = DistFile(
    "foo-1.0.tar.gz", "foo", "Foo", "1.0", Kind.SDIST, 10, "a" * 64, 123, ">=3.8", "Sum", None,
    ("setuptools", "wheel"),
)  # fmt: skip
WHEEL = DistFile(
    "foo-1.0-py3-none-any.whl", "foo", "Foo", "1.0", Kind.WHEEL, 20, "b" * 64, 456,
    metadata_sha256="c" * 64,
)  # fmt: skip


def _open(tmp_path: Path) -> IndexState:
    (tmp_path / ".privateindex").mkdir(exist_ok=True)
    return IndexState.open(str(tmp_path))


def test_state_round_trip(tmp_path: Path) -> None:
    with _open(tmp_path) as state:
        assert state.load_scan_cache() == {} and state.file_projects() == {}
        assert (state.settings, state.dirty, state.totals()) == (None, False, (0, 0, 0))
        state.record_scan("/bad", ScanEntry(1, 2, error="broken", skipped=True))
        state.set_dirty(True)  # commits what came before
        state.add_file(dist_to_row(SDIST, "/src/foo-1.0.tar.gz"))
        state.add_file(dist_to_row(WHEEL, "/w"))
        state.record_scan("/w", ScanEntry(20, 456, WHEEL.filename, WHEEL.sha256, indexed=1))
        state.set_section("foo", "<h2>foo</h2>\n", 2, 30)
        state.set_settings("fingerprint")
        # The transaction's changes are visible inside it.
        assert state.project_dists("foo") == [WHEEL, SDIST]  # by file name
        state.commit()
    with IndexState.open(str(tmp_path), create=False) as state:
        assert state.project_dists("foo") == [WHEEL, SDIST]
        assert state.file_row("nothing.whl") is None
        assert state.file_row(SDIST.filename)[-1] == "/src/foo-1.0.tar.gz"  # type: ignore[index]
        assert state.load_scan_cache() == {"/w": (20, 456, 1), "/bad": (1, 2, 0)}
        assert state.scan_entry("/bad") == ScanEntry(1, 2, error="broken", skipped=True)
        assert state.scan_entry("/elsewhere") is None
        assert (state.settings, state.dirty) == ("fingerprint", True)
        assert (list(state.sections()), state.totals()) == (["<h2>foo</h2>\n"], (1, 2, 30))
        assert [(p, [d.filename for d in ds]) for p, ds in state.iter_projects()] == [
            ("foo", [WHEEL.filename, SDIST.filename])
        ]
        state.remove_files([WHEEL.filename])
        state.forget_scans(["/w"])
        state.set_section("foo", None)
        state.set_dirty(False)
    with IndexState.open(str(tmp_path), create=False) as state:
        assert state.file_projects() == {SDIST.filename: "foo"} and list(
            state.load_scan_cache()
        ) == ["/bad"]
        assert (state.projects(), state.count_files(), state.totals()) == ({"foo"}, 1, (0, 0, 0))
        assert not state.dirty


def test_uncommitted_changes_are_rolled_back(tmp_path: Path) -> None:
    with _open(tmp_path) as state:
        state.set_dirty(True)
        state.add_file(dist_to_row(WHEEL, "/w"))
        state.record_scan("/w", ScanEntry(20, 456, WHEEL.filename, WHEEL.sha256, indexed=1))
    with IndexState.open(str(tmp_path), create=False) as state:  # as after a killed build
        assert (state.file_projects(), state.load_scan_cache(), state.dirty) == ({}, {}, True)


def test_rows_round_trip() -> None:
    for dist in (SDIST, WHEEL, SDIST._replace(build_requires=())):
        assert row_to_dist(dist_to_row(dist, "/src")) == dist


def test_state_errors(tmp_path: Path) -> None:
    with pytest.raises(IndexStateError, match="no state"):
        IndexState.open(str(tmp_path), create=False)
    _open(tmp_path).close()
    db = sqlite3.connect(state_path(str(tmp_path)))
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(IndexStateError, match="schema"):
        _open(tmp_path)


def test_write_atomic(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_text("old")
    old_umask = os.umask(0o022)
    try:
        fsutil.write_atomic(str(target), b"new")
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path) == ["page.html"]


def test_place_file_links_or_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "source.whl"
    source.write_bytes(b"data")
    os.utime(source, ns=(10**18, 10**18))
    linked = tmp_path / "linked.whl"
    assert fsutil.place_file(str(source), str(linked)) is True
    assert linked.stat().st_ino == source.stat().st_ino
    assert fsutil.place_file(str(source), str(linked)) is True  # already there
    stale = tmp_path / "stale.whl"
    stale.write_bytes(b"stale")  # e.g. left by a killed build: replaced, atomically
    assert fsutil.place_file(str(source), str(stale)) is True
    assert stale.stat().st_ino == source.stat().st_ino

    def no_link(src: str, dst: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    copied = tmp_path / "copied.whl"
    copied.write_bytes(b"stale")
    assert fsutil.place_file(str(source), str(copied)) is False
    assert copied.read_bytes() == b"data" and copied.stat().st_ino != source.stat().st_ino
    assert copied.stat().st_mtime_ns == 10**18
    assert sorted(os.listdir(tmp_path)) == ["copied.whl", "linked.whl", "source.whl", "stale.whl"]


def test_remove_temp_files(tmp_path: Path) -> None:
    (tmp_path / "simple/foo").mkdir(parents=True)
    (tmp_path / ".privateindex").mkdir()
    temps = [
        tmp_path / f"{fsutil.TEMP_PREFIX}1.tmp",
        tmp_path / f"simple/foo/{fsutil.TEMP_PREFIX}2.tmp",
    ]
    keep = [tmp_path / "simple/foo/foo-1.0.tar.gz", tmp_path / f".privateindex/{temps[0].name}"]
    for path in temps + keep:
        path.write_text("x")
    assert cleanup.remove_temp_files(str(tmp_path)) == 2
    assert [path.exists() for path in temps + keep] == [False, False, True, True]


def test_scan(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "b").mkdir(parents=True)
    (src / "a").mkdir()
    make_wheel(src / "b", "two", "1.0")
    make_wheel(src / "a", "one", "1.0")
    make_sdist(src, "zero", "1.0")
    (src / "README").write_text("ignored")
    (src / "a" / "up").symlink_to(src)  # a loop
    (src / "b" / "again").symlink_to(src / "a")  # scanned once
    os.mkfifo(src / "fifo-1.0.tar.gz")
    (src / "out").mkdir()
    make_wheel(src / "out", "inside", "1.0")
    problems: list[Problem] = []
    sources = [str(src), str(src / "zero-1.0.tar.gz")]
    candidates = list(iter_candidates(sources, str(src / "out"), problems))
    assert [c.filename for c in candidates] == [
        "one-1.0-py3-none-any.whl",
        "two-1.0-py3-none-any.whl",
        "zero-1.0.tar.gz",
    ]
    assert [(Path(p.path).name, p.reason) for p in problems] == [
        ("up", "symbolic link loop; not followed"),
        ("fifo-1.0.tar.gz", "not a regular file"),
    ]
    assert candidates[2].signature == (
        (src / "zero-1.0.tar.gz").stat().st_size,
        (src / "zero-1.0.tar.gz").stat().st_mtime_ns,
    )


def test_check_sources(tmp_path: Path) -> None:
    assert check_sources([tmp_path], str(tmp_path / "out")) == [str(tmp_path)]
    with pytest.raises(SourceError, match="no such file"):
        check_sources([tmp_path / "missing"], str(tmp_path / "out"))
    (tmp_path / "out/simple").mkdir(parents=True)
    for inside in ("out", "out/simple"):
        with pytest.raises(SourceError, match="inside the output"):
            check_sources([tmp_path / inside], str(tmp_path / "out"))


def test_read_files_serial_and_parallel_agree(tmp_path: Path) -> None:
    for i in range(12):
        make_wheel(tmp_path, f"pkg{i}", "1.0")
    make_plain_tarball(tmp_path)
    (tmp_path / "broken-1.0.tar.gz").write_bytes(b"nonsense")
    candidates = list(iter_candidates([str(tmp_path)], None, []))
    serial = list(read_files(candidates, jobs=1))
    parallel = list(read_files(candidates, jobs=2))
    assert serial == parallel
    assert [o.candidate.filename for o in serial] == [c.filename for c in candidates]
    bad = {o.candidate.filename: o for o in serial if o.result is None}
    assert sorted(bad) == ["broken-1.0.tar.gz", "nginx-1.2.3.tar.gz"]
    assert bad["nginx-1.2.3.tar.gz"].skipped and not bad["broken-1.0.tar.gz"].skipped
    wheel = next(o.result for o in serial if o.result is not None)
    assert wheel.core_metadata is not None and wheel.dist.metadata_sha256 is not None


def test_a_file_changed_since_the_scan_is_not_cached(tmp_path: Path) -> None:
    make_wheel(tmp_path, "pkg", "1.0")
    (candidate,) = iter_candidates([str(tmp_path)], None, [])
    (outcome,) = read_files([candidate._replace(mtime_ns=candidate.mtime_ns - 1)])
    assert outcome.result is None and not outcome.cacheable
    assert outcome.error == "cannot read: the file changed while the build ran"
    (outcome,) = read_files([candidate])
    assert outcome.result is not None and outcome.result.dist.mtime_ns == candidate.mtime_ns


def test_read_files_in_parallel_gives_every_outcome_once_in_order(tmp_path: Path) -> None:
    """However the files are split between the readers (small chunks first,
    then larger): 150 files, large ones among small ones, as a list and as
    the build's column list."""
    for i in range(150):
        payload = os.urandom(300_000 if i % 37 == 0 else 1_000 + 50 * i)
        make_wheel(tmp_path, f"pkg{i}", "1.0", extra_files={f"pkg{i}/data.bin": payload})
    candidates = list(iter_candidates([str(tmp_path)], None, []))
    serial = list(read_files(candidates, jobs=1))
    assert all(o.result is not None for o in serial) and len(serial) == 150
    for jobs in (2, 3):
        assert list(read_files(candidates, jobs=jobs)) == serial
        assert list(read_files(CandidateList(candidates), jobs=jobs)) == serial
