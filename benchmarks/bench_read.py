"""Time ``read_distribution`` over every file of a corpus, serially, by kind.

    python benchmarks/bench_read.py DIR [DIR ...] [--rounds 3] [--once]

Each file is read in one process, one after the other (no pool), from a warm
page cache: the cost measured is the per-file work of a cold build's reading
stage (hashing, finding and parsing the core metadata), not the disk's.  For
each kind of file (wheel, tar.gz, zip, ...) it prints the number of files and
the best, over ``--rounds`` rounds, of the mean microseconds per file.
``--once`` reads every file once and prints nothing: what to run under
``strace -f -c`` to count the system calls per file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402
from buildout.privateindex.dists.metadata import read_distribution  # noqa: E402
from buildout.privateindex.errors import DistributionError  # noqa: E402


def _kind(name: str) -> str:
    suffix = next((s for s in make_corpus.DIST_SUFFIXES if name.endswith(s)), "")
    return {".whl": "wheel", ".egg": "egg"}.get(suffix, suffix.lstrip("."))


def corpus_files(directories: list[str]) -> dict[str, list[str]]:
    """The distribution files of ``directories`` by kind, in name order."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for directory in directories:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            kind = _kind(entry.name)
            if kind and entry.is_file():
                by_kind[kind].append(entry.path)
    return dict(by_kind)


def read_all(paths: list[str]) -> int:
    """Read every file; how many were refused."""
    refused = 0
    for path in paths:
        try:
            read_distribution(path)
        except DistributionError:
            refused += 1
    return refused


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directories", nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args(argv)
    by_kind = corpus_files(args.directories)
    if args.once:
        read_all([p for paths in by_kind.values() for p in paths])
        return 0
    best: dict[str, float] = {}
    refused: dict[str, int] = {}
    for _ in range(args.rounds):
        for kind, paths in by_kind.items():
            start = time.perf_counter()
            refused[kind] = read_all(paths)
            per_file = (time.perf_counter() - start) / len(paths) * 1e6
            best[kind] = min(best.get(kind, per_file), per_file)
    total = sum(len(p) for p in by_kind.values())
    overall = sum(best[k] * len(p) for k, p in by_kind.items()) / total
    for kind, paths in sorted(by_kind.items()):
        print(f"{kind:8} {len(paths):6} files {best[kind]:9.1f} us/file  refused {refused[kind]}")
    print(f"{'all':8} {total:6} files {overall:9.1f} us/file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
