"""Putting a file new to the index in place, in the process that read it.

A cold build creates one hard link per distribution and one ``.metadata``
file per wheel: about as many new entries as it has files, and on this
project's development machine creating an entry costs more than reading a
small wheel (``benchmarks/README.rst``).  So the readers create them, in
parallel, right after reading, instead of the build's main process one by
one; the main process only records what they placed.

Only what is new is placed here, with calls that fail rather than replace:
``link(2)`` and ``open(O_CREAT | O_EXCL)``.  A file that does not appear
this way (the name is taken, the file system cannot link, the source is
private and must be copied) is left to the main process, which decides
what the index keeps under that name (see :class:`.placing.Placer`).  Both
calls make an entry appear under its final name at once: no page links it
before the build has recorded it, and a build killed in between leaves it
untracked, for the next build to use or remove (see :mod:`.cleanup`).
"""

from __future__ import annotations

import os
import re

from buildout.privateindex.dists.model import DistFile
from buildout.privateindex.engine import fsutil

__all__ = ["NewFiles", "usable_project"]

#: A normalized project name is safe as a directory name and in URLs.
_PROJECT = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def usable_project(project: str) -> bool:
    """Whether ``project`` (normalized) may name a directory of the index."""
    return _PROJECT.fullmatch(project) is not None


class NewFiles:
    """Places files new to the index into its ``simple/`` directory (one per process)."""

    def __init__(self, simple: str) -> None:
        self.simple = simple
        self._dirs: set[str] = set()  # the project directories known to exist

    def _make_dir(self, directory: str) -> None:
        if directory in self._dirs:
            return
        fsutil.make_public_dirs(directory)
        self._dirs.add(directory)

    def place(self, source: str, dist: DistFile, metadata: bytes | None) -> bool:
        """Link ``source`` into ``simple/<project>/`` and write its ``.metadata``.

        Returns True when both are in place; False when either could not be
        created as a new entry, which leaves the rest to the main process.
        Never replaces anything.  ``source`` must be readable by everyone (a
        link shares its mode).

        :raises OSError: Anything but a name that is taken.
        """
        directory = os.path.join(self.simple, dist.project)
        self._make_dir(directory)
        target = os.path.join(directory, dist.filename)
        try:
            os.link(source, target)
        except FileExistsError:
            return False
        except FileNotFoundError:  # the directory went away since: let the main process see
            self._dirs.discard(directory)
            raise
        if metadata is None:
            return True
        try:
            fd = fsutil.create_public(target + ".metadata")
        except FileExistsError:
            return False
        try:
            try:
                fsutil.write_all(fd, metadata)
            finally:
                os.close(fd)
        except BaseException:
            os.unlink(target + ".metadata")  # never leave a partial one behind
            raise
        return True
