"""What a hostile archive can make a build hold or write is bounded.

The archives here are small files that inflate to far more than the limits
(README.rst, "Limits"): each is reported and skipped, and the build's peak
memory stays low, measured in a process of its own.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildout.privateindex.dists import tarread
from buildout.privateindex.engine.build import build_index
from distfactory import core_metadata, make_sdist, make_wheel, sdist_members, write_sdist_archive

#: What each bomb inflates to: far over every limit.
BOMB = 256 << 20
#: Peak memory a build of the bombs may reach (the interpreter alone is ~30 MiB).
RSS_BOUND_MIB = 110


class _Repeat(io.RawIOBase):
    """``prefix``, then ``size`` bytes of ``fill``, then ``suffix``: a stream, never in memory."""

    def __init__(self, prefix: bytes, size: int, suffix: bytes = b"\n\n") -> None:
        self.parts: Iterator[bytes] = iter([prefix, *([b"x" * (1 << 20)] * (size >> 20)), suffix])
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self.pending:
            chunk = next(self.parts, None)
            if chunk is None:
                return 0
            self.pending = chunk
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def _metadata_head(name: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nSummary: ".encode()


def _wheel_bomb(directory: Path) -> Path:
    path = directory / "wbomb-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("wbomb-1.0.dist-info/METADATA", "w", force_zip64=True) as member:
            src = _Repeat(_metadata_head("wbomb"), BOMB)
            while chunk := src.read(1 << 20):
                member.write(chunk)
        zf.writestr("wbomb-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    return path


def _tar_bomb(directory: Path) -> Path:
    path = directory / "tbomb-1.0.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tf:
        head = _metadata_head("tbomb")
        info = tarfile.TarInfo("tbomb-1.0/PKG-INFO")
        info.size = len(head) + BOMB + 2
        tf.addfile(info, io.BufferedReader(_Repeat(head, BOMB)))
    return path


def _pax_bomb(directory: Path) -> Path:
    """An sdist whose first member carries a 256 MiB pax extended header."""
    path = directory / "pbomb-1.0.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT, compresslevel=1) as tf:
        info = tarfile.TarInfo("pbomb-1.0/README")
        info.pax_headers = {"comment": "x" * BOMB}
        tf.addfile(info, io.BytesIO(b""))
        data = core_metadata("pbomb", "1.0").encode()
        pkg = tarfile.TarInfo("pbomb-1.0/PKG-INFO")
        pkg.size = len(data)
        tf.addfile(pkg, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("bombs")
    for make in (_wheel_bomb, _tar_bomb, _pax_bomb):
        assert make(src).stat().st_size < 2 << 20  # small files, huge contents
    make_wheel(src, "fine", "1.0")
    return src


# The peak is VmHWM, this process's own: getrusage's ru_maxrss would count
# what the forked test process held before the exec.
_MEASURED_BUILD = """
import json, sys
from buildout.privateindex.engine.build import build_index
report = build_index([sys.argv[1]], sys.argv[2], jobs=1)
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({
    "rss_kib": peak,
    "problems": {p.path.rsplit("/", 1)[1]: p.reason for p in report.problems},
    "added": report.added,
}))
"""


def test_bombs_are_refused_with_bounded_memory(bombs: Path, tmp_path: Path) -> None:
    out = tmp_path / "index"
    run = subprocess.run(
        [sys.executable, "-c", _MEASURED_BUILD, str(bombs), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(run.stdout)
    problems = result["problems"]
    assert result["added"] == ["fine-1.0-py3-none-any.whl"]
    inflated = len(_metadata_head("wbomb")) + BOMB + 2
    assert (
        f"wbomb-1.0.dist-info/METADATA is {inflated} bytes, more than the 16 MiB"
        in (problems["wbomb-1.0-py3-none-any.whl"])
    )
    assert (
        f"tbomb-1.0/PKG-INFO is {inflated} bytes, more than the 16 MiB"
        in (problems["tbomb-1.0.tar.gz"])
    )
    assert "a tar extended header of" in problems["pbomb-1.0.tar.gz"]
    assert result["rss_kib"] < RSS_BOUND_MIB << 10, result["rss_kib"]
    pages = [p for p in out.rglob("*") if p.is_file()]
    assert max(p.stat().st_size for p in pages) < 1 << 20


def test_an_overlong_summary_is_cut_in_the_pages(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_wheel(src, "wordy", "1.0", summary="word " * 200_000)  # 1 MB, under the 16 MiB limit
    report = build_index([src], tmp_path / "index", jobs=1)
    assert report.ok, report.problems
    landing = (tmp_path / "index" / "index.html").read_text()
    [shown] = re.findall(r'<td class="summary">(.*?)</td>', landing)
    assert len(shown) == 512 and shown.endswith("word w\u2026"), shown
    page = (tmp_path / "index" / "projects" / "wordy.html").read_text()
    assert re.findall(r'<p class="summary">(.*?)</p>', page) == [shown]
    # The wheel's own metadata is served whole, as the file holds it.
    served = tmp_path / "index" / "simple" / "wordy" / "wordy-1.0-py3-none-any.whl.metadata"
    assert served.stat().st_size > 1_000_000


def test_an_overlong_requires_python_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    specifier = ">=3.8," + ",".join(["!=3.9.1"] * 200)
    make_wheel(src, "odd", "1.0", requires_python=specifier)
    [problem] = build_index([src], tmp_path / "index", jobs=1).problems
    expected = f"Requires-Python is {len(specifier)} characters long, more than the 1000 accepted"
    assert expected in problem.reason


def test_pkg_info_beyond_the_examined_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    members = sdist_members("late", "1.0", payload=b"\0" * (2 << 20), pkg_info_last=True)
    write_sdist_archive(src / "late-1.0.tar.gz", members)
    make_sdist(src, "early", "1.0", payload=b"\0" * (2 << 20))
    monkeypatch.setattr(tarread, "MAX_EXAMINED_BYTES", 1 << 20)
    report = build_index([src], tmp_path / "index", jobs=1)
    assert [(Path(p.path).name, p.reason) for p in report.problems] == [
        ("late-1.0.tar.gz", "no PKG-INFO in the first 1 MiB of the decompressed sdist")
    ]
    assert report.added == ["early-1.0.tar.gz"]
