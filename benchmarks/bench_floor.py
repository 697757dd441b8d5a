"""The least work any build of a corpus must do, against ``sha256sum``.

    python benchmarks/bench_floor.py [--files 2000] [--work benchmarks/work]

A cold build must, whatever the implementation, hash every byte, decompress
each tar sdist up to the end of its ``PKG-INFO`` (tar has no index; bzip2
decodes whole blocks), and create one new file per wheel (its PEP 658
``.metadata``) and per page.  This script times those three parts alone,
serially, with the standard library, on the corpus ``bench_build.py`` uses,
and prints the resulting lower bound of a cold build on all cores next to
``sha256sum`` (best of three runs from a warm page cache): what the
cold-build goal can be compared with.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402

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


def measure(corpus: Path, scratch: Path) -> dict[str, float]:
    files = sorted(p for p in corpus.iterdir() if _suffix(p.name))
    times: dict[str, float] = defaultdict(float)
    wheels = 0
    for path in files:
        suffix = _suffix(path.name)
        start = time.process_time()
        hashlib.sha256(path.read_bytes()).hexdigest()
        times["hash"] += time.process_time() - start
        if suffix in _TAR_MODES:
            start = time.process_time()
            decode_to_pkg_info(path, suffix)
            times["decode " + suffix] += time.process_time() - start
        wheels += suffix == ".whl"
    projects = len({p.name.split("-")[0].lower() for p in files})
    created = wheels + 2 * projects + 3
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    start = time.process_time()
    for i in range(created):
        with open(scratch / f"f{i}", "wb") as f:
            f.write(b"x" * 1024)
    times["create files"] = time.process_time() - start
    shutil.rmtree(scratch)
    times["_created"] = created
    return times


def _sha256sum(corpus: Path) -> float:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args()
    corpus = args.work / f"corpus-{args.files}"
    make_corpus.ensure_corpus(corpus, args.files)
    sha256sum = min(_sha256sum(corpus) for _ in range(3))
    times = measure(corpus, args.work / "floor-scratch")
    created = int(times.pop("_created"))
    cores = os.cpu_count() or 1
    total = sum(times.values())
    print(f"{args.files} files, {cores} cores; sha256sum {sha256sum:.2f} s (wall, best of 3)")
    for name, seconds in sorted(times.items()):
        extra = f" ({created} files)" if name == "create files" else ""
        print(f"  {name:<18} {seconds:6.2f} s CPU{extra}")
    floor = total / cores
    print(
        f"  lower bound of a cold build: {total:.2f} s CPU / {cores} cores = {floor:.2f} s"
        f" = {floor / sha256sum:.2f}x sha256sum"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
