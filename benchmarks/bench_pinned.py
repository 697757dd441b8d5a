"""A pinned buildout run against a big index, against the same run on a small one.

    python benchmarks/bench_pinned.py [--projects 50 5000] [--repeat 5] [--work benchmarks/work]

Builds two private indexes of tiny wheels (``tests/distfactory.py``): N
filler projects plus ``demo-app`` (which requires ``demo-lib``) and
``demo-lib``.  A real buildout, bootstrapped as the tests do
(``zc.buildout.testing``, see ``tests/buildoutenv.py``), is pinned to each
index through the extension (``extensions = buildout.privateindex``,
``private-index = file://...``) and installs ``demo-app`` with
``zc.recipe.egg``, offline (``unshare -n``, loopback only, where permitted)
and with empty pip and uv caches.  Before each run the installed eggs and
``.installed.cfg`` are removed, so that every run looks both projects up in
the index and installs them.

The whole ``bin/buildout -v`` process is timed; the runs against the two
indexes alternate, and the medians of ``--repeat`` are compared.  Stable
figures beside the times: the files and directories of the index the run
opened or listed (one more run of each under ``strace -f``), and the log
lines "Scanning index" and "Couldn't retrieve index page" (none expected:
the extension sends buildout's finder straight to ``simple/<name>/``).

Goal 5: the run against the big index within 5 % of the run against the
small one.  The exit status is 1 when it fails.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

GOAL = 1.05

CONFIG = """\
[buildout]
extensions = buildout.privateindex
private-index = {index}
newest = false
parts = app

[versions]
demo-app = 1.0
demo-lib = 1.0

[app]
recipe = zc.recipe.egg
eggs = demo-app
"""


def make_index(work: Path, projects: int) -> Path:
    """An index of ``projects`` tiny filler projects, demo-app and demo-lib."""
    from buildout.privateindex.engine.build import build_index
    from distfactory import make_wheel

    index = work / f"pinned-index-{projects}"
    if (index / "simple" / "demo-app").is_dir():
        return index
    dists = work / f"pinned-dists-{projects}"
    shutil.rmtree(dists, ignore_errors=True)
    dists.mkdir(parents=True)
    for i in range(projects):
        make_wheel(dists, f"filler-{i}", "1.0")
    make_wheel(dists, "demo-lib", "1.0")
    make_wheel(dists, "demo-app", "1.0", requires_dist=["demo-lib"])
    shutil.rmtree(index, ignore_errors=True)
    build_index([dists], index)
    return index


def forget_installed(directory: Path) -> None:
    for path in list((directory / "eggs").rglob("demo_*.egg")):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    (directory / ".installed.cfg").unlink(missing_ok=True)


def index_paths(trace: Path, index: Path) -> dict[str, set[str]]:
    """The paths under ``index`` that the traced run used, by system call."""
    found: dict[str, set[str]] = {}
    pattern = re.compile(r"^\d+\s+(\w+)\(.*?" + re.escape('"' + str(index)) + r'([^"]*)"')
    for line in trace.read_text(encoding="utf-8", errors="replace").splitlines():
        match = pattern.match(line)
        if match:
            found.setdefault(match.group(1), set()).add(match.group(2) or "/")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, nargs=2, default=[50, 5000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    from buildoutenv import (
        can_cut_network,
        empty_caches,
        offline_command,
        setup_buildout,
        teardown_buildout,
    )

    indexes = {n: make_index(work, n) for n in args.projects}
    sample, test = setup_buildout()
    offline = can_cut_network()
    try:
        directory = sample.directory
        configs = {}
        for n, index in indexes.items():
            configs[n] = directory / f"pinned-{n}.cfg"
            configs[n].write_text(CONFIG.format(index=index.as_uri()), encoding="utf-8")

        def command(n: int, trace: Path | None = None) -> list[str]:
            cmd = [str(directory / "bin" / "buildout"), "-v", "-c", str(configs[n])]
            if trace is not None:
                cmd = ["strace", "-f", "-qq", "-e", "trace=file,getdents64", "-o", str(trace), *cmd]
            return offline_command(cmd) if offline else cmd

        def run(n: int, trace: Path | None = None) -> tuple[float, str]:
            forget_installed(directory)
            env = dict(sample.env)
            env.update(empty_caches(directory.parent))
            start = time.perf_counter()
            proc = subprocess.run(
                command(n, trace),
                cwd=directory,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
            wall = time.perf_counter() - start
            if proc.returncode != 0 or not list((directory / "eggs").rglob("demo_app*.egg")):
                raise SystemExit(f"buildout against {n} projects failed:\n{proc.stdout}")
            return wall, proc.stdout

        run(args.projects[0])  # warm the page cache and the .pyc files
        times: dict[int, list[float]] = {n: [] for n in args.projects}
        outputs: dict[int, str] = {}
        for r in range(args.repeat):
            order = args.projects if r % 2 == 0 else args.projects[::-1]
            for n in order:
                wall, outputs[n] = run(n)
                times[n].append(wall)
            print(f"round {r + 1}: " + ", ".join(f"{n}: {times[n][-1]:.3f} s" for n in order),
                  file=sys.stderr)  # fmt: skip
        touched = {}
        for n in args.projects:
            trace = work / f"pinned-{n}.strace"
            run(n, trace)
            touched[n] = {k: sorted(v) for k, v in index_paths(trace, indexes[n]).items()}
    finally:
        teardown_buildout(test)

    small, big = args.projects
    medians = {n: statistics.median(times[n]) for n in args.projects}
    ratio = medians[big] / medians[small]
    scans = {
        n: {
            "Scanning index": outputs[n].count("Scanning index"),
            "Couldn't retrieve index page": outputs[n].count("Couldn't retrieve index page"),
        }
        for n in args.projects
    }
    print(f"offline: {offline}; medians of {args.repeat}, whole bin/buildout -v process")
    for n in args.projects:
        print(
            f"  {n:>6} projects: {medians[n]:.3f} s (runs {[round(t, 3) for t in times[n]]}); "
            f"log lines {scans[n]}"
        )
        for syscall, paths in sorted(touched[n].items()):
            print(f"      {syscall:<12} {len(paths):3d} index paths: {' '.join(paths)}")
    ok = ratio <= GOAL and all(v == 0 for s in scans.values() for v in s.values())
    print(
        f"{'PASS' if ok else 'FAIL'}  goal 5: {big} projects / {small} projects = {ratio:.3f} "
        f"<= {GOAL}, no scan log lines"
    )
    result = {
        "medians_s": medians,
        "runs_s": times,
        "ratio": ratio,
        "touched": touched,
        "log_lines": scans,
        "offline": offline,
        "pass": ok,
    }
    (work / "pinned-results.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
