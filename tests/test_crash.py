"""A build killed at any system call that changes the index leaves it consistent.

strace's fault injection kills the build (``privateindex build -j 1``: one
process) at the Nth call of one kind of system call, for every N up to the
number of such calls an uninterrupted run makes, in four builds: a cold
build, a build adding one file, a ``--prune`` build that empties a project
and drops a file from another, and that ``--prune`` build run again after it
was killed before its commit (a recovering build: it rewrites every page and
removes what the killed one left).  After each kill the index must hold only
whole pages (each the old or the new one), every link and every announced
``.metadata`` must resolve with the right hash, and the root pages must list
only projects with pages; the next build must then succeed, leave
``verify`` clean and give exactly the index an uninterrupted build gives.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index
from buildout.privateindex.engine.state import IndexState
from buildout.privateindex.engine.verify import verify_index
from distfactory import make_sdist, make_wheel
from indexcheck import check_index, page_bytes, temp_files

#: The system calls a kill is injected into, each kind on its own.  A name
#: this architecture lacks (``?``) is ignored; kinds no build uses are skipped.
KINDS = (
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "rmdir",
    "write",
    "pwrite64",
    "fdatasync",
    "fsync",
    "syncfs",
)
_CALL = re.compile(r"^(\d+) +([a-z0-9_]+)\(")


@dataclass
class Scenario:
    """One build to kill: its sources, the index before it, what it gives."""

    name: str
    src: Path
    before: Path | None  # the index before the build (None: a cold build)
    prune: bool
    pages_before: dict[str, bytes]
    pages_after: dict[str, bytes]
    files_after: set[str]

    def command(self, out: Path) -> list[str]:
        argv = [sys.executable, "-m", "buildout.privateindex", "build", str(self.src)]
        return [*argv, "-o", str(out), "-j", "1", *(["--prune"] if self.prune else [])]

    def fresh_index(self, out: Path) -> None:
        if self.before is not None:
            shutil.copytree(self.before, out, symlinks=True)


def _index_files(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in (out / "simple").rglob("*") if p.is_file()}


def _scenario(tmp: Path, name: str, prune: bool, before: list[str], after: list[str]) -> Scenario:
    """Sources ``before`` (indexed first, if any) then ``after`` (to build)."""
    src = tmp / name / "src"
    src.mkdir(parents=True)
    makers = {
        "alpha-1.0": lambda: make_wheel(src, "alpha", "1.0"),
        "alpha-1.1": lambda: make_wheel(src, "alpha", "1.1", summary="the new one"),
        "beta-1.0": lambda: make_wheel(src, "beta", "1.0"),
        "beta-1.1": lambda: make_sdist(src, "beta", "1.1", "tar.gz"),
        "gamma-1.0": lambda: make_wheel(src, "gamma", "1.0"),
    }
    made = {key: makers[key]() for key in sorted(set(before) | set(after))}
    index = tmp / name / "before"
    if before:
        for key in set(made) - set(before):
            made[key].rename(tmp / name / made[key].name)  # held back for now
        assert build_index([src], index, jobs=1).ok
        for key in set(made) - set(before):
            (tmp / name / made[key].name).rename(made[key])
        for key in set(before) - set(after):
            made[key].unlink()
    reference = tmp / name / "reference"
    if before:
        shutil.copytree(index, reference, symlinks=True)
    assert build_index([src], reference, prune=prune, jobs=1).ok
    return Scenario(
        name,
        src,
        index if before else None,
        prune,
        page_bytes(index) if before else {},
        page_bytes(reference),
        _index_files(reference),
    )


def _interrupted(tmp: Path, scenario: Scenario, kill_at: str) -> Scenario:
    """The same build again, into the index ``scenario`` left when killed at ``kill_at``."""
    index = tmp / f"{scenario.name}-killed"
    scenario.fresh_index(index)
    inject = f"inject={kill_at.split('#')[0]}:signal=KILL:when={kill_at.split('#')[1]}"
    assert _run(_strace("-e", inject, "-o", os.devnull, *scenario.command(index))) == -9
    with IndexState.open(str(index), create=False) as state:
        assert state.dirty  # the next build recovers
    return Scenario(
        f"{scenario.name}-recovery",
        scenario.src,
        index,
        scenario.prune,
        page_bytes(index),
        scenario.pages_after,
        scenario.files_after,
    )


def _strace(*options: str) -> list[str]:
    return ["strace", "-f", "-qq", *options]  # (--seccomp-bpf would defeat the injection)


def _run(argv: list[str]) -> int:
    """Run ``argv`` in its own process group; kill what is left of the group."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        _out, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"{argv}: exit status {proc.returncode}: {err.decode()}")
    return proc.returncode


