"""The index survives concurrent builds and builds killed at any moment."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index, load_index
from buildout.privateindex.engine.fsutil import TEMP_PREFIX
from buildout.privateindex.engine.state import IndexState
from distfactory import make_sdist, make_wheel
from indexcheck import check_index, temp_files

# Run in the child: every file system change the build makes prints a line
# first, so the test can kill it at a chosen one.
CHILD = """
import json, sys
from buildout.privateindex.engine import fsutil
from buildout.privateindex.engine.build import build_index

def marked(function):
    def wrapper(*args, **kwargs):
        print("op", flush=True)
        return function(*args, **kwargs)
    return wrapper

for name in ("write_atomic", "place_file", "remove_quietly"):
    setattr(fsutil, name, marked(getattr(fsutil, name)))
print("start", flush=True)
report = build_index(json.loads(sys.argv[1]), sys.argv[2], prune=True, jobs=2)
print("done", len(report.problems), flush=True)
"""


def _build_in_process(sources: list[str], out: str, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    report = build_index(sources, out, jobs=1)
    if not report.ok:
        raise SystemExit(f"problems: {report.problems}")


def test_concurrent_builds_are_serialized(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    for i in range(30):
        make_wheel(one, f"alpha{i % 6}", f"1.{i}")
        make_wheel(two, f"beta{i % 6}", f"1.{i}")
    make_wheel(two, "alpha0", "1.0")  # the same file in both
    out = tmp_path / "index"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=_build_in_process, args=([str(src)], str(out), barrier))
        for src in (one, two)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    listed = check_index(out)
    assert len(listed) == 60 and len(load_index(out)) == 60
    assert temp_files(out) == []
    report = build_index([one, two], out, jobs=1)
    assert report.ok and report.pages_written == 0 and report.files == 60


def _add_files(src: Path, rng: random.Random, count: int, serial: list[int]) -> None:
    for _ in range(count):
        serial[0] += 1
        n = serial[0]
        project = f"proj{rng.randrange(60)}"
        if n % 4:
            make_wheel(src, project, f"1.{n}", summary=f"file {n}")
        else:
            make_sdist(src, project, f"1.{n}", rng.choice(["tar.gz", "zip", "tar.xz"]))


def _kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the build with its process group (its reading pool's workers too)."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()


def _kill_at_random(src: Path, out: Path, rng: random.Random) -> str:
    """Start a build and kill it at a random file system change; describe when."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps([str(src)]), str(out)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    if rng.random() < 0.3:  # at a random time: while scanning, reading or writing
        assert proc.stdout.readline() == "start\n"
        delay = rng.uniform(0, 0.5)
        time.sleep(delay)
        _kill(proc)
        return f"killed {delay:.3f}s after the start"
    target = rng.randrange(1, 400)
    seen = 0
    for line in proc.stdout:
        if line.startswith("op"):
            seen += 1
            if seen >= target:
                break
    _kill(proc)
    return f"killed after {seen} of {target} changes"


@pytest.mark.timeout(120)
def test_killed_builds_leave_a_consistent_index(tmp_path: Path) -> None:
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    src = tmp_path / "src"
    src.mkdir()
    out = tmp_path / "index"
    serial = [0]
    _add_files(src, rng, 240, serial)
    history = [f"seed {seed}"]
    for _round in range(6):
        history.append(_kill_at_random(src, out, rng))
        if out.exists():
            check_index(out, interrupted=True)  # raises, naming a broken link or hash
        # Change the sources for the next round: new files, and some gone.
        _add_files(src, rng, 40, serial)
        for path in rng.sample(sorted(src.iterdir()), 20):
            path.unlink()
    report = build_index([src], out, prune=True, jobs=2)
    assert report.ok, (history, report.problems)
    expected = {path.name: path for path in src.iterdir()}
    listed = check_index(out)
    assert sorted(listed) == sorted(expected), history
    assert sorted(d.filename for d in load_index(out)) == sorted(expected)
    assert temp_files(out) == [], history
    assert not any(name.startswith(TEMP_PREFIX) for name in os.listdir(out / "simple"))
    with IndexState.open(str(out), create=False) as state:
        assert not state.dirty
    # Nothing left over: every file in the index directory is on a page.
    on_disk = {
        path.name
        for path in (out / "simple").glob("*/*")
        if path.name not in ("index.html", "index.json") and path.suffix != ".metadata"
    }
    assert on_disk == set(expected), history
    again = build_index([src], out, prune=True, jobs=2)
    assert again.ok and again.pages_written == 0


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(n) for n in (task / "children").read_text().split())
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_build_leaves_no_reading_worker_behind(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for n in range(40):  # enough to read for a while with two workers
        make_sdist(src, f"big{n}", "1.0", payload=os.urandom(3 << 20))
    out = tmp_path / "index"
    command = [sys.executable, "-m", "buildout.privateindex", "build", "-q", "-j", "2"]
    proc = subprocess.Popen([*command, str(src), "-o", str(out)])
    try:
        deadline = time.monotonic() + 30
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = {pid for pid in _children(proc.pid) if _alive(pid)}
            time.sleep(0.02)
        assert len(workers) >= 2, "the build never started its reading pool"
        proc.kill()  # the build alone, not its process group
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in workers)
    finally:
        proc.kill()
