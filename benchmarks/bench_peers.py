"""Our builds against the other static index builders, and against the floor.

    python benchmarks/bench_peers.py [--quick] [--repeat 5] [--corpora ...] [--work benchmarks/work]

Installs each peer in its own virtual environment under ``WORK/peers/`` from
PyPI (pip isolated from this machine's configuration): piprepo, pip2pi
(``dir2pi``), dumb-pypi, simple503, index-503 and python-pypi-mirror.  Then,
for each corpus (see ``CORPORA``), each tool builds an index of its own
hard-linked copy of the corpus (only the file types it handles, see
``PEERS``), as a whole process, start-up included:

1. cold, into a fresh tree;
2. again, with no change;
3. after one new wheel.

The tools run in turn, in a rotating order, for ``--repeat`` rounds (5, or 3
with ``--quick``); the medians are reported, each with its ratio to ours.
Beside the times, figures that do not depend on the machine's load: the MiB
read (``rchar``), the system calls of a cold build (one more run under
``strace -f -c``), the entries (files, directories, links) it created and the
renames.  In the same run, the floor of a cold build of the corpus is
measured (``bench_floor.py``), and the goals are checked:

- goal 2: our cold build at most 1.5x the floor on every corpus, faster than
  every peer that reads the files (simple503, index-503, python-pypi-mirror) on
  every corpus, and faster than every peer on the small-file corpus where
  the floor allows it (a peer that reads nothing and is quicker than the
  floor is printed as OUT: ruled out by the floor, neither PASS nor FAIL);
- goal 3: our no-change and one-new rebuilds faster than every peer's
  no-change rebuild.

Results go to ``WORK/peers-results.json``; the exit status is 1 when a goal
fails.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import bench_build  # noqa: E402
import bench_floor  # noqa: E402
import distfactory  # noqa: E402
import make_corpus  # noqa: E402
from trash import Trash, settle  # noqa: E402

FLOOR_GOAL = 1.5
ALL = tuple(make_corpus.DIST_SUFFIXES)
#: pip, isolated from this machine's pip configuration.
PIP_ENV_DROP = ("PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_INDEX_URL",
                "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT", "PIP_REQUIRE_VIRTUALENV")  # fmt: skip


@dataclass(frozen=True)
class Peer:
    name: str
    requirements: tuple[str, ...]  # what to pip install ("" for ours)
    reads: bool  # whether it reads the files (hashes, metadata)
    accepts: tuple[str, ...]  # the suffixes it indexes (the others are not given to it)
    note: str


PEERS = (
    Peer("ours", (), True, ALL, "privateindex build dists -o out"),
    Peer("piprepo", ("piprepo", "setuptools<66"), False, ALL, "piprepo build dists"),
    Peer("dir2pi", ("pip2pi", "setuptools<66"), False, ALL, "dir2pi dists (symlinks)"),
    Peer(
        "dumb-pypi",
        ("dumb-pypi",),
        False,
        (".whl", ".tar.gz", ".tgz", ".zip"),
        "ls dists > list; dumb-pypi --package-list list [--previous-package-list old]",
    ),
    Peer("simple503", ("simple503",), True, (".whl",), "simple503 --no-sort dists (in place)"),
    Peer("index-503", ("index-503",), True, (".whl",), "index-503 dists (cache by mtime)"),
    Peer(
        "pypi-mirror",
        ("python-pypi-mirror",),
        True,
        (".whl", ".zip", ".tar.gz", ".tar.bz2"),
        "pypi-mirror create -d dists -m out",
    ),
)

DUMB_PYPI = (
    "ls dists > new.lst && {{ [ -f old.lst ] && set -- --previous-package-list old.lst; }}; "
    '"{bin}" --package-list new.lst "$@" --output-dir out --packages-url ../../dists/ '
    "&& mv new.lst old.lst"
)


def command(peer: Peer, venv: Path) -> list[str]:
    bin_ = venv / "bin"
    if peer.name == "ours":
        return [str(bin_ / "privateindex"), "build", "dists", "-o", "out"]
    if peer.name == "piprepo":
        return [str(bin_ / "piprepo"), "build", "dists"]
    if peer.name == "dir2pi":
        return [str(bin_ / "dir2pi"), "dists"]
    if peer.name == "dumb-pypi":
        return ["sh", "-c", DUMB_PYPI.format(bin=bin_ / "dumb-pypi")]
    if peer.name == "simple503":
        return [str(bin_ / "simple503"), "--no-sort", "dists"]
    if peer.name == "index-503":
        return [str(bin_ / "index-503"), "dists"]
    if peer.name == "pypi-mirror":
        return [str(bin_ / "pypi-mirror"), "create", "-d", "dists", "-m", "out"]
    raise ValueError(peer.name)


def pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PIP_ENV_DROP}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def clean_copy(target: Path) -> Path:
    """The working tree's files (tracked, or new and not ignored) copied to
    ``target``: an in-tree ``build/`` would put stale modules into the wheel."""
    shutil.rmtree(target, ignore_errors=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def install(peer: Peer, venvs: Path) -> str:
    """Install ``peer`` in ``venvs/NAME`` unless there; return its version."""
    venv = venvs / peer.name
    if peer.name == "ours":
        # Installed like the peers, as a user has it (not the editable
        # development install, whose import hook costs every start-up), and
        # again on every run: this is what is measured.
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        log(f"installing ours ({ROOT}) into {venv}")
        source = clean_copy(venvs / "ours-source")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, str(source)], check=True, env=pip_env())
        again = [*pip, "--force-reinstall", "--no-deps", str(source)]
        subprocess.run(again, check=True, env=pip_env())
        sys.path.insert(0, str(ROOT / "src"))
        from buildout.privateindex import __version__

        return __version__
    marker = venv / ".installed"
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        log(f"installing {peer.name} ({' '.join(peer.requirements)}) into {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *peer.requirements],
            check=True,
            env=pip_env(),
        )
        marker.touch()
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "show", peer.requirements[0]],
        capture_output=True,
        text=True,
        check=True,
        env=pip_env(),
    ).stdout
    match = re.search(r"^Version: (.+)$", out, re.M)
    return match.group(1) if match else "?"


@dataclass(frozen=True)
class CorpusSpec:
    mix: str
    files: int
    payload_kib: int | None = None

    @property
    def label(self) -> str:
        return f"{self.mix}-{self.files}"


#: The corpora: small files, the default corpus at two sizes, a realistic mix.
CORPORA = {
    "small-2000": CorpusSpec("small", 2000),
    "default-2000": CorpusSpec("default", 2000),
    "default-20000": CorpusSpec("default", 20000),
    "realistic-5000": CorpusSpec("realistic", 5000),
}
QUICK_CORPORA = {
    "small-2000": CorpusSpec("small", 2000),
    "default-500": CorpusSpec("default", 500),
    "realistic-1000": CorpusSpec("realistic", 1000),
}


# -- running a tool ------------------------------------------------------------


def _rchar() -> int:
    """Bytes read by this process and its reaped children (``/proc/self/io``)."""
    with open("/proc/self/io", encoding="ascii") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


@dataclass
class Run:
    wall: float
    cpu: float
    read_mib: float


def run_tool(cmd: list[str], cwd: Path, env: dict[str, str], log_file: Path) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rchar = _rchar()
    with open(log_file, "a", encoding="utf-8") as out:
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=out, check=False)
        wall = time.perf_counter() - start
    read = _rchar() - rchar
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}) in {cwd}; see {log_file}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Run(wall, cpu, read / 2**20)


def _strace_counts(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            try:
                counts[parts[-1]] = int(parts[3])
            except ValueError:
                continue
        elif parts and parts[-1] == "total" and len(parts) >= 4:
            counts["total"] = int(parts[3])
    return counts


def _entries(root: Path) -> int:
    n = 0
    for _, dirnames, filenames in os.walk(root):
        n += len(dirnames) + len(filenames)
    return n


@dataclass
class ToolResult:
    peer: Peer
    files: int  # files given to it
    cold: list[Run] = field(default_factory=list)
    no_change: list[Run] = field(default_factory=list)
    one_new: list[Run] = field(default_factory=list)
    syscalls: dict[str, int] = field(default_factory=dict)
    entries: int = 0

    def median(self, stage: str, attr: str = "wall") -> float:
        return statistics.median(getattr(r, attr) for r in getattr(self, stage))

    @property
    def renames(self) -> int:
        return sum(v for k, v in self.syscalls.items() if k.startswith("rename"))


class Bench:
    def __init__(self, args: argparse.Namespace, spec: CorpusSpec) -> None:
        self.args = args
        self.spec = spec
        work: Path = args.work
        self.corpus_dir = make_corpus.corpus_path(work, spec.files, spec.mix, spec.payload_kib)
        self.corpus = make_corpus.ensure_corpus(
            self.corpus_dir, spec.files, payload_kib=spec.payload_kib, mix=spec.mix
        )
        self.run_dir = work / "peers-run" / self.corpus_dir.name
        self.files = bench_floor.distributions(self.corpus_dir)
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def workdir(self, peer: Peer) -> Path:
        return self.run_dir / peer.name

    def reset(self, peer: Peer) -> int:
        """A fresh working directory holding ``dists/``: hard links to the corpus."""
        workdir = self.workdir(peer)
        self.args.trash.discard(workdir)  # not deleted: see trash.Trash
        dists = workdir / "dists"
        dists.mkdir(parents=True)
        n = 0
        for path in self.files:
            if path.name.endswith(peer.accepts):
                os.link(path, dists / path.name)
                n += 1
        return n

    def add_wheel(self, peer: Peer, i: int) -> None:
        kib = self.corpus.payload_kib
        distfactory.make_wheel(
            self.workdir(peer) / "dists",
            f"bench-new-{i}",
            "1.0",
            extra_files={"bench_new/payload.bin": os.urandom(kib * 1024)},
        )

    def warm(self) -> None:
        subprocess.run(
            f"find '{self.corpus_dir}' -type f -print0 | xargs -0 cat > /dev/null",
            shell=True,
            check=True,
        )

    def run(self, peer: Peer) -> Run:
        workdir = self.workdir(peer)
        venv = self.args.work / "peers" / peer.name
        return run_tool(command(peer, venv), workdir, self.env, self.run_dir / f"{peer.name}.log")

    def measure(self, peers: Sequence[Peer]) -> dict[str, ToolResult]:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for peer in peers:
            (self.run_dir / f"{peer.name}.log").unlink(missing_ok=True)
        results = {p.name: ToolResult(p, 0) for p in peers}
        busy = []
        for r in range(self.args.repeat):
            order = list(peers[r % len(peers) :]) + list(peers[: r % len(peers)])
            if self.args.quiet_wait > 0:
                busy.append(bench_build.wait_for_quiet(self.args.quiet_wait, 0.25))
            for peer in order:
                res = results[peer.name]
                res.files = self.reset(peer)
                self.warm()
                res.cold.append(self.run(peer))
                res.no_change.append(self.run(peer))
                self.add_wheel(peer, r)
                res.one_new.append(self.run(peer))
            log(
                f"{self.spec.label} round {r + 1}: "
                + ", ".join(
                    f"{p.name} {results[p.name].cold[-1].wall:.2f}/"
                    f"{results[p.name].no_change[-1].wall:.2f}/"
                    f"{results[p.name].one_new[-1].wall:.2f}"
                    for p in peers
                )
            )
        # The stable figures: one more cold build of each, under strace.
        for peer in peers:
            res = results[peer.name]
            self.reset(peer)
            workdir = self.workdir(peer)
            before = _entries(workdir)
            trace = self.run_dir / f"{peer.name}.strace"
            venv = self.args.work / "peers" / peer.name
            cmd = ["strace", "-f", "-c", "-o", str(trace), *command(peer, venv)]
            run_tool(cmd, workdir, self.env, self.run_dir / f"{peer.name}.log")
            res.syscalls = _strace_counts(trace)
            res.entries = _entries(workdir) - before
            res.entries -= sum(1 for p in workdir.glob("*.lst"))  # dumb-pypi's list
        self.busy = busy
        return results


# -- reporting -------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fmt(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds >= 0.995 else f"{seconds:.3f}"


def corpus_table(results: dict[str, ToolResult]) -> str:
    ours = results["ours"]
    header = ("tool", "files", "cold s", "x ours", "no-change s", "x ours", "one-new s",
              "x ours", "cold CPU s", "MiB read", "syscalls", "entries", "renames")  # fmt: skip
    rows = []
    for name, res in results.items():
        cells = [name, str(res.files)]
        for stage in ("cold", "no_change", "one_new"):
            value = res.median(stage)
            cells += [_fmt(value), f"{value / ours.median(stage):.2f}"]
        cells += [
            _fmt(res.median("cold", "cpu")),
            f"{res.median('cold', 'read_mib'):.1f}",
            str(res.syscalls.get("total", 0)),
            str(res.entries),
            str(res.renames),
        ]
        rows.append(cells)
    return bench_build.rst_table(header, rows)


def goals(
    label: str, results: dict[str, ToolResult], floor: bench_floor.Floor, small: bool
) -> list[tuple[str, bool | None]]:
    """The checks of goals 2 and 3: (text, True for PASS, False for FAIL, None
    where the floor rules the goal out: a peer that reads nothing, quicker
    than the floor of a build that reads everything)."""
    ours = results["ours"]
    cold = ours.median("cold")
    checks = [
        (
            f"goal 2, {label}: cold {cold:.2f} s = {cold / floor.total:.2f}x the floor "
            f"({floor.total:.2f} s) <= {FLOOR_GOAL}x",
            cold <= FLOOR_GOAL * floor.total,
        )
    ]
    for name, res in results.items():
        if name == "ours":
            continue
        if res.peer.reads or small:
            theirs = res.median("cold")
            text = f"goal 2, {label}: cold {cold:.2f} s < {name}'s {theirs:.2f} s"
            ruled_out = not res.peer.reads and theirs < floor.total and cold >= theirs
            if ruled_out:
                text += f" (the floor, {floor.total:.2f} s, rules it out)"
            checks.append((text, None if ruled_out else cold < theirs))
        for stage in ("no_change", "one_new"):
            value = ours.median(stage)
            checks.append(
                (
                    f"goal 3, {label}: {stage.replace('_', '-')} {value:.3f} s < {name}'s "
                    f"no-change {res.median('no_change'):.3f} s",
                    value < res.median("no_change"),
                )
            )
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller corpora, 3 rounds")
    parser.add_argument("--repeat", type=int, default=None, help="rounds (5; quick: 3)")
    parser.add_argument("--corpora", nargs="+", default=None, help="MIX-FILES, e.g. small-2000")
    parser.add_argument("--peers", nargs="+", default=None, help="names from PEERS")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--output", type=Path, default=None, help="WORK/peers-results.json")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=10,
        help="before each round wait up to this many seconds for a quieter machine (0: no)",
    )
    args = parser.parse_args(argv)
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    output = args.output or args.work / "peers-results.json"
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    table = QUICK_CORPORA if args.quick else CORPORA
    available = {**CORPORA, **QUICK_CORPORA}
    labels = args.corpora or list(table)
    peers = [p for p in PEERS if args.peers is None or p.name in args.peers or p.name == "ours"]
    versions = {p.name: install(p, args.work / "peers") for p in peers}
    log("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    # pip deleted its temporary trees, and earlier runs left their trash.
    args.trash = Trash(args.work)
    args.trash.empty()
    settle()
    checks: list[tuple[str, bool | None]] = []
    data: dict[str, Any] = {
        "environment": bench_build.environment(),
        "versions": versions,
        "repeat": args.repeat,
        "corpora": {},
    }
    out = []
    for label in labels:
        mix, _, files = label.rpartition("-")
        spec = available.get(label) or CorpusSpec(mix, int(files))
        bench = Bench(args, spec)
        results = bench.measure(peers)
        # The floor, from the tree of our last (strace) cold build.
        floor = bench_floor.measure_floor(
            bench.corpus_dir,
            bench.workdir(PEERS[0]) / "out",
            args.work / "floor-scratch",
            args.trash,
        )
        sha = min(bench_floor.sha256sum(bench.corpus_dir) for _ in range(3))
        text = (
            f"{label}: {spec.files} files, {bench.corpus.total_bytes / 2**20:.0f} MiB, "
            f"{bench.corpus.kinds}; medians of {args.repeat}\n"
            f"floor {floor.total:.2f} s (CPU {floor.cpu_total:.2f} s / {floor.cores} cores + "
            f"{floor.entries.total} entries {floor.entries.best:.2f} s + start-up "
            f"{floor.startup['python -c pass']:.3f} s); sha256sum {sha:.2f} s\n"
            + bench_floor.report(floor)
            + "\n"
            + corpus_table(results)
        )
        print(text, flush=True)
        out.append(text)
        checks += goals(label, results, floor, small=spec.mix == "small")
        data["corpora"][label] = {
            "spec": spec.__dict__,
            "total_bytes": bench.corpus.total_bytes,
            "kinds": bench.corpus.kinds,
            "sha256sum_s": sha,
            "busy_before_rounds": bench.busy,
            "floor": {
                "total_s": floor.total,
                "cpu": floor.cpu,
                "cores": floor.cores,
                "startup": floor.startup,
                "entries": floor.entries.__dict__,
            },
            "tools": {
                name: {
                    "files": res.files,
                    "cold": [r.__dict__ for r in res.cold],
                    "no_change": [r.__dict__ for r in res.no_change],
                    "one_new": [r.__dict__ for r in res.one_new],
                    "syscalls": res.syscalls,
                    "entries": res.entries,
                }
                for name, res in results.items()
            },
        }
        output.write_text(json.dumps(data, indent=2) + "\n")  # after each corpus
    print()
    for text, ok in checks:
        print(f"{'OUT ' if ok is None else 'PASS' if ok else 'FAIL'}  {text}")
    args.trash.empty()
    data["goals"] = [{"goal": text, "pass": ok} for text, ok in checks]
    data["date"] = datetime.datetime.now().isoformat(timespec="seconds")
    data["platform"] = platform.platform()
    output.write_text(json.dumps(data, indent=2) + "\n")
    log(f"results written to {output}")
    return 0 if all(ok is not False for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
