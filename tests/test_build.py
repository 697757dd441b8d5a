"""The index build engine: layout, links, incremental builds, problems, pruning."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildout.privateindex.dists import metadata
from buildout.privateindex.dists.model import Kind, ReadResult
from buildout.privateindex.engine.build import BuildReport, build_index, load_index
from buildout.privateindex.errors import IndexStateError, SourceError, YankSpecError
from distfactory import (
    core_metadata,
    make_egg,
    make_plain_tarball,
    make_sdist,
    make_truncated,
    make_wheel,
    write_wheel_archive,
)
from indexcheck import anchors, check_index, hrefs, page_bytes, sha256
from locks import lock_held_elsewhere

OLD = 1_000_000_000  # an mtime no build writes


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the files read_distribution reads (builds use jobs=1)."""
    seen: list[str] = []
    real = metadata.read_distribution

    def counting(path: str | os.PathLike[str], **kwargs: object) -> ReadResult:
        seen.append(os.path.basename(path))
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(metadata, "read_distribution", counting)
    yield seen


def build(sources: list[Path], out: Path, **kwargs: object) -> BuildReport:
    kwargs.setdefault("jobs", 1)
    return build_index(sources, out, **kwargs)  # type: ignore[arg-type]


def age_pages(out: Path) -> None:
    for page in page_bytes(out):
        os.utime(out / page, ns=(OLD * 10**9, OLD * 10**9))


def rewritten(out: Path) -> set[str]:
    return {page for page in page_bytes(out) if (out / page).stat().st_mtime_ns != OLD * 10**9}


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A source directory with a wheel, sdists, an egg, and unrelated files."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    make_wheel(src, "Foo", "1.0", requires_python=">=3.8")
    make_sdist(src / "sub", "foo", "1.1", "tar.bz2")
    make_sdist(src, "bar", "2.0", "zip")
    make_egg(src, "Baz.Qux", "0.1")
    (src / "notes.txt").write_text("not a distribution")
    (src / "sub" / "archive.rpm").write_bytes(b"\0")
    return src


