"""Time ``read_distribution`` over every file of a corpus, serially, by kind.

    python benchmarks/bench_read.py DIR [DIR ...] [--rounds 3] [--once]

Each file is read in one process, one after the other (no pool), from a warm
page cache: the cost measured is the per-file work of a cold build's reading
stage (hashing, finding and parsing the core metadata), not the disk's.  For
each kind of file (wheel, tar.gz, zip, ...) it prints the number of files and
the best, over ``--rounds`` rounds, of the mean microseconds per file, of
wall-clock time and of this process's CPU time (steadier on a busy machine).
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
    best_cpu: dict[str, float] = {}
    refused: dict[str, int] = {}
    for _ in range(args.rounds):
        for kind, paths in by_kind.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            refused[kind] = read_all(paths)
            wall = (time.perf_counter() - start) / len(paths) * 1e6
            cpu = (time.process_time() - start_cpu) / len(paths) * 1e6
            best[kind] = min(best.get(kind, wall), wall)
            best_cpu[kind] = min(best_cpu.get(kind, cpu), cpu)
    total = sum(len(p) for p in by_kind.values())
    rows = [(k, len(p), best[k], best_cpu[k], refused[k]) for k, p in sorted(by_kind.items())]
    for kind, n, wall, cpu, bad in rows:
        print(f"{kind:8} {n:6} files {wall:9.1f} us/file wall {cpu:9.1f} CPU  refused {bad}")
    wall = sum(n * w for _k, n, w, _c, _b in rows) / total
    cpu = sum(n * c for _k, n, _w, c, _b in rows) / total
    print(f"{'all':8} {total:6} files {wall:9.1f} us/file wall {cpu:9.1f} CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
