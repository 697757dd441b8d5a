"""A full disk under an existing index: one clear error, and the next build recovers.

The index lives on a real 2 MiB tmpfs, mounted in a mount namespace of the
test's own (``unshare -m``: root, as CI runs).  The disk is filled to leave
0 to 96 KiB free, so that the build runs out of space at every stage of
its writes: its state, its pages, its root pages.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from distfactory import make_wheel

_SWEEP = r"""
set -u
D="$1/mnt"; SRC="$1/src"; shift
P="$* -m buildout.privateindex"
mkdir -p "$D"
for free in 0 24 32 40 48 56 64 96; do
  mount -t tmpfs -o size=2m tmpfs "$D"
  $P build "$SRC" -o "$D/index" -q || exit 90
  avail=$(df -k --output=avail "$D" | tail -1)
  dd if=/dev/zero of="$D/filler" bs=1k count=$((avail - free)) 2>/dev/null
  $P build "$SRC" -o "$D/index" -q --yank p1==1.0 2>"$D/../err-$free"
  echo "$free $?"
  rm "$D/filler"
  $P build "$SRC" -o "$D/index" -q --yank p1==1.0 || exit 91
  $P verify "$D/index" -q || exit 92
  umount "$D"
done
"""


def test_a_full_disk_gives_one_line_and_the_next_build_recovers(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for n in range(60):
        make_wheel(src, f"p{n}", "1.0")
    run = subprocess.run(
        ["unshare", "-m", "bash", "-c", _SWEEP, "sweep", str(tmp_path), sys.executable],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    outcomes = dict(line.split() for line in run.stdout.splitlines())
    assert len(outcomes) == 8
    failed = {free for free, code in outcomes.items() if code != "0"}
    assert "0" in failed and "96" not in failed  # the sweep spans failure and success
    for free, code in outcomes.items():
        err = (tmp_path / f"err-{free}").read_text()
        if code == "0":
            assert err == ""
            continue
        assert code == "1", (free, err)
        [line] = err.splitlines()  # one line: no "Exception ignored", no traceback
        assert line.startswith("privateindex: error: "), err
        assert "No space left on device" in line or "database or disk is full" in line, err
