"""Benchmark the index builder against ``sha256sum`` over the same files.

    python benchmarks/bench_build.py [--files 2000 20000] [--work benchmarks/work]

For each corpus size it generates the corpus (cached, see make_corpus.py) and
measures, with the page cache warm:

1. ``find ... -print0 | xargs -0 sha256sum`` over the corpus (the baseline);
2. a cold build into a fresh output directory;
3. a rebuild with no change;
4. a rebuild after one new wheel appeared in a second source directory.

Every build runs ``build_index`` in a fresh Python process, which reports the
wall-clock time of the ``build_index`` call and its peak memory: the largest
of that process's own (``VmHWM``, see :func:`own_peak_rss_kib`) and of its
waited-for children's, the process pool workers (RUSAGE_CHILDREN ``ru_maxrss``).
The figures and PASS/FAIL per goal
are printed, and written as JSON to WORK/results.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence, Sized
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import distfactory  # noqa: E402
import make_corpus  # noqa: E402
from trash import Trash  # noqa: E402

#: cold build time / sha256sum time must not exceed this.
COLD_RATIO_GOAL = 1.5
#: peak RSS at the largest size / peak RSS at the smallest must not exceed this.
MEMORY_GROWTH_GOAL = 1.5


def rebuild_goal(files: int) -> float:
    """The largest rebuild time allowed, as a fraction of the cold build."""
    return 0.02 if files >= 20_000 else 0.10


# -- the child: one build in a fresh process ---------------------------------


def _count(value: int | Sized) -> int:
    return value if isinstance(value, int) else len(value)


def own_peak_rss_kib() -> int:
    """This process's peak RSS since it started its program, in KiB.

    Not ``ru_maxrss`` of RUSAGE_SELF: on Linux that keeps the high-water mark
    of the process it was forked from (the parent's RSS at the ``exec``), so a
    benchmark that grew to 48 MiB (generating a corpus) made every build it
    started report 48 MiB.  ``VmHWM`` in ``/proc/self/status`` is this
    program's own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_main(output: str, sources: Sequence[str], jobs: int | None, profile: str | None) -> int:
    from buildout.privateindex.engine.build import build_index

    start = time.perf_counter()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        report = profiler.runcall(build_index, sources, output, jobs=jobs)
        profiler.dump_stats(profile)
    else:
        report = build_index(sources, output, jobs=jobs)
    elapsed = time.perf_counter() - start
    own, workers = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    result = {
        "elapsed": elapsed,
        "cpu_s": own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime,
        "report_elapsed": getattr(report, "elapsed", None),
        "maxrss_self_kib": own_peak_rss_kib(),
        "maxrss_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "files": _count(report.files),
        "projects": _count(report.projects),
        "added": _count(report.added),
        "pruned": _count(report.pruned),
        "problems": [str(p) for p in report.problems][:10],
        "n_problems": len(report.problems),
        "pages_written": report.pages_written,
    }
    print(json.dumps(result))
    return 0


# -- the parent ---------------------------------------------------------------


def _tree_rss_kib(root: int) -> int:
    """The summed RSS of ``root`` and its descendants (shared pages counted per process)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * page_kib
    tree = {root}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return sum(rss.get(pid, 0) for pid in tree)


@dataclass
class BuildRun:
    elapsed: float  # the build_index call, seconds
    cpu: float  # CPU seconds (user + system) of the child and its workers
    process_wall: float  # the whole child process, interpreter start-up included
    peak_rss_mib: float  # max(RUSAGE_SELF, RUSAGE_CHILDREN) of the child
    tree_rss_mib: float  # sampled peak of the summed RSS of the child and its workers
    details: dict[str, Any] = field(default_factory=dict)


def run_build(
    output: Path, sources: Sequence[Path], jobs: int | None, profile: Path | None = None
) -> BuildRun:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(output)]
    cmd += [str(s) for s in sources]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    if profile:
        cmd += ["--child-profile", str(profile)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
    )
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    peak_tree = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.wait(0.05):
            peak_tree = max(peak_tree, _tree_rss_kib(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"build failed ({proc.returncode}): {' '.join(cmd)}")
    details = json.loads(out.strip().splitlines()[-1])
    peak = max(details["maxrss_self_kib"], details["maxrss_children_kib"])
    return BuildRun(
        details["elapsed"], details["cpu_s"], wall, peak / 1024, peak_tree / 1024, details
    )


def shell_time(command: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all waited-for descendants) of a shell command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, shell=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def resident_share(find: str) -> float | None:
    """The share of the corpus's bytes in the page cache (``fincore``), if known."""
    if shutil.which("fincore") is None:
        return None
    out = subprocess.run(
        f"{find} | xargs -0 fincore --bytes --noheadings --output RES,SIZE",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    pairs = [line.split() for line in out.splitlines() if len(line.split()) == 2]
    size = sum(int(s) for _, s in pairs)
    return min(1.0, sum(int(r) for r, _ in pairs) / size) if size else None


def _cpu_ticks() -> tuple[int, int]:
    with open("/proc/stat", encoding="ascii") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values), idle


def wait_for_quiet(max_wait: float, busy_limit: float = 0.1) -> float:
    """Wait (up to ``max_wait`` s) until the machine is idle; return the last busy share.

    Other work on the machine skews wall-clock figures: this samples
    /proc/stat over one-second windows until at most ``busy_limit`` of the CPU
    time was busy.
    """
    deadline = time.monotonic() + max_wait
    while True:
        total0, idle0 = _cpu_ticks()
        time.sleep(1)
        total1, idle1 = _cpu_ticks()
        busy = 1 - (idle1 - idle0) / max(1, total1 - total0)
        if busy <= busy_limit or time.monotonic() >= deadline:
            if busy > busy_limit:
                log(f"warning: the machine is busy ({busy:.0%} CPU), figures will be skewed")
            return busy


@dataclass
class SizeResult:
    files: int
    total_mib: float
    sha256sum: float
    sha256sum_cpu: float
    cold: BuildRun
    no_change: BuildRun
    one_new: BuildRun
    runs: dict[str, list[float]]
    busy: list[float]
    resident: list[float]

    @property
    def cold_ratio(self) -> float:
        return self.cold.elapsed / self.sha256sum

    @property
    def cold_cpu_ratio(self) -> float:
        return self.cold.cpu / self.sha256sum_cpu

    @property
    def no_change_pct(self) -> float:
        return 100 * self.no_change.elapsed / self.cold.elapsed

    @property
    def one_new_pct(self) -> float:
        return 100 * self.one_new.elapsed / self.cold.elapsed

    @property
    def peak_rss_mib(self) -> float:
        return max(r.peak_rss_mib for r in (self.cold, self.no_change, self.one_new))


def _best(runs: list[BuildRun]) -> BuildRun:
    return min(runs, key=lambda r: r.elapsed)


def bench_size(args: argparse.Namespace, files: int) -> SizeResult:
    work: Path = args.work
    corpus_dir = work / f"corpus-{files}"
    corpus = make_corpus.ensure_corpus(
        corpus_dir, files, seed=args.seed, payload_kib=args.payload_kib, jobs=args.jobs
    )
    extra = work / f"extra-{files}"
    output = work / f"index-{files}"
    args.trash.discard(extra)
    extra.mkdir()
    sources = [corpus_dir, extra]
    busy: list[float] = []

    def quiet() -> None:
        if args.quiet_wait > 0:
            busy.append(wait_for_quiet(args.quiet_wait))

    def profile(stage: str, i: int) -> Path | None:
        return work / f"profile-{files}-{stage}.prof" if args.profile and i == 0 else None

    find = f"find '{corpus_dir}' -type f ! -name {make_corpus.MARKER} -print0"
    resident: list[float] = []

    def warm() -> None:
        # Read every file right before each run: this machine's kernel pages out
        # page cache that stays unused for a while (DAMON reclaim), so a single
        # warm-up at the start does not keep a large corpus cached.
        shell_time(f"{find} | xargs -0 cat > /dev/null")
        share = resident_share(find)
        if share is not None:
            resident.append(share)

    def prepare() -> None:
        quiet()
        warm()

    shas = []
    for _ in range(args.repeat):
        prepare()
        shas.append(shell_time(f"{find} | xargs -0 sha256sum > /dev/null"))
    sha, sha_cpu = min(shas)
    log(f"{files} files: sha256sum {[round(w, 2) for w, _ in shas]}")
    colds = []
    for i in range(args.repeat):
        args.trash.discard(output)
        prepare()
        colds.append(run_build(output, sources, args.jobs, profile("cold", i)))
    cold = _best(colds)
    if cold.details["files"] != files or cold.details["n_problems"]:
        log(
            f"warning: cold build indexed {cold.details['files']} of {files} files, "
            f"problems: {cold.details['problems']}"
        )
    log(
        f"{files} files: cold {[round(r.elapsed, 2) for r in colds]}, "
        f"peak RSS {cold.peak_rss_mib:.0f} MiB"
    )
    no_change = []
    for i in range(args.repeat):
        prepare()
        no_change.append(run_build(output, sources, args.jobs, profile("nochange", i)))
    log(f"{files} files: no-change {[round(r.elapsed, 3) for r in no_change]}")
    one_new = []
    for i in range(args.repeat):
        distfactory.make_wheel(
            extra,
            f"bench-new-{i}",
            "1.0",
            extra_files={"bench_new/payload.bin": os.urandom(args.payload_kib * 1024)},
        )
        prepare()
        run = run_build(output, sources, args.jobs, profile("onenew", i))
        if run.details["added"] != 1:
            log(f"warning: one-new rebuild added {run.details['added']} files")
        one_new.append(run)
    log(f"{files} files: one-new {[round(r.elapsed, 3) for r in one_new]}")
    return SizeResult(
        files=files,
        total_mib=corpus.total_bytes / 2**20,
        sha256sum=sha,
        sha256sum_cpu=sha_cpu,
        cold=cold,
        no_change=_best(no_change),
        one_new=_best(one_new),
        runs={
            "sha256sum_s": [w for w, _ in shas],
            "cold_s": [r.elapsed for r in colds],
            "no_change_s": [r.elapsed for r in no_change],
            "one_new_s": [r.elapsed for r in one_new],
            "peak_rss_mib": [r.peak_rss_mib for r in colds + no_change + one_new],
        },
        busy=busy,
        resident=resident,
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def goals(results: list[SizeResult]) -> list[tuple[str, bool]]:
    checks = []
    for r in results:
        checks.append(
            (
                f"{r.files} files: cold build {r.cold_ratio:.2f}x sha256sum <= {COLD_RATIO_GOAL}x",
                r.cold_ratio <= COLD_RATIO_GOAL,
            )
        )
        limit = 100 * rebuild_goal(r.files)
        checks.append(
            (
                f"{r.files} files: no-change rebuild {r.no_change_pct:.1f}% of cold < {limit:g}%",
                r.no_change_pct < limit,
            )
        )
        checks.append(
            (
                f"{r.files} files: one-new rebuild {r.one_new_pct:.1f}% of cold < {limit:g}%",
                r.one_new_pct < limit,
            )
        )
    if len(results) >= 2:
        small, large = min(results, key=lambda r: r.files), max(results, key=lambda r: r.files)
        growth = large.peak_rss_mib / small.peak_rss_mib
        checks.append(
            (
                f"peak RSS {large.files} files / {small.files} files = {growth:.2f} "
                f"<= {MEMORY_GROWTH_GOAL}",
                growth <= MEMORY_GROWTH_GOAL,
            )
        )
    return checks


def table(results: list[SizeResult]) -> str:
    header = ("files", "MiB", "sha256sum s", "cold s", "cold/sha256", "no-change s",
              "one-new s", "peak RSS MiB", "CPU cold/sha256")  # fmt: skip
    rows = [
        (
            str(r.files),
            f"{r.total_mib:.0f}",
            f"{r.sha256sum:.2f}",
            f"{r.cold.elapsed:.2f}",
            f"{r.cold_ratio:.2f}",
            f"{r.no_change.elapsed:.3f} ({r.no_change_pct:.1f}%)",
            f"{r.one_new.elapsed:.3f} ({r.one_new_pct:.1f}%)",
            f"{r.peak_rss_mib:.0f}",
            f"{r.cold_cpu_ratio:.2f}",
        )
        for r in results
    ]
    return rst_table(header, rows)


def rst_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A reStructuredText simple table of ``header`` and ``rows``."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(rule)
    return "\n".join(line.rstrip() for line in lines)


def environment() -> dict[str, Any]:
    sha_version = subprocess.run(
        ["sha256sum", "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[:1]
    try:
        sys.path.insert(0, str(ROOT / "src"))
        from buildout.privateindex import __version__ as version
    except ImportError:
        version = "unknown"
    return {
        "date": datetime.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "sha256sum": sha_version[0] if sha_version else "unknown",
        "buildout.privateindex": version,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--payload-kib", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=None, help="build workers (all cores)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of sha256sum and of each kind of build (the best is taken)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="before each measurement wait up to this many seconds for an idle machine (0: no)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="write cProfile data of each build's main process to WORK",
    )
    parser.add_argument("--child", metavar="OUTPUT", help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", help=argparse.SUPPRESS)
    parser.add_argument("sources", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child, args.sources, args.jobs, args.child_profile)
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    args.trash = Trash(args.work)
    args.trash.empty_and_settle()
    results = [bench_size(args, n) for n in args.files]
    args.trash.empty()
    checks = goals(results)
    print(table(results))
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    data = {
        "environment": environment(),
        "parameters": {
            "seed": args.seed,
            "payload_kib": args.payload_kib,
            "jobs": args.jobs,
            "repeat": args.repeat,
        },
        "results": [
            {
                "files": r.files,
                "total_mib": r.total_mib,
                "sha256sum_s": r.sha256sum,
                "cold_ratio": r.cold_ratio,
                "no_change_pct": r.no_change_pct,
                "one_new_pct": r.one_new_pct,
                "peak_rss_mib": r.peak_rss_mib,
                "cold": asdict(r.cold),
                "no_change": asdict(r.no_change),
                "one_new": asdict(r.one_new),
                "sha256sum_cpu_s": r.sha256sum_cpu,
                "cold_cpu_ratio": r.cold_cpu_ratio,
                "runs": r.runs,
                "busy_before_runs": r.busy,
                "resident_before_runs": r.resident,
            }
            for r in results
        ],
        "goals": [{"goal": text, "pass": ok} for text, ok in checks],
    }
    (args.work / "results.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.work / 'results.json'}", file=sys.stderr)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
