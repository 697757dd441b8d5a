"""The index's lock: one build (or publish, or re-checking verify) at a time.

On POSIX systems this is ``flock(2)`` on ``.privateindex/lock``, the very
lock ``filelock`` takes there (so either serializes with the other), taken
here directly: importing ``filelock`` costs about 40 ms, which was a third of
a no-change rebuild's whole process (``benchmarks/README.rst``, goal 3).
Elsewhere (Windows) ``filelock`` does the job.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["LockTimeout", "held"]

#: How long to wait between two attempts to take a busy lock.
_POLL = 0.05


class LockTimeout(Exception):
    """The lock stayed held by another process for the whole timeout."""


class held:
    """Hold the lock file ``path`` (created with ``mode`` if missing).

    Entering waits up to ``timeout`` seconds for another holder.

    :raises LockTimeout: Another process held it for ``timeout`` seconds.
    :raises OSError: The lock file cannot be created or opened.
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float, mode: int) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self.mode = mode
        self._fd: int | None = None
        self._other: contextlib.AbstractContextManager[object] | None = None

    def __enter__(self) -> None:
        if fcntl is None:  # pragma: no cover - not POSIX
            self._other = _filelock(self.path, self.timeout, self.mode)
            self._other.__enter__()
            return
        fd = _open(self.path, self.mode)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(_POLL)
                    continue
                os.close(fd)
                raise LockTimeout(self.path) from None
            except BaseException:
                os.close(fd)
                raise
        self._fd = fd

    def __exit__(self, *exc_info: object) -> None:
        if self._other is not None:  # pragma: no cover - not POSIX
            self._other.__exit__(None, None, None)
        elif self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor releases the lock


def _open(path: str, mode: int) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
    with contextlib.suppress(OSError):  # not the owner: someone else created it meanwhile
        os.fchmod(fd, mode)  # whatever the umask: the group may take it too
    return fd


@contextlib.contextmanager
def _filelock(path: str, timeout: float, mode: int) -> Iterator[None]:  # pragma: no cover
    import filelock  # type: ignore[import-not-found, unused-ignore]  # Windows only

    lock = filelock.FileLock(path, timeout=timeout, mode=mode)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LockTimeout(path) from None
    try:
        yield
    finally:
        lock.release()
