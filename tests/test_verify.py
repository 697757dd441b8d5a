"""``verify_index``: a clean index is clean, every kind of damage is named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index
from buildout.privateindex.engine.render import root_html
from buildout.privateindex.engine.verify import verify_index
from distfactory import make_egg, make_sdist, make_tinybackend_wheel, make_wheel


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    make_wheel(src, "foo", "1.0")
    make_wheel(src, "foo", "1.1", requires_python=">=3.8")
    make_sdist(src, "foo", "1.1")
    make_sdist(src, "Bar.Baz", "2.0", fmt="zip")
    make_egg(src, "old", "0.1")
    make_tinybackend_wheel(src)  # what the sdists build with
    out = tmp_path_factory.mktemp("pristine") / "index"
    report = build_index([src], out, yanks=["foo==1.0: broken"])
    assert report.ok and report.files == 6
    return out


@pytest.fixture
def index(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the built index, to damage."""
    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    return copy


def wheel_of(index: Path, version: str = "1.0") -> Path:
    return index / "simple" / "foo" / f"foo-{version}-py3-none-any.whl"


def test_clean_index(index: Path) -> None:
    notes: list[str] = []
    assert verify_index(index, notes=notes) == []
    assert notes == []


def test_absolute_links(tmp_path: Path) -> None:
    """Links to <base-url>/<project>/<file> are checked locally, others noted."""
    wheel = make_wheel(tmp_path, "foo", "1.0")
    out = tmp_path / "index"
    build_index([wheel], out, base_url="https://example.invalid/simple")
    notes: list[str] = []
    assert verify_index(out, notes=notes) == []
    assert notes == []
    local = out / "simple" / "foo" / wheel.name
    local.write_bytes(local.read_bytes() + b"\0")
    assert [p.split(": ")[:2] for p in verify_index(out)] == [
        [f"simple/foo/{wheel.name}", "sha256 mismatch"]
    ]
    page = out / "simple" / "foo" / "index.html"
    elsewhere = '<a href="https://elsewhere.invalid/x/foo-2.0.tar.gz#sha256=00">x</a>'
    page.write_text(page.read_text().replace("</body>", elsewhere + "</body>"))
    verify_index(out, notes=notes)
    assert notes == ["1 absolute link(s) not checked"]


def test_tampered_file(index: Path) -> None:
    wheel = wheel_of(index)
    with open(wheel, "ab") as stream:
        stream.write(b"\0")
    problems = verify_index(index)
    assert len(problems) == 1
    assert problems[0].startswith(f"simple/foo/{wheel.name}: sha256 mismatch")
    assert "simple/foo/index.html" in problems[0]


def test_deleted_file(index: Path) -> None:
    sdist = index / "simple" / "foo" / "foo-1.1.tar.gz"
    sdist.unlink()
    assert verify_index(index) == [
        "simple/foo/foo-1.1.tar.gz: missing (linked from simple/foo/index.html)"
    ]


def test_tampered_and_missing_metadata(index: Path) -> None:
    metadata = Path(f"{wheel_of(index)}.metadata")
    metadata.write_bytes(metadata.read_bytes() + b"Summary: changed\n")
    problems = verify_index(index)
    assert len(problems) == 1
    assert problems[0].startswith(f"simple/foo/{metadata.name}: sha256 mismatch")
    metadata.unlink()
    assert verify_index(index) == [
        f"simple/foo/{metadata.name}: missing (announced by simple/foo/index.html)"
    ]


def test_json_disagrees_with_html(index: Path) -> None:
    page = index / "simple" / "foo" / "index.json"
    data = json.loads(page.read_text())
    dropped = data["files"].pop(0)["filename"]
    first, second = data["files"][0], data["files"][1]
    real = first["hashes"]["sha256"]
    first["hashes"]["sha256"] = "0" * 64
    second["yanked"] = "suddenly"
    page.write_text(json.dumps(data))
    prefix = "simple/foo/index.json: disagrees with index.html"
    assert verify_index(index) == [
        f"{prefix}: only index.html lists {dropped!r}",
        f"{prefix} about {first['filename']!r}: sha256 is {'0' * 64!r} here, {real!r} there",
        f"{prefix} about {second['filename']!r}: yanked is True here, False there",
    ]


