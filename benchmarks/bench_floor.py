"""The least work any cold build of a corpus must do, against ``sha256sum``.

    python benchmarks/bench_floor.py [--files 2000] [--mix default] [--work benchmarks/work]

A cold build must, whatever the implementation:

1. hash every byte and decompress each tar sdist up to the end of its
   ``PKG-INFO`` (tar has no index; bzip2 decodes whole blocks): CPU work that
   spreads over the cores;
2. create the entries of the finished index tree (its directories, pages,
   ``.metadata`` files, state, and one link or copy per distribution);
3. start an interpreter, when the build is a command.

This script times part 1 serially with the standard library (CPU seconds),
part 2 by copying a built index tree with ``cp -a`` (a skeleton of it, whose
distributions are empty files: the entries and the bytes the build writes)
and by creating the same number of empty files and directories from Python,
and part 3 with ``python -c pass`` and ``python -S -c pass`` (medians of 10).
The floor of a cold build on all cores is::

    (CPU of part 1) / cores + (part 2, the quicker way) + (python -c pass)

It is printed beside ``sha256sum`` (best of three runs from a warm page
cache).  ``bench_peers.py`` uses the same functions, in the same run as the
builds it compares with the floor.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402
from trash import Trash  # noqa: E402

#: tarfile's stream modes of the tar sdist suffixes.
_TAR_MODES = {".tar.gz": "r|gz", ".tgz": "r|gz", ".tar.bz2": "r|bz2", ".tar.xz": "r|xz"}


def _suffix(name: str) -> str:
    return next((s for s in make_corpus.DIST_SUFFIXES if name.endswith(s)), "")


def decode_to_pkg_info(path: Path, suffix: str) -> int:
    """Decompress ``path`` just far enough to have read its PKG-INFO; bytes decoded."""
    with tarfile.open(path, _TAR_MODES[suffix], bufsize=4096) as tf:
        for member in tf:
            if member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                tf.extractfile(member).read()  # type: ignore[union-attr]
                return member.offset_data + member.size
    raise ValueError(f"{path}: no PKG-INFO")


def distributions(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if _suffix(p.name) and p.is_file())


def measure_cpu(corpus: Path) -> dict[str, float]:
    """CPU seconds to hash every file and decode each tar sdist to its PKG-INFO."""
    times: dict[str, float] = defaultdict(float)
    for path in distributions(corpus):
        suffix = _suffix(path.name)
        start = time.process_time()
        hashlib.sha256(path.read_bytes()).hexdigest()
        times["hash"] += time.process_time() - start
        if suffix in _TAR_MODES:
            start = time.process_time()
            decode_to_pkg_info(path, suffix)
            times["decode " + suffix] += time.process_time() - start
    return dict(times)


@dataclass
class Entries:
    """The entries of an index tree, and the time to create them."""

    files: int  # regular files (pages, .metadata, state, distributions)
    dirs: int
    symlinks: int
    page_bytes: int  # bytes of the files that are not distributions
    cp_a: float  # wall seconds of ``cp -a`` of the skeleton
    empty: float  # wall seconds to create as many empty files and directories
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.files + self.dirs + self.symlinks

    @property
    def best(self) -> float:
        return min(self.cp_a, self.empty)


def _skeleton(tree: Path, skeleton: Path, trash: Trash) -> tuple[int, int, int, int]:
    """Copy ``tree`` to ``skeleton`` with its distributions as empty files."""
    trash.discard(skeleton)
    files = dirs = links = page_bytes = 0
    for dirpath, dirnames, filenames in os.walk(tree):
        rel = Path(dirpath).relative_to(tree)
        (skeleton / rel).mkdir(parents=True, exist_ok=True)
        dirs += 1
        for name in filenames:
            src = Path(dirpath) / name
            dst = skeleton / rel / name
            if src.is_symlink():
                links += 1
                os.symlink(os.readlink(src), dst)
            elif _suffix(name) and not name.endswith(".metadata"):
                files += 1
                dst.touch()
            else:
                files += 1
                page_bytes += src.stat().st_size
                shutil.copy2(src, dst)
        for name in dirnames:
            if (Path(dirpath) / name).is_symlink():
                links += 1
                os.symlink(os.readlink(Path(dirpath) / name), skeleton / rel / name)
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return files, dirs, links, page_bytes


def _sync() -> None:
    subprocess.run(["sync"], check=False)


def measure_entries(tree: Path, scratch: Path, trash: Trash, repeat: int = 3) -> Entries:
    """Time creating the entries of the index ``tree`` (best of ``repeat``).

    Nothing is deleted between the runs (see :class:`trash.Trash`).
    """
    scratch.mkdir(parents=True, exist_ok=True)
    skeleton = scratch / "skeleton"
    files, dirs, links, page_bytes = _skeleton(tree, skeleton, trash)
    cp_times, empty_times = [], []
    layout = [
        (Path(dp).relative_to(skeleton), len(fn)) for dp, _, fn in os.walk(skeleton)
    ]  # directories and the number of entries in each
    for _ in range(repeat):
        copy = scratch / "copy"
        trash.discard(copy)
        _sync()
        start = time.perf_counter()
        subprocess.run(["cp", "-a", str(skeleton), str(copy)], check=True)
        cp_times.append(time.perf_counter() - start)
        trash.discard(copy)
        _sync()
        empty = scratch / "empty"
        start = time.perf_counter()
        for rel, count in layout:
            d = empty / rel
            d.mkdir()
            for i in range(count):
                os.close(os.open(d / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        empty_times.append(time.perf_counter() - start)
        trash.discard(empty)
    trash.discard(skeleton)
    return Entries(
        files,
        dirs,
        links,
        page_bytes,
        min(cp_times),
        min(empty_times),
        {"cp_a_runs": cp_times, "empty_runs": empty_times},  # type: ignore[dict-item]
    )


def startup(python: str = sys.executable, repeat: int = 10) -> dict[str, float]:
    """Median wall seconds of ``python -c pass`` and ``python -S -c pass``."""
    result = {}
    for label, args in (
        ("python -c pass", ["-c", "pass"]),
        ("python -S -c pass", ["-S", "-c", "pass"]),
    ):
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([python, *args], check=True)
            samples.append(time.perf_counter() - start)
        result[label] = statistics.median(samples)
    return result


@dataclass
class Floor:
    cpu: dict[str, float]
    entries: Entries
    startup: dict[str, float]
    cores: int

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu.values())

    @property
    def total(self) -> float:
        return self.cpu_total / self.cores + self.entries.best + self.startup["python -c pass"]


def measure_floor(corpus: Path, tree: Path, scratch: Path, trash: Trash) -> Floor:
    return Floor(
        measure_cpu(corpus),
        measure_entries(tree, scratch, trash),
        startup(),
        os.cpu_count() or 1,
    )


def build_tree(corpus: Path, tree: Path, trash: Trash) -> None:
    """A cold build of ``corpus`` into ``tree`` (to know the entries it creates)."""
    trash.discard(tree)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    subprocess.run(
        [sys.executable, "-m", "buildout.privateindex", "build", str(corpus), "-o", str(tree)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def sha256sum(corpus: Path) -> float:
    """Wall-clock seconds of ``sha256sum`` over the corpus, from a warm page cache."""
    subprocess.run(
        f"find {corpus} -type f -name '*.*' -print0 | xargs -0 cat > /dev/null",
        shell=True,
        check=True,
    )
    start = time.perf_counter()
    subprocess.run(
        f"find {corpus} -type f -name '*.*' -print0 | xargs -0 sha256sum > /dev/null",
        shell=True,
        check=True,
    )
    return time.perf_counter() - start


def report(floor: Floor) -> str:
    e = floor.entries
    lines = [f"  {name:<24} {seconds:6.2f} s CPU" for name, seconds in sorted(floor.cpu.items())]
    lines.append(f"  CPU / {floor.cores} cores            {floor.cpu_total / floor.cores:6.2f} s")
    lines.append(
        f"  entries: {e.total} ({e.files} files, {e.dirs} dirs, {e.symlinks} symlinks, "
        f"{e.page_bytes / 2**20:.1f} MiB of pages)"
    )
    lines.append(f"  cp -a of the tree        {e.cp_a:6.2f} s")
    lines.append(f"  as many empty entries    {e.empty:6.2f} s")
    for label, seconds in floor.startup.items():
        lines.append(f"  {label:<24} {seconds:6.3f} s")
    lines.append(f"  floor                    {floor.total:6.2f} s")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mix", choices=sorted(make_corpus.MIXES), default="default")
    parser.add_argument("--payload-kib", type=int, default=None)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args()
    work = args.work.resolve()
    corpus = make_corpus.corpus_path(work, args.files, args.mix, args.payload_kib)
    make_corpus.ensure_corpus(corpus, args.files, payload_kib=args.payload_kib, mix=args.mix)
    tree = work / f"floor-index-{corpus.name}"
    trash = Trash(work)
    trash.empty_and_settle()
    build_tree(corpus, tree, trash)
    sha = min(sha256sum(corpus) for _ in range(3))
    floor = measure_floor(corpus, tree, work / "floor-scratch", trash)
    trash.empty()
    print(f"{corpus.name}: {args.files} files; sha256sum {sha:.2f} s (wall, best of 3)")
    print(report(floor))
    print(f"  floor / sha256sum        {floor.total / sha:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