def test_layout(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    report = build([src], out)
    assert report.ok, report.problems
    assert (report.files, report.projects) == (4, 3)
    assert report.added == [
        "bar-2.0.zip",
        "baz_qux-0.1-py3.11.egg",
        "foo-1.0-py3-none-any.whl",
        "foo-1.1.tar.bz2",
    ]
    assert report.pages_written == 3 * 3 + 3
    for page in ("index.html", "simple/index.html", "simple/index.json"):
        assert (out / page).is_file()
    for project in ("foo", "bar", "baz-qux"):
        assert (out / "simple" / project / "index.html").is_file()
        assert (out / "simple" / project / "index.json").is_file()
    wheel = out / "simple/foo/foo-1.0-py3-none-any.whl"
    assert wheel.read_bytes() == (src / wheel.name).read_bytes()
    assert b"Requires-Python: >=3.8" in wheel.with_name(wheel.name + ".metadata").read_bytes()
    assert not list(out.rglob("*.tar.bz2.metadata")) and not list(out.rglob("*.egg.metadata"))
    assert hrefs(out / "simple/index.html") == ["bar/", "baz-qux/", "foo/"]
    root = json.loads((out / "simple/index.json").read_text())
    assert [p["name"] for p in root["projects"]] == ["bar", "baz-qux", "foo"]
    assert sorted(check_index(out)) == report.added
    dists = load_index(out)
    assert [d.filename for d in dists] == [
        "bar-2.0.zip",
        "baz_qux-0.1-py3.11.egg",
        "foo-1.0-py3-none-any.whl",
        "foo-1.1.tar.bz2",
    ]
    assert [d.kind for d in dists] == [Kind.SDIST, Kind.EGG, Kind.WHEEL, Kind.SDIST]
    assert dists[2].requires_python == ">=3.8"


def test_relative_links(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    build([src], out)
    links = hrefs(out / "simple/foo/index.html")
    assert [link.partition("#")[0] for link in links] == [
        "foo-1.0-py3-none-any.whl",
        "foo-1.1.tar.bz2",
    ]
    data = json.loads((out / "simple/foo/index.json").read_text())
    assert [f["url"] for f in data["files"]] == ["foo-1.0-py3-none-any.whl", "foo-1.1.tar.bz2"]


def test_base_url(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    build([src], out, base_url="https://pkgs.example.org/private/simple/")
    link = hrefs(out / "simple/bar/index.html")[0]
    digest = sha256(src / "bar-2.0.zip")
    assert link == f"https://pkgs.example.org/private/simple/bar/bar-2.0.zip#sha256={digest}"
    data = json.loads((out / "simple/bar/index.json").read_text())
    assert data["files"][0]["url"] == "https://pkgs.example.org/private/simple/bar/bar-2.0.zip"


def test_files_are_hard_links_and_sources_untouched(src: Path, tmp_path: Path) -> None:
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in src.rglob("*") if p.is_file()}
    build([src], tmp_path / "index")
    for path, (mtime, data) in before.items():
        assert (path.stat().st_mtime_ns, path.read_bytes()) == (mtime, data)
    copy = tmp_path / "index/simple/foo/foo-1.1.tar.bz2"
    assert copy.stat().st_ino == (src / "sub/foo-1.1.tar.bz2").stat().st_ino


def test_deterministic(src: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    build([src], one)
    build([src], two, jobs=2)
    assert page_bytes(one) == page_bytes(two)
    assert len(page_bytes(one)) == 12  # per project: 2 simple pages and 1 for people


def test_no_change_rebuild_reads_and_writes_nothing(
    src: Path, tmp_path: Path, reads: list[str]
) -> None:
    out = tmp_path / "index"
    build([src], out)
    assert len(reads) == 4
    age_pages(out)
    state = out / ".privateindex/state.sqlite"
    state_mtime = state.stat().st_mtime_ns
    reads.clear()
    report = build([src], out)
    assert reads == []
    assert report.pages_written == 0 and report.added == [] and report.ok
    assert (report.files, report.projects) == (4, 3)
    assert rewritten(out) == set()
    assert state.stat().st_mtime_ns == state_mtime


def test_one_new_file_reads_one_file_and_writes_its_pages(
    src: Path, tmp_path: Path, reads: list[str]
) -> None:
    out = tmp_path / "index"
    build([src], out)
    age_pages(out)
    reads.clear()
    make_wheel(src, "foo", "2.0")
    report = build([src], out)
    assert reads == ["foo-2.0-py3-none-any.whl"]
    assert report.added == ["foo-2.0-py3-none-any.whl"]
    assert rewritten(out) == {
        "index.html",
        "projects/foo.html",
        "simple/foo/index.html",
        "simple/foo/index.json",
    }
    assert report.pages_written == 4
    # A new project also changes the root pages.
    age_pages(out)
    reads.clear()
    make_sdist(src, "new-project", "1.0")
    report = build([src], out)
    assert reads == ["new_project-1.0.tar.gz"]
    assert rewritten(out) == {
        "index.html",
        "projects/new-project.html",
        "simple/index.html",
        "simple/index.json",
        "simple/new-project/index.html",
        "simple/new-project/index.json",
    }
    assert report.pages_written == 6
    assert "new-project/" in hrefs(out / "simple/index.html")
    check_index(out)


def test_changed_file_is_read_again(src: Path, tmp_path: Path, reads: list[str]) -> None:
    out = tmp_path / "index"
    build([src], out)
    reads.clear()
    os.utime(src / "bar-2.0.zip", ns=(OLD * 10**9, OLD * 10**9))
    report = build([src], out)
    assert reads == ["bar-2.0.zip"]
    assert report.ok and report.pages_written == 0


def test_parallel_reading_reports_progress(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(20):
        make_wheel(src, f"pkg{i % 5}", f"1.{i}")
    calls: list[tuple[int, int]] = []
    report = build_index(
        [src], tmp_path / "index", jobs=3, progress=lambda d, t: calls.append((d, t))
    )
    assert report.ok and report.files == 20 and report.projects == 5
    assert calls == [(i, 20) for i in range(1, 21)]
    check_index(tmp_path / "index")


@pytest.mark.parametrize("jobs", [1, 2])
def test_sources_under_names_that_are_not_utf8(tmp_path: Path, jobs: int) -> None:
    # A download cache may sit below any directory name the file system allows.
    odd = os.fsdecode(b"cache-\xff")
    sources = [tmp_path / odd / "a", tmp_path / odd / "b" / os.fsdecode(b"deep-\xfe")]
    for i, source in enumerate(sources):
        source.mkdir(parents=True)
        for j in range(6):
            make_wheel(source, f"pkg{j}", f"{i}.{j}")
    out = tmp_path / "index"
    report = build_index([tmp_path / odd], out, jobs=jobs)
    assert report.ok and report.files == 12 and report.projects == 6
    check_index(out)
    rows = {dist.filename: dist for dist in load_index(out)}
    assert sorted(rows) == sorted(p.name for s in sources for p in s.iterdir())
    assert (out / "simple" / "pkg0" / "pkg0-1.0-py3-none-any.whl").samefile(
        sources[1] / "pkg0-1.0-py3-none-any.whl"
    )
    assert build_index([tmp_path / odd], out, jobs=jobs).added == []  # the scan cache knows them


def test_settings_change_rerenders_every_page(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    build([src], out)
    before = page_bytes(out)
    age_pages(out)
    report = build([src], out, yanks=["Foo==1.0.0: broken", "bar==2"])
    assert rewritten(out) == set(before)
    assert report.pages_written == len(before)
    foo = {
        (a["href"] or "").partition("#")[0]: a.get("data-yanked")
        for a in anchors(out / "simple/foo/index.html")
    }
    assert foo == {"foo-1.0-py3-none-any.whl": "broken", "foo-1.1.tar.bz2": None}
    bar = json.loads((out / "simple/bar/index.json").read_text())
    assert bar["files"][0]["yanked"] is True
    # The same settings again: nothing to do.
    assert build([src], out, yanks=["bar==2", "Foo==1.0.0: broken"]).pages_written == 0
    # Back to no yanks and a base URL.
    report = build([src], out, base_url="http://localhost:8080/simple")
    assert report.pages_written == len(before)
    assert hrefs(out / "simple/bar/index.html")[0].startswith("http://localhost:8080/simple/bar/")
    assert build([src], out).pages_written == len(before)
    assert page_bytes(out) == before


def test_invalid_yank_is_refused_before_any_work(src: Path, tmp_path: Path) -> None:
    with pytest.raises(YankSpecError):
        build([src], tmp_path / "index", yanks=["foo>=1.0"])
    assert not (tmp_path / "index").exists()


def test_missing_pages_are_rendered_again(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    build([src], out)
    before = page_bytes(out)
    (out / "simple/bar/index.json").unlink()
    (out / "simple/index.html").unlink()
    report = build([src], out)
    assert report.pages_written > 0
    assert page_bytes(out) == before


def test_missing_source_is_an_error(src: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        build([src, tmp_path / "nowhere"], tmp_path / "index")
    assert info.value.path == str(tmp_path / "nowhere")
    assert info.value.reason == "no such file or directory"
    assert not (tmp_path / "index").exists()


def test_single_file_sources(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    report = build([src / "bar-2.0.zip", src / "notes.txt"], out)
    assert report.added == ["bar-2.0.zip"]
    assert [p.path for p in report.problems] == [str(src / "notes.txt")]


def test_nothing_is_lost_when_a_source_file_disappears(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    build([src], out)
    (src / "foo-1.0-py3-none-any.whl").unlink()
    report = build([src], out)
    assert report.files == 4 and report.pruned == [] and report.pages_written == 0
    assert "foo-1.0-py3-none-any.whl" in check_index(out)
    assert "foo-1.0-py3-none-any.whl" in {d.filename for d in load_index(out)}
    # Even from a source that is gone entirely.
    other = tmp_path / "other"
    other.mkdir()
    make_wheel(other, "temporary", "1.0")
    build([other], out)
    for path in other.iterdir():
        path.unlink()
    other.rmdir()
    assert build([src], out).files == 5
    assert "temporary-1.0-py3-none-any.whl" in check_index(out)


def test_prune(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    build([src], out)
    (src / "foo-1.0-py3-none-any.whl").unlink()
    (src / "bar-2.0.zip").unlink()
    age_pages(out)
    report = build([src], out, prune=True)
    assert report.pruned == ["bar-2.0.zip", "foo-1.0-py3-none-any.whl"]
    assert (report.files, report.projects) == (2, 2)
    assert not (out / "simple/foo/foo-1.0-py3-none-any.whl").exists()
    assert not (out / "simple/foo/foo-1.0-py3-none-any.whl.metadata").exists()
    assert not (out / "simple/bar").exists()
    assert hrefs(out / "simple/index.html") == ["baz-qux/", "foo/"]
    assert rewritten(out) == {
        "index.html",
        "projects/foo.html",
        "simple/index.html",
        "simple/index.json",
        "simple/foo/index.html",
        "simple/foo/index.json",
    }
    assert not (out / "projects/bar.html").exists()
    assert "projects/bar.html" not in hrefs(out / "index.html")
    assert sorted(check_index(out)) == ["baz_qux-0.1-py3.11.egg", "foo-1.1.tar.bz2"]
    assert [d.filename for d in load_index(out)] == sorted(check_index(out))
    assert build([src], out, prune=True).pruned == []


def test_same_file_in_two_sources(src: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "bar-2.0.zip").write_bytes((src / "bar-2.0.zip").read_bytes())
    report = build([src, copy], tmp_path / "index")
    assert report.ok and report.files == 4


def test_conflicting_files_keep_the_first(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    make_wheel(first, "foo", "1.0", summary="first")
    make_wheel(second, "foo", "1.0", summary="second")
    out = tmp_path / "index"
    report = build([first, second], out)
    name = "foo-1.0-py3-none-any.whl"
    assert report.added == [name]
    [problem] = report.problems
    assert problem.path == str(second / name)
    assert str(first / name) in problem.reason and "different content" in problem.reason
    assert check_index(out) == {name: sha256(first / name)}
    # The other order next time: the indexed copy still wins.
    report = build([second, first], out)
    assert [p.path for p in report.problems] == [str(second / name)]
    assert check_index(out) == {name: sha256(first / name)}


def test_changed_content_under_an_indexed_name_is_a_conflict(
    tmp_path: Path, reads: list[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    wheel = make_wheel(src, "foo", "1.0", summary="original")
    out = tmp_path / "index"
    build([src], out)
    original = sha256(wheel)
    # Replaced (a new file under the same name), as a download does it.
    wheel.unlink()
    make_wheel(src, "foo", "1.0", summary="changed")
    reads.clear()
    report = build([src], out)
    assert reads == [wheel.name]
    [problem] = report.problems
    assert problem.path == str(wheel) and "different content" in problem.reason
    assert check_index(out) == {wheel.name: original}
    # Reported again, from the cache (no reading).
    reads.clear()
    assert [p.path for p in build([src], out).problems] == [str(wheel)]
    assert reads == []
    # Even prune keeps a file whose name is still in a source.
    assert build([src], out, prune=True).pruned == []


def test_modified_in_place_is_reported(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    wheel = make_wheel(src, "foo", "1.0")
    out = tmp_path / "index"
    build([src], out)
    with wheel.open("r+b") as stream:  # in place: the index copy (a hard link) changes too
        stream.seek(50)  # inside the compressed module, which reading does not check
        stream.write(b"\xff\xff")
    [problem] = build([src], out).problems
    assert problem.path == str(wheel) and "hard link" in problem.reason


def test_bad_files_are_reported_once_and_the_rest_indexed(
    src: Path, tmp_path: Path, reads: list[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty-1.0.tar.gz").write_bytes(b"")
    good_wheel = make_wheel(tmp_path, "trunc", "1.0", modules={"trunc.py": "x = 1\n" * 5000})
    make_truncated(good_wheel, bad)
    (bad / "garbage-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 this is no zip" * 10)
    make_plain_tarball(bad)
    (bad / "looks-1.0.tar.gz").mkdir()
    (bad / "looks-1.0.tar.gz" / "inside-1.0.tar.gz").write_bytes(b"never scanned")
    (bad / "loop").symlink_to(bad)
    make_sdist(bad, "good", "1.0", filename="a<b>&\"c'-1.0.tar.gz")
    (bad / "dangling-1.0.tar.gz").symlink_to(tmp_path / "nowhere")
    make_wheel(bad, "spicy", "1.0", summary='<script>alert("x")</script> & co')
    # pip refuses a wheel whose .dist-info is named for another project
    mism = {"other-9.9.dist-info/METADATA": core_metadata("mism", "1.0").encode()}
    write_wheel_archive(bad / "mism-1.0-py3-none-any.whl", mism, "other-9.9.dist-info")
    out = tmp_path / "index"
    report = build([src, bad], out)
    problems = {os.path.basename(p.path): p.reason for p in report.problems}
    assert sorted(problems) == sorted(
        [
            "empty-1.0.tar.gz",
            "trunc-1.0-py3-none-any.whl",
            "garbage-1.0-py3-none-any.whl",
            "nginx-1.2.3.tar.gz",
            "looks-1.0.tar.gz",
            "loop",
            "a<b>&\"c'-1.0.tar.gz",
            "dangling-1.0.tar.gz",
            "mism-1.0-py3-none-any.whl",
        ]
    )
    assert len(report.problems) == len(problems)
    assert problems["nginx-1.2.3.tar.gz"].startswith("skipped")
    assert "loop" in problems["loop"]
    assert report.files == 5 and "spicy-1.0-py3-none-any.whl" in report.added
    landing = (out / "index.html").read_text()
    # The page's own filter script only; the summary's is text.
    assert landing.count("<script") == 1 and "&lt;script&gt;" in landing
    assert "<script" not in (out / "projects" / "spicy.html").read_text()
    assert b"a<b>" not in b"".join(page_bytes(out).values())
    check_index(out)
    # The next build reports them again, without reading the unchanged bad files.
    reads.clear()
    again = build([src, bad], out)
    assert again.problems == report.problems
    assert reads == []


def test_symlinked_directories_are_followed(src: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    make_wheel(elsewhere, "linked", "1.0")
    (src / "link").symlink_to(elsewhere)
    (src / "link-again").symlink_to(elsewhere)
    report = build([src], tmp_path / "index")
    assert report.ok and "linked-1.0-py3-none-any.whl" in report.added


def test_output_inside_a_source_is_not_scanned(src: Path) -> None:
    out = src / "index"
    first = build([src], out)
    assert first.ok and first.files == 4
    second = build([src], out)
    assert second.ok and second.pages_written == 0 and second.files == 4
    with pytest.raises(SourceError):
        build([out / "simple"], out)


def test_refuses_a_foreign_directory(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    with pytest.raises(IndexStateError):
        build([src], out)
    with pytest.raises(IndexStateError):
        load_index(out)
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


def test_lock_timeout(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    build([src], out)
    with (
        lock_held_elsewhere(out),
        pytest.raises(IndexStateError, match=r"held the lock for 0\.1 seconds"),
    ):
        build([src], out, lock_timeout=0.1)


def test_a_build_waits_for_the_lock_then_runs(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    build([src], out)
    (src / "extra").mkdir()
    make_wheel(src / "extra", "late", "1.0")
    waiting = threading.Thread(target=build, args=([src], out), kwargs={"lock_timeout": 30})
    with lock_held_elsewhere(out):
        waiting.start()
        time.sleep(0.3)
        assert waiting.is_alive()  # it waits for the other process
        assert not (out / "simple" / "late").exists()
    waiting.join(30)
    assert not waiting.is_alive()
    assert (out / "simple" / "late" / "index.html").is_file()


def test_broken_state_is_an_error(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    build([src], out)
    (out / ".privateindex/state.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(IndexStateError):
        build([src], out)


def test_relative_and_absolute_sources_share_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    """The same source spelt two ways is read once, not once per spelling."""
    src = tmp_path / "src"
    src.mkdir()
    make_wheel(src, "spelling", "1.0")
    monkeypatch.chdir(tmp_path)
    build_index([src], tmp_path / "out", jobs=1)
    assert reads == ["spelling-1.0-py3-none-any.whl"]
    report = build_index(["src"], "out", jobs=1)
    assert reads == ["spelling-1.0-py3-none-any.whl"]
    assert report.pages_written == 0


def test_incremental_pages_equal_a_fresh_build(src: Path, tmp_path: Path) -> None:
    """Pages updated one project at a time are byte-identical to pages built at once."""
    out = tmp_path / "index"
    build([src], out)
    make_wheel(src, "foo", "2.0")
    make_sdist(src, "new-project", "1.0")
    build([src], out)
    (src / "bar-2.0.zip").unlink()
    build([src], out, prune=True)
    fresh = tmp_path / "fresh"
    build([src], fresh)
    assert page_bytes(out) == page_bytes(fresh)
    landing = (out / "index.html").read_text()
    assert "4 projects, 5 files" not in landing and "3 projects, 5 files" in landing
    assert 'id="bar"' not in landing and 'id="new-project"' in landing


def test_state_of_an_older_layout_is_upgraded(src: Path, tmp_path: Path) -> None:
    """An index written with state schema 1 (no landing sections) is upgraded in place."""
    out = tmp_path / "index"
    build([src], out)
    expected = page_bytes(out)
    db = sqlite3.connect(out / ".privateindex/state.sqlite")
    db.executescript("DROP TABLE sections; UPDATE meta SET value = '1' WHERE key = 'schema';")
    db.close()
    age_pages(out)
    report = build([src], out)
    assert report.ok and report.added == [] and report.files == 4
    assert rewritten(out) == set(expected)  # every page, once
    assert page_bytes(out) == expected
    make_wheel(src, "foo", "2.0")  # and incremental builds work again
    assert build([src], out).added == ["foo-2.0-py3-none-any.whl"]
    check_index(out)


def test_a_yank_that_matches_no_file_is_reported(
    src: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="buildout.privateindex")
    build([src], tmp_path / "index", yanks=["foo==1.0", "foo==9.9", "nothing==1"])
    unused = [r.getMessage() for r in caplog.records if "matches no file" in r.getMessage()]
    assert unused == [
        "yank foo==9.9 matches no file in the index",
        "yank nothing==1 matches no file in the index",
    ]


def test_control_characters_never_reach_a_page(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_wheel(
        src,
        "noisy",
        "1.0",
        summary="ring\x07 the \x1b[31mbell\x00 \u202eevil",
        requires_python=">=3.8\x1b[0m,\x00<4",
    )
    pkg_info = core_metadata("quiet", "1.0", summary="tab\tand\x1funit\x85separators")
    make_sdist(src, "quiet", "1.0", pkg_info=pkg_info)
    out = tmp_path / "index"
    report = build([src], out)
    assert report.ok, report.problems
    pages = page_bytes(out)
    for name, data in pages.items():
        text = data.decode("utf-8")
        assert not [c for c in text if (c < " " and c != "\n") or c in "\x7f\u202e"], name
    landing = (out / "index.html").read_text()
    assert "ring the [31mbell evil" in landing
    assert "tab and unit separators" in landing
    [noisy] = json.loads((out / "simple" / "noisy" / "index.json").read_text())["files"]
    assert noisy["requires-python"] == ">=3.8[0m,<4"


def test_a_tree_of_any_depth_is_scanned(tmp_path: Path) -> None:
    src = tmp_path / "src"
    deep = src
    for _ in range(1500):  # far past Python's recursion limit (and mkdir -p's)
        deep = deep / "d"
        deep.mkdir(parents=deep.parent == src)
    try:
        make_wheel(deep, "deep", "1.0")
        make_wheel(src, "shallow", "1.0")
        (deep / "loop").symlink_to(src / "d")
        report = build([src], tmp_path / "index")
        assert report.added == ["deep-1.0-py3-none-any.whl", "shallow-1.0-py3-none-any.whl"]
        assert [(p.path, p.reason) for p in report.problems] == [
            (str(deep / "loop"), "symbolic link loop; not followed")
        ]
    finally:
        _remove_deep(src)  # shutil.rmtree, and so pytest, recurses: it cannot


def _remove_deep(top: Path) -> None:
    """Remove a tree of any depth, deepest directories first, without recursion."""
    pending, order = [str(top)], []
    while pending:
        path = pending.pop()
        order.append(path)
        with os.scandir(path) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    os.unlink(entry.path)
    for path in reversed(order):
        os.rmdir(path)


def _mkdir_at(fd: int, name: str) -> int:
    os.mkdir(name, dir_fd=fd)
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)


def test_a_path_longer_than_path_max_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_wheel(src, "near", "1.0")
    # Made relative to open directories: no path this long can be passed whole.
    name = "n" * 200
    fds = [os.open(src, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for _ in range(os.pathconf(src, "PC_PATH_MAX") // 200 + 1):
            fds.append(_mkdir_at(fds[-1], name))
        data = (src / "near-1.0-py3-none-any.whl").read_bytes()
        fd = os.open("far-1.0-py3-none-any.whl", os.O_WRONLY | os.O_CREAT, dir_fd=fds[-1])
        os.write(fd, data)
        os.close(fd)
    finally:
        for fd in fds:
            os.close(fd)
    report = build([src], tmp_path / "index")
    assert report.added == ["near-1.0-py3-none-any.whl"]
    [problem] = report.problems
    assert len(problem.path) > os.pathconf(src, "PC_PATH_MAX") and problem.path.startswith(str(src))
    assert problem.reason.endswith("its path is longer than this system allows (PATH_MAX)")
    # The command line counts it, and fails with --strict.
    from buildout.privateindex.cli import main

    assert main(["build", "--strict", "-q", str(src), "-o", str(tmp_path / "index")]) == 1
    assert "PATH_MAX" in capsys.readouterr().err
