"""What a build takes out of the index: lost, pruned and left-over files.

Before planning, :func:`forget_lost` checks that every file the state lists
is on disk as recorded (a power loss, a full disk or a person can lose one
that the state, synced by SQLite, still lists): one ``stat`` per file and
per ``.metadata`` file, no hashing.  A lost file is dropped from the state
and from the scan cache, so that a source still holding it is read again
and the file placed again; else the build drops it from the pages.

After the commit, :func:`remove_files` removes what no page links any more:
an emptied project's pages first (they still link its files), then its
directory, then the other projects' pruned files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from buildout.privateindex.engine import fsutil
from buildout.privateindex.engine.durable import SyncBatch
from buildout.privateindex.engine.state import IndexState

__all__ = ["forget_lost", "remove_files", "remove_leftovers"]

logger = logging.getLogger(__name__)


def _damage(path: str, size: int, has_metadata: bool) -> str | None:
    """Why the index's copy at ``path`` is unusable, or None if it looks fine."""
    try:
        found = os.stat(path).st_size
    except FileNotFoundError:
        return "is missing"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if found != size:
        return f"has {found} bytes instead of {size}"
    if has_metadata:
        try:
            if os.stat(path + ".metadata").st_size == 0:
                return "has an empty .metadata file"
        except OSError:
            return "has no .metadata file"
    return None


def forget_lost(state: IndexState, simple: str) -> dict[str, str]:
    """Drop the files the state lists but the disk lost; returns {filename: project}."""
    lost: dict[str, str] = {}
    stat = os.stat
    for filename, project, size, has_metadata in state.iter_file_sizes():
        path = f"{simple}/{project}/{filename}"
        try:  # the common case, kept tight: it runs for every file of every build
            if stat(path).st_size == size and (
                not has_metadata or stat(path + ".metadata").st_size
            ):
                continue
        except OSError:
            pass
        why = _damage(path, size, has_metadata)
        if why is not None:
            logger.warning("%s/%s %s in the index", project, filename, why)
            lost[filename] = project
    if lost:
        sources = [row.source for row in map(state.file_row, sorted(lost)) if row is not None]
        state.remove_files(sorted(lost))
        state.forget_scans(sources)
    return lost


def remove_files(
    simple: str, removed: Iterable[tuple[str, str]], emptied: Iterable[str], batch: SyncBatch
) -> None:
    """Remove files (``(filename, project)``) and emptied projects, once no page links them."""
    for project in sorted(emptied):
        directory = os.path.join(simple, project)
        fsutil.remove_project_dir(directory)
        batch.note(directory)
    for filename, project in removed:
        path = os.path.join(simple, project, filename)
        fsutil.remove_quietly(path)
        fsutil.remove_quietly(path + ".metadata")
        batch.note(path)
        logger.debug("removed %s", filename)


def remove_leftovers(simple: str, state: IndexState, batch: SyncBatch) -> None:
    """Remove what a killed build left that the index does not hold."""
    tracked = {
        project: {dist.filename for dist in dists} for project, dists in state.iter_projects()
    }
    for path in fsutil.remove_orphans(simple, tracked):
        batch.note(path)