def _count_calls(scenario: Scenario, work: Path) -> dict[str, int]:
    """How many calls of each kind the build makes (one traced run)."""
    out, log = work / f"{scenario.name}-count", work / f"{scenario.name}-count.log"
    scenario.fresh_index(out)
    trace = ",".join(f"?{kind}" for kind in KINDS)
    assert _run(_strace("-o", str(log), "-e", f"trace={trace}", *scenario.command(out))) == 0
    pids: set[str] = set()
    counts: collections.Counter[str] = collections.Counter()
    for line in log.read_text().splitlines():
        match = _CALL.match(line)
        if match:
            pids.add(match[1])
            counts[match[2]] += 1
    assert len(pids) == 1, f"{scenario.name}: the build ran in {len(pids)} processes"
    assert page_bytes(out) == scenario.pages_after
    shutil.rmtree(out)
    return dict(counts)


def _check_killed(scenario: Scenario, out: Path) -> None:
    """What a killed build may leave, and what the next build makes of it."""
    if out.exists():
        check_index(out, interrupted=True)
        now = page_bytes(out)
        for page in sorted(set(scenario.pages_before) | set(scenario.pages_after) | set(now)):
            old, new = scenario.pages_before.get(page), scenario.pages_after.get(page)
            if page not in now:
                assert old is None or new is None, f"{page} is missing"
            else:
                assert now[page] in (old, new), f"{page} is neither the old nor the new page"
    report = build_index([scenario.src], out, prune=scenario.prune, jobs=1)
    assert report.ok, report.problems
    # Consistency is the question here, not completeness: the sdist's build
    # backend is not among these sources, and verify says so.
    problems = [p for p in verify_index(out) if "cannot be built from the index" not in p]
    assert problems == []
    assert page_bytes(out) == scenario.pages_after
    assert _index_files(out) == scenario.files_after
    assert temp_files(out) == []
    with IndexState.open(str(out), create=False) as state:
        assert not state.dirty


def _kill_points(counts: dict[str, dict[str, int]]) -> Iterator[tuple[str, str, int]]:
    for name, kinds in counts.items():
        for kind, count in sorted(kinds.items()):
            for n in range(1, count + 1):
                yield name, kind, n


@pytest.mark.timeout(600)
def test_a_build_killed_at_any_call_leaves_a_consistent_index(tmp_path: Path) -> None:
    assert shutil.which("strace"), "strace is needed (.ci/install-system-deps installs it)"
    base = ["alpha-1.0", "beta-1.0", "beta-1.1"]
    prune = _scenario(tmp_path, "prune", True, [*base, "gamma-1.0"], ["alpha-1.0", "beta-1.1"])
    scenarios = {
        s.name: s
        for s in (
            _scenario(tmp_path, "cold", False, [], base),
            _scenario(tmp_path, "one-new", False, base, [*base, "alpha-1.1"]),
            prune,
            # Killed before its commit: the next build rewrites every page.
            _interrupted(tmp_path, prune, "syncfs#1"),
        )
    }
    work = tmp_path / "runs"
    work.mkdir()
    counts = {name: _count_calls(s, work) for name, s in scenarios.items()}
    for name, kinds in counts.items():  # what each build must do (else the test is moot)
        assert kinds.get("write") and kinds.get("pwrite64") and kinds.get("fdatasync"), name
        assert kinds.get("syncfs"), f"{name}: the index is not synced before the commit"
        assert kinds.get("rename", 0) + kinds.get("renameat", 0) + kinds.get("renameat2", 0)
    assert counts["cold"].get("link", 0) + counts["cold"].get("linkat", 0) == 3
    assert counts["prune"].get("unlink", 0) + counts["prune"].get("unlinkat", 0) > 4

    def kill_at(point: tuple[str, str, int]) -> str | None:
        name, kind, n = point
        scenario = scenarios[name]
        out = work / f"{name}-{kind}-{n}"
        scenario.fresh_index(out)
        inject = f"inject={kind}:signal=KILL:when={n}"
        status = _run(
            _strace("-e", f"trace={kind}", "-e", inject, "-o", os.devnull, *scenario.command(out))
        )
        try:
            assert status == -signal.SIGKILL, "the build was not killed"
            _check_killed(scenario, out)
        except AssertionError as exc:
            return f"{name} build killed at {kind} #{n}: {exc}"
        finally:
            shutil.rmtree(out, ignore_errors=True)
        return None

    points = list(_kill_points(counts))
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [failure for failure in pool.map(kill_at, points) if failure]
    assert not failures, f"{len(failures)} of {len(points)} kill points ({counts}):\n" + "\n".join(
        failures[:20]
    )
