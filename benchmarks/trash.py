"""Trees a benchmark is done with, set aside until it ends (see :class:`Trash`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

#: Seconds for which ext4 without a journal will not reuse a freed inode
#: whose inode table block is written back (RECENTCY_MIN in fs/ext4/ialloc.c;
#: 300 s while that block is dirty, hence the sync first).
RECENTLY_DELETED_S = 61


class Trash:
    """Trees a benchmark is done with, moved aside instead of deleted.

    This VM's root file system is ext4 mounted without a journal.  There,
    creating a file skips over every inode of its block group freed in the
    last minute (``recently_deleted()`` in ``fs/ext4/ialloc.c``, which looks
    each one up in the buffer cache): right after an ``rm -rf`` of a few
    thousand files, each new file costs 0.2 to 0.5 ms of system time instead
    of 0.01.  That, not the disk, was the "swing" of file creation costs.
    A build started right after deleting the previous round's tree pays for
    it, so no tree is deleted while anything is measured: it is renamed into
    ``WORK/trash/`` (same file system, no inode freed), and the trash is
    emptied once, at the end, or at the start; a run that starts less than
    a minute after a run emptied its trash (``WORK/.trash-emptied`` says
    when) waits out the rest of the minute.
    """

    def __init__(self, work: Path) -> None:
        self.root = work / "trash"
        self._stamp = work / ".trash-emptied"
        self._count = 0

    def discard(self, path: Path) -> None:
        """Move ``path`` (if it exists) into the trash."""
        if not os.path.lexists(path):
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self._count += 1
        os.rename(path, self.root / f"{os.getpid()}-{self._count}-{path.name}")

    def empty(self) -> bool:
        """Delete what the trash holds; True if there was anything."""
        if not self.root.exists():
            return False
        subprocess.run(["rm", "-rf", str(self.root)], check=True)
        self._stamp.touch()
        return True

    def empty_and_settle(self) -> None:
        """Empty the trash, then wait until the inodes freed, by this run or
        by one that ended less than a minute ago, are reusable."""
        self.empty()
        try:
            since = time.time() - self._stamp.stat().st_mtime
        except FileNotFoundError:
            return
        if since < RECENTLY_DELETED_S:
            settle(RECENTLY_DELETED_S - since)


def settle(seconds: float = RECENTLY_DELETED_S) -> None:
    """Wait until the inodes freed so far no longer slow down file creation."""
    os.sync()  # a freed inode in a dirty inode table block waits 300 s
    message = f"waiting {seconds:.0f} s for the freed inodes to be reusable (see Trash)"
    print(message, file=sys.stderr, flush=True)
    time.sleep(seconds)
