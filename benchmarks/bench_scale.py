"""How a cold build's CPU per file and peak memory follow the corpus's size.

    python benchmarks/bench_scale.py [--files 2000 50000] [--payload-kib 4] [--repeat 3]

Two corpora of the small-file mix (``make_corpus.py --mix small``, 75 %
wheels), with small payloads (0.2 K to 1.8 K KiB, K = 4 by default) to keep
the 50,000-file corpus quick to generate and to build.  Each cold build runs
``build_index`` in a fresh process (``--child``), which records the CPU
seconds (user + system, its own and its pool workers') and the wall time of
the ``build_index`` call alone, and the peak RSS of the largest process (its
own ``VmHWM``, the workers' ``ru_maxrss``: see
``bench_build.own_peak_rss_kib``).  The sizes alternate; medians of ``--repeat``.

Goal 4: CPU per file at the largest size at most 1.1x that at the smallest
(the median of the rounds' ratios, each round running both sizes in turn),
and peak RSS flat (at most 1.5x, as in ``bench_build.py``).  The exit status
is 1 when a goal fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_build  # noqa: E402
import make_corpus  # noqa: E402
from trash import Trash  # noqa: E402

CPU_GOAL = 1.1
#: At most this many seconds of waiting for a quiet machine before each build.
QUIET_WAIT = 60
RSS_GOAL = 1.5


def child(output: str, source: str) -> int:
    from buildout.privateindex.engine.build import build_index

    def cpu() -> tuple[float, float]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + kids.ru_utime, own.ru_stime + kids.ru_stime

    (user0, sys0), wall0 = cpu(), time.perf_counter()
    report = build_index([source], output)
    wall, (user1, sys1) = time.perf_counter() - wall0, cpu()
    used, user = user1 + sys1 - user0 - sys0, user1 - user0
    # The workers are forked from this process: their ru_maxrss is their own.
    peak = max(
        bench_build.own_peak_rss_kib(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    print(json.dumps({"wall": wall, "cpu": used, "user": user, "peak_rss_mib": peak / 1024,
                      "files": report.files, "problems": len(report.problems)}))  # fmt: skip
    return 0


def run(corpus: Path, output: Path, trash: Trash) -> dict[str, float]:
    # The last round's index is moved aside, not deleted: a build right after
    # deleting a tree of 100,000 entries pays for every inode it freed (see
    # trash.Trash).
    trash.discard(output)
    os.sync()
    bench_build.wait_for_quiet(QUIET_WAIT)
    subprocess.run(
        f"find '{corpus}' -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(output), str(corpus)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs=2, default=[2000, 50000])
    parser.add_argument("--payload-kib", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    work = args.work.resolve()
    corpora = {}
    for n in args.files:
        corpora[n] = make_corpus.corpus_path(work, n, "small", args.payload_kib)
        make_corpus.ensure_corpus(corpora[n], n, payload_kib=args.payload_kib, mix="small")
    runs: dict[int, list[dict[str, float]]] = {n: [] for n in args.files}
    trash = Trash(work)
    trash.empty_and_settle()
    for r in range(args.repeat):
        for n in args.files if r % 2 == 0 else args.files[::-1]:
            result = run(corpora[n], work / f"scale-index-{n}", trash)
            if result["files"] != n or result["problems"]:
                print(f"warning: {n}: indexed {result['files']}, problems {result['problems']}")
            runs[n].append(result)
            print(f"{n} files: {result}", file=sys.stderr)
    trash.empty()
    med = {
        n: {k: statistics.median(r[k] for r in runs[n]) for k in ("wall", "cpu", "peak_rss_mib")}
        for n in args.files
    }
    small, big = args.files
    print(f"small-file mix, {args.payload_kib} KiB mean payload; medians of {args.repeat}")
    print("=======  ======  =======  ===========  ========")
    print("files    wall s  CPU s    CPU/file ms  peak RSS")
    print("=======  ======  =======  ===========  ========")
    for n in args.files:
        m = med[n]
        print(f"{n:<7}  {m['wall']:<6.2f}  {m['cpu']:<7.2f}  {1000 * m['cpu'] / n:<11.3f}  "
              f"{m['peak_rss_mib']:.0f} MiB")  # fmt: skip
    print("=======  ======  =======  ===========  ========")
    # Each round's ratio (the two sizes ran side by side), and their median: a
    # busy spell on the machine inflates both sizes of a round alike.
    pairs = [
        (b["cpu"] / big) / (s["cpu"] / small) for s, b in zip(runs[small], runs[big], strict=True)
    ]
    print(f"CPU per file {big} / {small}, round by round: {[round(x, 2) for x in pairs]}")
    # Beside it, the user CPU alone: the system time is mostly creating
    # entries, which costs more after deletions (see trash.Trash).
    users = [
        (b["user"] / big) / (s["user"] / small) for s, b in zip(runs[small], runs[big], strict=True)
    ]
    print(f"user CPU per file {big} / {small}, round by round: {[round(x, 2) for x in users]}")
    cpu_ratio = statistics.median(pairs)
    rss_ratio = med[big]["peak_rss_mib"] / med[small]["peak_rss_mib"]
    checks = [
        (f"goal 4: CPU per file {big} / {small} = {cpu_ratio:.2f} <= {CPU_GOAL}",
         cpu_ratio <= CPU_GOAL),
        (f"goal 4: peak RSS {big} / {small} = {rss_ratio:.2f} <= {RSS_GOAL}",
         rss_ratio <= RSS_GOAL),
    ]  # fmt: skip
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    data = {"runs": runs, "medians": med, "cpu_ratio": cpu_ratio, "rss_ratio": rss_ratio,
            "cpu_ratio_by_round": pairs, "user_ratio_by_round": users}  # fmt: skip
    (work / "scale-results.json").write_text(json.dumps(data, indent=2) + "\n")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
