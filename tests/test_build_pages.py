"""When a build writes its pages: a project's as soon as its files are in place."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from buildout.privateindex.dists import metadata
from buildout.privateindex.dists.model import ReadResult
from buildout.privateindex.engine import fsutil, placing
from buildout.privateindex.engine.build import build_index
from buildout.privateindex.errors import IndexStateError
from distfactory import make_sdist, make_wheel
from indexcheck import check_index, page_bytes


def _events(monkeypatch: pytest.MonkeyPatch, out: Path) -> list[str]:
    """What the build does, in order: "read NAME" and "write PAGE"."""
    events: list[str] = []
    read, write = metadata.read_distribution, fsutil.write_atomic

    def reading(path: str, **kwargs: object) -> ReadResult:
        events.append(f"read {os.path.basename(path)}")
        return read(path, **kwargs)  # type: ignore[arg-type]

    def writing(path: str, data: object) -> None:
        if os.path.basename(path).startswith("index."):
            events.append(f"write {os.path.relpath(path, out)}")
        write(path, data)  # type: ignore[arg-type]

    monkeypatch.setattr(metadata, "read_distribution", reading)
    monkeypatch.setattr(fsutil, "write_atomic", writing)
    return events


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A source directory with the wheels of two projects."""
    src = tmp_path / "src"
    src.mkdir()
    make_wheel(src, "alpha", "1.0")
    make_wheel(src, "beta", "1.0")
    return src


def test_project_pages_are_written_while_other_files_are_read(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "index"
    make_sdist(src, "alpha", "1.0")
    make_wheel(src, "gamma", "1.0")
    events = _events(monkeypatch, out)
    report = build_index([src], out, jobs=1)
    assert report.ok and report.pages_written == 3 * 3 + 3  # each page once
    assert events == [
        "read alpha-1.0-py3-none-any.whl",
        "read alpha-1.0.tar.gz",
        "write simple/alpha/index.json",
        "write simple/alpha/index.html",
        "read beta-1.0-py3-none-any.whl",
        "write simple/beta/index.json",
        "write simple/beta/index.html",
        "read gamma-1.0-py3-none-any.whl",
        "write simple/gamma/index.json",
        "write simple/gamma/index.html",
        "write simple/index.json",
        "write simple/index.html",
        "write index.html",
    ]
    check_index(out)
    # Pages written early are the pages a build writes at the end.
    monkeypatch.undo()
    fresh = tmp_path / "fresh"
    build_index([src], fresh, jobs=1, prune=True)  # prune: pages at the end
    assert page_bytes(fresh) == page_bytes(out)


def test_a_file_its_name_does_not_place_still_reaches_its_project_page(
    src: Path, tmp_path: Path
) -> None:
    """Pages are written early by the project a file's name suggests; a legacy
    sdist name (``alpha-1.0-r1.tar.gz`` reads as project ``alpha-1.0``) is
    placed by its metadata, and its project's pages still list it."""
    make_sdist(src, "alpha", "1.0.post1", filename="alpha-1.0-r1.tar.gz")
    out = tmp_path / "index"
    report = build_index([src], out, jobs=1)
    assert report.ok, report.problems
    html = (out / "simple" / "alpha" / "index.html").read_text()
    assert "alpha-1.0-r1.tar.gz" in html
    fresh = tmp_path / "fresh"
    build_index([src], fresh, jobs=1, prune=True)  # prune: every page at the end
    assert page_bytes(fresh) == page_bytes(out)


def test_a_page_that_cannot_be_written_fails_the_build_and_the_next_one_recovers(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "index"
    write = fsutil.write_atomic

    def full_disk(path: str, data: object) -> None:
        if path.endswith(os.path.join("beta", "index.json")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        write(path, data)  # type: ignore[arg-type]

    monkeypatch.setattr(fsutil, "write_atomic", full_disk)
    with pytest.raises(IndexStateError, match="cannot write the index: No space left"):
        build_index([src], out, jobs=1)
    monkeypatch.undo()
    report = build_index([src], out, jobs=1)
    assert report.ok and report.files == 2
    assert sorted(check_index(out)) == ["alpha-1.0-py3-none-any.whl", "beta-1.0-py3-none-any.whl"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cold_builds_early_pages_are_those_its_state_gives(
    src: Path, tmp_path: Path, jobs: int
) -> None:
    """A cold build writes project pages from what it placed, not from its
    state; re-rendered from the state they are the same bytes: dates clamped
    to when the index first held a file, a file its name does not place,
    several sources."""
    make_sdist(src, "alpha", "1.0.post1", filename="alpha-1.0-r1.tar.gz")
    future = make_wheel(src, "beta", "2.0")
    year_2099 = 4070908800 * 10**9
    os.utime(future, ns=(year_2099, year_2099))
    more = tmp_path / "more"
    more.mkdir()
    for n in range(12):
        make_wheel(more, f"many-{n % 3}", f"1.{n}")
    out = tmp_path / "index"
    report = build_index([src, more], out, jobs=jobs)
    assert report.ok and report.files == 16, report.problems
    early = page_bytes(out)
    assert b"2099-" not in early["simple/beta/index.json"]
    # A changed setting has every page written again from the state.
    assert build_index([src, more], out, jobs=jobs, yanks=["alpha==9"]).pages_written
    assert build_index([src, more], out, jobs=jobs).pages_written
    assert page_bytes(out) == early
    check_index(out)


@pytest.mark.parametrize("alone", [True, False])
def test_a_project_whose_only_file_is_lost_and_unreadable_leaves_the_index(
    tmp_path: Path, alone: bool
) -> None:
    """Its pages, directory and landing row go: no page links a file that is
    not there (alone: the build that notices it starts from an empty state)."""
    src = tmp_path / "src"
    src.mkdir()
    if not alone:
        make_wheel(src, "alpha", "1.0")
    wheel = make_wheel(src, "gone", "1.0")
    out = tmp_path / "index"
    build_index([src], out, jobs=1)
    (out / "simple" / "gone" / wheel.name).unlink()  # the index lost it
    wheel.write_bytes(b"not a wheel any more")  # and its source cannot give it back
    for _ in range(2):
        report = build_index([src], out, jobs=1)
        assert [p.path for p in report.problems] == [str(wheel)]
        assert not (out / "simple" / "gone").exists()
        assert not (out / "projects" / "gone.html").exists()
        assert 'id="gone"' not in (out / "index.html").read_text()
        check_index(out)


def test_early_pages_beyond_the_rows_a_cold_build_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sources, each with one file of every project: a cold build keeps
    the rows of half the files until their projects' pages are written; past
    its bound it writes them from the state, with the same bytes."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for n in range(30):
        make_wheel(a, f"proj-{n}", "1.0")
        make_wheel(b, f"proj-{n}", "2.0")
    expected = tmp_path / "expected"
    build_index([a, b], expected, jobs=1)
    monkeypatch.setattr(placing, "_MAX_HELD", 10)
    out = tmp_path / "index"
    report = build_index([a, b], out, jobs=1)
    assert report.ok and report.files == 60
    assert page_bytes(out) == page_bytes(expected)
    check_index(out)
