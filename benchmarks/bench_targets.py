"""The online fill for one target against eight (issue: a team-ready index).

An upstream on 127.0.0.1 holds PROJECTS projects; half of them have a wheel
per target (real platform tags), the other half are pure wheels.  Each run
fills a fresh index with ``closure.fill`` and then checks it with
``closure.check`` (what a recipe's online run does after its build), first
for this machine alone, then for this machine plus eight targets (four
platforms x two Pythons), interleaved, medians of ROUNDS.  Beside each time
the stable figures: files fetched and uv processes started.

    .venv/bin/python benchmarks/bench_targets.py [--projects 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

PLATFORMS = ("manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "macosx_11_0_arm64", "win_amd64")
PYTHONS = ("3.10", "3.12")


def cpython_tag(python: str, platform: str) -> str:
    py = "cp" + python.replace(".", "")
    return f"{py}-{py}-{platform}"


def make_upstream(root: Path, projects: int) -> Path:
    from buildout.privateindex.closure.targets import host_target
    from buildout.privateindex.engine.build import build_index
    from distfactory import make_wheel

    dists = root / "dists"
    dists.mkdir()
    host = host_target()
    tags = {cpython_tag(python, plat) for plat in PLATFORMS for python in PYTHONS}
    tags.add(cpython_tag(host.short_python, "manylinux_2_17_x86_64"))
    names = [f"proj{i:03d}" for i in range(projects)]
    make_wheel(dists, "root-app", "1.0", requires_dist=names)
    for i, name in enumerate(names):
        if i % 2:
            make_wheel(dists, name, "1.0")
        else:
            for tag in sorted(tags):
                make_wheel(dists, name, "1.0", tag=tag)
    out = root / "upstream"
    assert build_index([dists], out).ok
    return out


def one_fill(upstream_url: str, targets: list, work: Path) -> dict[str, float]:
    from buildout.privateindex.closure import fill as closure
    from buildout.privateindex.closure import resolve
    from buildout.privateindex.closure.directoryindex import DirectoryIndex
    from buildout.privateindex.engine.build import build_index

    calls = {"uv": 0}
    original = resolve.Resolver.compile

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["uv"] += 1
        return original(self, *args, **kwargs)

    resolve.Resolver.compile = counting  # type: ignore[method-assign]
    try:
        index_dir = Path(tempfile.mkdtemp(dir=work))
        empty = Path(tempfile.mkdtemp(dir=work))
        build_index([empty], index_dir)
        index = DirectoryIndex(str(index_dir))
        start = time.perf_counter()
        upstream = resolve.Resolver([upstream_url, index.url], sys.executable)
        filled = closure.fill(targets, ["root-app"], {}, upstream, index)
        local = resolve.Resolver([index.url], sys.executable, offline=True)
        reports = closure.check(targets, ["root-app"], {}, local, index)
        seconds = time.perf_counter() - start
    finally:
        resolve.Resolver.compile = original  # type: ignore[method-assign]
    assert not filled.problems, filled.problems
    assert all(not r.problems for r in reports), [r.summary() for r in reports]
    return {"seconds": seconds, "files": filled.added, "uv": calls["uv"]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import os

    from buildout.privateindex.closure.targets import make_targets
    from servers import serve_directory

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["UV_CACHE_DIR"] = str(root / "uv-cache")
        upstream = make_upstream(root, args.projects)
        cases = {
            "1 target (this machine)": make_targets([], []),
            "9 targets (this machine + 4 platforms x 2 Pythons)": make_targets(PLATFORMS, PYTHONS),
        }
        results: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
        with serve_directory(upstream) as server:
            for _ in range(args.rounds):
                for name, targets in cases.items():
                    results[name].append(one_fill(server.url + "simple/", targets, root))
    base = statistics.median(r["seconds"] for r in results["1 target (this machine)"])
    print(f"upstream: {args.projects + 1} projects on 127.0.0.1; medians of {args.rounds}")
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        print(
            f"{name:52s} {seconds:6.2f} s  ({seconds / base:4.1f}x)  "
            f"files fetched {int(runs[0]['files']):4d}  uv processes {int(runs[0]['uv']):3d}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