def test_root_pages(index: Path) -> None:
    simple = index / "simple"
    (simple / "index.html").write_text(root_html(["foo", "bar-baz", "tinybackend", "ghost"]))
    shutil.rmtree(simple / "old")
    (simple / "stray").mkdir()
    problems = verify_index(index)
    assert problems == [
        "simple/index.json: disagrees with index.html: only index.html lists 'ghost'",
        "simple/index.json: disagrees with index.html: only index.json lists 'old'",
        "simple/stray: project directory not listed on simple/index.html",
        "simple/index.html: lists project 'ghost' but simple/ghost/index.html is missing",
    ]


def test_missing_pages(index: Path) -> None:
    (index / "simple" / "bar-baz" / "index.json").unlink()
    (index / "simple" / "index.json").unlink()
    assert verify_index(index) == [
        "simple/index.json: missing",
        "simple/bar-baz/index.json: missing",
    ]


def test_hostile_and_hashless_links(index: Path) -> None:
    page = index / "simple" / "old" / "index.html"
    text = page.read_text().replace(
        "</body>",
        '<a href="../../../../etc/passwd#sha256=00">x</a>\n<a href="old-0.1-py3.11.egg">y</a>\n'
        "</body>",
    )
    page.write_text(text)
    problems = verify_index(index)
    assert (
        "simple/old/index.html: link '../../../../etc/passwd' points outside the index" in problems
    )
    assert "simple/old/index.html: link to 'old-0.1-py3.11.egg' has no sha256 hash" in problems


def test_not_an_index(tmp_path: Path) -> None:
    assert verify_index(tmp_path) == ["simple/index.html: missing: not a package index"]


def test_malformed_pages_are_problems_not_tracebacks(index: Path) -> None:
    simple = index / "simple"
    (simple / "old" / "index.html").write_bytes(b"<a href='x'>caf\xe9</a>")  # latin-1
    (simple / "index.json").write_text(json.dumps({"meta": {}, "projects": ["foo"]}))
    page = simple / "foo" / "index.json"
    data = json.loads(page.read_text())
    data["files"][0]["hashes"] = []
    page.write_text(json.dumps(data))
    (simple / "bar-baz" / "index.json").write_text(json.dumps({"files": {"a": 1}}))
    problems = verify_index(index)
    assert "simple/old/index.html: not UTF-8 (byte 0xe9 at offset 15)" in problems
    assert "simple/index.json: 'projects' is not a list of objects" in problems
    assert (
        f"simple/foo/index.json: {data['files'][0]['filename']!r}: 'hashes' is not an object"
        in (problems)
    )
    assert "simple/bar-baz/index.json: 'files' is not a list of objects" in problems


_BUILDER = """
import os, sys
from buildout.privateindex.engine.build import build_index
out, a, b, progress, stop = sys.argv[1:]
rounds = 0
while not os.path.exists(stop):
    build_index([a, b] if rounds % 2 else [a], out, prune=True, jobs=1)
    rounds += 1
    with open(progress + ".tmp", "w") as f:
        f.write(str(rounds))
    os.replace(progress + ".tmp", progress)
"""


def _rounds(progress: Path) -> int:
    try:
        return int(progress.read_text())
    except FileNotFoundError:
        return 0


def test_verify_during_builds_reports_no_false_problem(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    make_wheel(a, "steady", "1.0")
    make_tinybackend_wheel(a)  # what the sdists build with
    for n in range(4):  # a project that comes and goes, and files of one that stays
        make_wheel(b, "flicker", f"1.{n}")
        make_sdist(b, "steady", f"2.{n}")
    out = tmp_path / "index"
    build_index([a], out)
    progress, stop = tmp_path / "rounds", tmp_path / "stop"
    argv = [sys.executable, "-c", _BUILDER, str(out), str(a), str(b), str(progress), str(stop)]
    builder = subprocess.Popen(argv)
    runs, false_problems = 0, []
    try:
        deadline = time.monotonic() + 120
        while _rounds(progress) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        first = _rounds(progress)
        # Verify while the builder adds and prunes, 40 builds or more.
        while (runs < 20 or _rounds(progress) < first + 40) and time.monotonic() < deadline:
            problems = verify_index(out)
            runs += 1
            if problems:
                false_problems.append(problems)
        assert builder.poll() is None, "the builder stopped"
        stop.touch()
        builder.wait(timeout=120)
    finally:
        builder.kill()
        builder.wait()
    assert builder.returncode == 0
    assert _rounds(progress) >= first + 40 and runs >= 20
    assert false_problems == []
