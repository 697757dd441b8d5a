"""What durability costs a build: the sync before each commit, the lost-file check.

    python benchmarks/bench_durability.py [--files 2000] [--work benchmarks/work] [--repeat 3]
                                          [--payload-kib 100]

Three modes of the same engine, each building its own index of the corpus
(``bench_build.py``'s, see make_corpus.py) in a fresh process:

``off``
    no sync and no lost-file check (``SyncBatch.flush`` and
    ``cleanup.forget_lost`` replaced by no-ops): the engine before it made
    its files durable;
``check``
    the lost-file check (one ``stat`` per file and per ``.metadata`` file)
    without the sync;
``syncfs``
    as shipped on Linux: the check, and one ``syncfs`` per commit that
    needs it;
``fsync``
    the check, and the fallback where there is no ``syncfs``: one ``fsync``
    per changed file and per directory holding one.

For each stage (cold build, no-change rebuild, one-new rebuild) the modes run
in turn, ``--repeat`` times, and the best time of each is kept; ``os.sync()``
runs before every timed build, so that no build pays for what was written
before it.  The ratios to ``off`` come from one run of this script, on the
same machine at the same time.  Because wall-clock times on a shared machine
swing, the script also counts the build's system calls with ``strace -f -c``
(one more run per mode and stage): a figure that does not depend on the load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import distfactory  # noqa: E402
import make_corpus  # noqa: E402

MODES = ("off", "check", "syncfs", "fsync")
STAGES = ("cold", "no change", "one new")
#: The system calls counted (those of the sync, the check, and SQLite's).
COUNTED = ("syncfs", "fsync", "fdatasync", "newfstatat", "statx", "link", "rename")


def child_main(mode: str, output: str, sources: list[str]) -> int:
    from buildout.privateindex.engine import cleanup, durable
    from buildout.privateindex.engine.build import build_index

    if mode in ("off", "check"):
        durable.SyncBatch.flush = lambda self: None  # type: ignore[method-assign]
    if mode == "off":
        cleanup.forget_lost = lambda state, simple: {}
    elif mode == "fsync":
        durable._syncfs = None
    start = time.perf_counter()
    report = build_index(sources, output)
    elapsed = time.perf_counter() - start
    assert report.ok, report.problems
    print(json.dumps({"elapsed": elapsed, "files": report.files, "added": len(report.added)}))
    return 0


def _child(mode: str, output: Path, sources: list[Path], strace: Path | None = None) -> float:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, str(output)]
    cmd += [str(source) for source in sources]
    if strace is not None:
        cmd = ["strace", "-f", "-c", "-o", str(strace), "-e", f"trace={','.join(COUNTED)}", *cmd]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    os.sync()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["elapsed"])


def _syscalls(path: Path) -> dict[str, int]:
    """The call counts of an ``strace -c`` summary."""
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[-1] in COUNTED and fields[3].isdigit():
            counts[fields[-1]] = int(fields[3])
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--payload-kib", type=int, default=100, help="of the corpus' files")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child[0], args.child[1], args.child[2:])
    suffix = "" if args.payload_kib == 100 else f"-{args.payload_kib}k"
    work = args.work.resolve() / f"durability-{args.files}{suffix}"
    corpus = args.work.resolve() / f"corpus-{args.files}{suffix}"
    make_corpus.ensure_corpus(corpus, args.files, payload_kib=args.payload_kib)
    shutil.rmtree(work, ignore_errors=True)
    times: dict[tuple[str, str], list[float]] = {}
    calls: dict[tuple[str, str], dict[str, int]] = {}
    serial = 0

    def run(stage: str, mode: str, strace: Path | None = None) -> float:
        nonlocal serial
        index, extra = work / f"index-{mode}", work / f"extra-{mode}"
        extra.mkdir(parents=True, exist_ok=True)
        if stage == "cold":
            shutil.rmtree(index, ignore_errors=True)
        elif stage == "one new":
            serial += 1
            distfactory.make_wheel(extra, "bench-durability-new", f"1.{serial}")
        return _child(mode, index, [corpus, extra], strace)

    for stage in STAGES:
        for _ in range(args.repeat):
            for mode in MODES:
                times.setdefault((stage, mode), []).append(run(stage, mode))
        for mode in MODES:
            log = work / f"strace-{stage.replace(' ', '-')}-{mode}.txt"
            run(stage, mode, log)
            calls[(stage, mode)] = _syscalls(log)
    print(f"{args.files} files, best of {args.repeat} (s); ratio to 'off'; system calls")
    print(f"(corpus {corpus}, {args.payload_kib} KiB mean payload)")
    for stage in STAGES:
        base = min(times[(stage, "off")])
        for mode in MODES:
            best = min(times[(stage, mode)])
            counted = " ".join(f"{k}={v}" for k, v in sorted(calls[(stage, mode)].items()))
            print(f"{stage:10} {mode:7} {best:7.3f} {best / base:6.2f}x  {counted}")
    results = {
        "files": args.files,
        "times": {f"{s}/{m}": v for (s, m), v in times.items()},
        "syscalls": {f"{s}/{m}": v for (s, m), v in calls.items()},
    }
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
