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
from collections.abc import Collection, Iterable, Iterator, Mapping

from buildout.privateindex.dists.model import classify
from buildout.privateindex.engine import fsutil
from buildout.privateindex.engine.durable import SyncBatch
from buildout.privateindex.engine.state import IndexState

__all__ = [
    "forget_lost",
    "remove_files",
    "remove_leftovers",
    "remove_orphans",
    "remove_project_dir",
    "remove_temp_files",
]

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
        remove_project_dir(directory)
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
    for path in remove_orphans(simple, tracked):
        batch.note(path)


def _walk_dirs(top: str) -> Iterator[str]:
    """``top`` and its subdirectories (without following symlinks)."""
    yield top
    try:
        entries = list(os.scandir(top))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
            yield from _walk_dirs(entry.path)


def remove_temp_files(top: str) -> int:
    """Remove the temporary files a killed build left under ``top``.

    Hidden directories (the private state) are not entered.  Returns how many
    files were removed.
    """
    removed = 0
    for directory in _walk_dirs(top):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if fsutil.is_temp_name(name):
                fsutil.remove_quietly(os.path.join(directory, name))
                removed += 1
    if removed:
        logger.info("removed %d temporary file(s) of an interrupted build", removed)
    return removed


#: The files a project directory holds besides the distributions.
_PAGES = ("index.html", "index.json")


def _is_ours(name: str) -> bool:
    """Whether a build may have written a file of this name into a project dir."""
    return (
        name in _PAGES
        or fsutil.is_temp_name(name)
        or name.endswith(".metadata")
        or classify(name) is not None
    )


def remove_project_dir(directory: str) -> None:
    """Remove a project directory that has no file left, with its pages."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    except OSError as exc:
        logger.warning("cannot list %s: %s", directory, exc.strerror or exc)
        return
    # The pages first: no page may ever link to a removed file.
    for name in sorted(names, key=lambda name: name not in _PAGES):
        if _is_ours(name):
            fsutil.remove_quietly(os.path.join(directory, name))
    try:
        os.rmdir(directory)
    except OSError as exc:
        logger.warning("cannot remove %s: %s", directory, exc.strerror or exc)


def remove_orphans(simple: str, tracked: Mapping[str, Collection[str]]) -> list[str]:
    """Remove what a killed build left in ``simple`` that the index does not hold.

    ``tracked`` maps each project to its file names.  Only names a build
    writes are considered (pages, distributions, ``.metadata`` files).
    Returns the paths removed (project directories and files).
    """
    removed: list[str] = []
    try:
        entries = [entry for entry in os.scandir(simple) if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return removed
    for entry in entries:
        files = tracked.get(entry.name)
        if files is None:
            if not entry.name.startswith("."):
                logger.info("removing %s, left by an interrupted build", entry.path)
                remove_project_dir(entry.path)
                removed.append(entry.path)
            continue
        try:
            names = os.listdir(entry.path)
        except OSError:
            continue
        for name in names:
            if name in _PAGES or name in files:
                continue
            if name.endswith(".metadata") and name[: -len(".metadata")] in files:
                continue
            if _is_ours(name):
                logger.info("removing %s, left by an interrupted build", name)
                fsutil.remove_quietly(os.path.join(entry.path, name))
                removed.append(os.path.join(entry.path, name))
    return removed
