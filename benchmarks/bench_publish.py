"""Benchmark publishing an index to S3 (moto's server on 127.0.0.1, in a child process).

Usage: ``.venv/bin/python benchmarks/bench_publish.py [N_FILES] [--payload KIB] [--jobs J]``

Builds, with the real builder, an index of about N_FILES files (default 500:
wheels of PAYLOAD KiB of incompressible data, default 256, their ``.metadata``
files and the pages), then times a first publish, a publish with nothing
changed (must upload nothing), the same for a copy of the tree without its
state (every file hashed, as every publish did before the hashes came from
the state), and a publish after adding one wheel.  The no-change times are
medians of 3, interleaved.  Files and bytes hashed are the stable figures.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent / "tests")]

from buildout.privateindex.engine.build import build_index  # noqa: E402
from buildout.privateindex.sharing.publish import PublishReport, publish  # noqa: E402
from distfactory import make_wheel  # noqa: E402
from s3server import S3Server, aws_environ  # noqa: E402

VERSIONS_PER_PROJECT = 4


def make_sources(out: Path, n_files: int, payload: int) -> list[str]:
    """Wheels for an index of about ``n_files`` files (2 per wheel, 2 pages per project)."""
    rng = random.Random(42)
    out.mkdir(parents=True)
    names = [f"proj{i:04d}" for i in range(max(1, n_files // (2 * VERSIONS_PER_PROJECT + 2)))]
    for name in names:
        for v in range(VERSIONS_PER_PROJECT):
            data = {f"{name}/data.bin": rng.randbytes(payload)}
            make_wheel(out, name, f"1.{v}", extra_files=data)
    return names


def stateless_copy(index: Path, copy: Path) -> None:
    """The tree without ``.privateindex`` (hard links: no data copied)."""
    for path in index.rglob("*"):
        rel = path.relative_to(index)
        if ".privateindex" in rel.parts or not path.is_file():
            continue
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        os.link(path, copy / rel)


def _row(label: str, report: PublishReport, seconds: float) -> str:
    mib = report.hashed_bytes / (1 << 20)
    return (
        f"| {label:<26} | {len(report.uploaded):>8} | {report.unchanged:>9} "
        f"| {report.hashed_files:>6} | {mib:>9.1f} | {seconds:>7.2f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("n_files", type=int, nargs="?", default=500)
    parser.add_argument("--payload", type=int, default=256, metavar="KIB")
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args(argv)
    os.environ.update(aws_environ())
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(key, None)
    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    try:
        sources, index, copy = work / "dists", work / "index", work / "copy"
        names = make_sources(sources, args.n_files, args.payload * 1024)
        build_index([sources], index)
        stateless_copy(index, copy)
        n_local = sum(1 for p in index.rglob("*") if p.is_file() and ".privateindex" not in p.parts)
        with S3Server(subprocess=True) as server:
            server.client().create_bucket(Bucket="bench-index")
            target, endpoint = "s3://bench-index/simple-index", server.endpoint_url

            def run(tree: Path) -> PublishReport:
                return publish(tree, target, endpoint_url=endpoint, jobs=args.jobs)

            first = run(index)
            timed: dict[str, list[PublishReport]] = {"state": [], "stateless": []}
            trees: dict[str, Callable[[], PublishReport]] = {
                "state": lambda: run(index),
                "stateless": lambda: run(copy),
            }
            for _ in range(3):
                for label, call in trees.items():
                    timed[label].append(call())
            make_wheel(sources, names[0], "9.0", extra_files={"x.bin": os.urandom(1024)})
            build_index([sources], index)
            added = run(index)
        median = {k: statistics.median(r.elapsed for r in v) for k, v in timed.items()}
        print(f"{n_local} local files, {len(first.uploaded)} objects, jobs={args.jobs}")
        print(f"| {'publish':<26} | uploaded | unchanged | hashed | MiB read  | seconds |")
        print(f"|{'-' * 28}|----------|-----------|--------|-----------|---------|")
        print(_row("first", first, first.elapsed))
        print(_row("no change", timed["state"][0], median["state"]))
        print(_row("no change, no state", timed["stateless"][0], median["stateless"]))
        print(_row("one wheel added", added, added.elapsed))
        print(f"no change: {median['stateless'] / median['state']:.1f}x faster with the state")
        if any(r.uploaded for v in timed.values() for r in v):
            print("ERROR: a no-change publish uploaded objects", file=sys.stderr)
            return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
