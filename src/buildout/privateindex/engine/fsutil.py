"""Crash-safe file system operations for writing the index.

Every file of the index appears atomically: it is first written (or linked)
under a temporary name in the directory it belongs to, then renamed into
place with :func:`os.replace`.  A build killed at any moment therefore leaves
each file either in its old or in its new state, plus possibly a temporary
file, which :func:`remove_temp_files` cleans up at the next build.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Collection, Iterable, Iterator, Mapping

from buildout.privateindex.dists.model import classify
from buildout.privateindex.errors import IndexStateError

__all__ = [
    "LOCK_MODE",
    "PUBLIC_DIR",
    "PUBLIC_FILE",
    "STATE_DIR_MODE",
    "STATE_FILE_MODE",
    "TEMP_PREFIX",
    "cannot_write",
    "is_temp_name",
    "make_public_dirs",
    "place_file",
    "remove_orphans",
    "remove_project_dir",
    "remove_quietly",
    "remove_temp_files",
    "write_atomic",
]

logger = logging.getLogger(__name__)

#: What the index serves: readable (directories: traversable) by a web server
#: running as another user, whatever the umask.
PUBLIC_FILE = 0o644
PUBLIC_DIR = 0o755
#: The private state: its directory can be entered (to reach the lock) but
#: not listed by others; its database (and journal) is the owner's alone.
STATE_DIR_MODE = 0o711
STATE_FILE_MODE = 0o600
#: The lock: the owner and the owner's group (a ``verify`` of theirs) may take it.
LOCK_MODE = 0o664

#: Temporary files of a build are named ``.~privateindex-<random>.tmp``.
TEMP_PREFIX = ".~privateindex-"
_TEMP_SUFFIX = ".tmp"

#: ``os.link`` errors after which copying is the way to go.
_NO_LINK = frozenset(
    {errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}
)


def cannot_write(exc: OSError, out: str) -> IndexStateError:
    """The error of a build that cannot write the index ``out`` (names the file)."""
    return IndexStateError(exc.filename or out, f"cannot write the index: {exc.strerror or exc}")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temporary file left behind by a build."""
    return name.startswith(TEMP_PREFIX) and name.endswith(_TEMP_SUFFIX)


def _temp_path(directory: str) -> str:
    return os.path.join(directory, f"{TEMP_PREFIX}{os.urandom(8).hex()}{_TEMP_SUFFIX}")


def write_atomic(path: str, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or pieces of it) to ``path`` through a temporary
    file and a rename.

    The file is :data:`PUBLIC_FILE` (``0o644``) whatever the umask, so a web
    server running as another user can read it.
    """
    tmp = _temp_path(os.path.dirname(path) or ".")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PUBLIC_FILE)
    try:
        os.fchmod(fd, PUBLIC_FILE)
        with os.fdopen(fd, "wb") as stream:
            if isinstance(data, bytes):
                stream.write(data)
            else:
                stream.writelines(data)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def place_file(source: str, target: str, *, readable: bool | None = None) -> bool:
    """Put a copy of ``source`` at ``target`` atomically; never touch ``source``.

    A hard link when the file system allows it and ``source`` is readable by
    all, else a copy (keeping the modification time) made :data:`PUBLIC_FILE`:
    a link shares its source's mode, and a private file of the download
    cache must not become unreadable to the web server, nor the cache's file
    be changed.  Returns True when the file was hard linked.  If ``target``
    already is ``source`` (the same inode), nothing is done.  A new hard link
    appears atomically by itself; a copy, or a link that replaces another
    file, goes through a temporary name.  ``readable`` says whether everyone
    may read ``source``, when the caller's stat of it already told.
    """
    link = bool(os.stat(source).st_mode & 0o004) if readable is None else readable
    if link:
        try:
            os.link(source, target)  # the common case: one system call
            return True
        except FileExistsError:
            try:
                if os.path.samefile(source, target):
                    return True
            except OSError:
                pass
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            link = False
    return _place_through_temp(source, target, link)


def _place_through_temp(source: str, target: str, link: bool) -> bool:
    """A link (if ``link`` and the file system allows) or a public copy, renamed in."""
    tmp = _temp_path(os.path.dirname(target) or ".")
    try:
        if link:
            try:
                os.link(source, tmp)
            except OSError as exc:
                if exc.errno not in _NO_LINK:
                    raise
                link = False
        if not link:
            shutil.copy2(source, tmp)
            os.chmod(tmp, PUBLIC_FILE)
        os.replace(tmp, target)
    except BaseException:
        remove_quietly(tmp)
        raise
    return link


def make_public_dirs(path: str) -> None:
    """Create directory ``path`` and its missing parents as :data:`PUBLIC_DIR`."""
    missing: list[str] = []
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue
        os.chmod(directory, PUBLIC_DIR)


def remove_quietly(path: str) -> None:
    """Remove a file if it exists; other errors are logged, not raised."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("cannot remove %s: %s", path, exc.strerror or exc)


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
            if is_temp_name(name):
                remove_quietly(os.path.join(directory, name))
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
        or is_temp_name(name)
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
            remove_quietly(os.path.join(directory, name))
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
                remove_quietly(os.path.join(entry.path, name))
                removed.append(os.path.join(entry.path, name))
    return removed


def is_within(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies below it (both as given: resolve
    symbolic links first where they matter)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
