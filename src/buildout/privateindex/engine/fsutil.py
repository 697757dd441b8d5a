"""Crash-safe file system operations for writing the index.

Every page of the index, and every file that replaces another, appears
atomically: it is first written (or linked) under a temporary name in the
directory it belongs to, then renamed into place with :func:`os.replace`.  A
build killed at any moment therefore leaves each of them either in its old
or in its new state, plus possibly a temporary file, which
:func:`.cleanup.remove_temp_files` cleans up at the next build.  A file new
to the index may instead be created under its final name, never replacing
anything (see :mod:`.newfiles`).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
from collections.abc import Iterable, Iterator

from buildout.privateindex.errors import IndexStateError

__all__ = [
    "LOCK_MODE",
    "PUBLIC_DIR",
    "PUBLIC_FILE",
    "STATE_DIR_MODE",
    "STATE_FILE_MODE",
    "TEMP_PREFIX",
    "cannot_write",
    "create_public",
    "is_temp_name",
    "make_public_dirs",
    "place_file",
    "remove_quietly",
    "umask_known",
    "write_all",
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


#: Whether files and directories made with PUBLIC_FILE and PUBLIC_DIR need
#: a chmod after all: not when the umask takes away none of their bits (the
#: usual umask, 022): see :func:`umask_known`.  One system call saved per
#: entry: a cold build creates about two entries a file.
_chmod_files = True
_chmod_dirs = True
_names = itertools.count()
_PREFIX = ""


def _new_prefix() -> None:
    global _PREFIX
    _PREFIX = os.urandom(6).hex() + "-"


_new_prefix()
os.register_at_fork(after_in_child=_new_prefix)  # a forked process names its own


@contextlib.contextmanager
def umask_known() -> Iterator[None]:
    """Within the block, chmod what this module creates only where this
    process's umask requires it (read from Linux's ``/proc/self/status``;
    always elsewhere, and outside the block, where the umask may change)."""
    global _chmod_files, _chmod_dirs
    umask = None
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    umask = int(line.split()[1], 8)
                    break
    except (OSError, ValueError, IndexError):
        pass
    _chmod_files = umask is None or bool(umask & PUBLIC_FILE)
    _chmod_dirs = umask is None or bool(umask & PUBLIC_DIR)
    try:
        yield
    finally:
        _chmod_files = _chmod_dirs = True


def _temp_path(directory: str) -> str:
    # Unique in this process; the random part, drawn once, keeps processes apart.
    return os.path.join(directory, f"{TEMP_PREFIX}{_PREFIX}{next(_names)}{_TEMP_SUFFIX}")


def create_public(path: str) -> int:
    """A new file at ``path`` (never an existing one), open for writing, :data:`PUBLIC_FILE`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PUBLIC_FILE)
    if _chmod_files:
        try:
            os.fchmod(fd, PUBLIC_FILE)
        except BaseException:
            os.close(fd)
            raise
    return fd


def write_all(fd: int, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or pieces of it) to the file descriptor ``fd``."""
    for piece in (data,) if isinstance(data, bytes) else data:
        view = memoryview(piece)
        while view:
            view = view[os.write(fd, view) :]


def write_atomic(path: str, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or pieces of it) to ``path`` through a temporary
    file and a rename.

    The file is :data:`PUBLIC_FILE` (``0o644``) whatever the umask, so a web
    server running as another user can read it.
    """
    tmp = _temp_path(os.path.dirname(path) or ".")
    fd = create_public(tmp)
    try:
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
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
            import shutil  # only for a copy: it imports the compression modules

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
        if _chmod_dirs:
            os.chmod(directory, PUBLIC_DIR)


def remove_quietly(path: str) -> None:
    """Remove a file if it exists; other errors are logged, not raised."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("cannot remove %s: %s", path, exc.strerror or exc)


def is_within(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies below it (both as given: resolve
    symbolic links first where they matter)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
