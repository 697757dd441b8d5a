"""Read many distribution files, in parallel when it pays.

Reading a file means hashing all of it and parsing its metadata: CPU bound,
so it runs in a pool of processes.  Bad input never raises here: each file
yields a :class:`ReadOutcome`, good or bad.
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import itertools
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import concurrent.futures

from buildout.privateindex.dists.model import DistFile, ReadResult
from buildout.privateindex.engine.scan import Candidate
from buildout.privateindex.errors import DistributionError, NotADistributionError

__all__ = ["PARALLEL_THRESHOLD", "ReadOutcome", "read_files"]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
#: Fewer files than this are read in this process: a pool costs more.
PARALLEL_THRESHOLD = 8

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ReadOutcome:
    """What reading one candidate gave: a result, or an error reason.

    ``skipped`` marks files that are no distribution at all (a plain
    tarball); ``cacheable`` errors depend on the file's content only (not an
    OSError), so they can be remembered until the file changes.
    """

    candidate: Candidate
    result: ReadResult | None = None
    error: str | None = None
    skipped: bool = False
    cacheable: bool = True


#: The picklable form of an outcome, as a worker process returns it.  Plain
#: tuples: frozen, slotted dataclasses do not unpickle on every Python.
_Wire = tuple[tuple[object, ...] | None, bytes | None, str | None, bool, bool]


def _read_one(item: tuple[str, int, int]) -> _Wire:
    # Imported here: a build with nothing to read (a no-change rebuild) never
    # pays for the archive and metadata readers.
    from buildout.privateindex.dists import metadata

    path, size, mtime_ns = item
    try:
        result = metadata.read_distribution(path)
    except NotADistributionError as exc:
        return (None, None, f"skipped, not a distribution: {exc.reason}", True, True)
    except DistributionError as exc:
        return (None, None, exc.reason, False, True)
    except OSError as exc:
        return (None, None, f"cannot read: {exc.strerror or exc}", False, False)
    except Exception as exc:  # bad input must never stop a build
        logger.debug("unexpected error reading %s", path, exc_info=True)
        return (None, None, f"cannot read: {type(exc).__name__}: {exc}", False, False)
    if (result.dist.size, result.dist.mtime_ns) != (size, mtime_ns):
        return (None, None, "cannot read: the file changed while the build ran", False, False)
    fields = tuple(getattr(result.dist, f.name) for f in dataclasses.fields(DistFile))
    return (fields, result.core_metadata, None, False, True)


def _outcome(candidate: Candidate, wire: _Wire) -> ReadOutcome:
    fields, core_metadata, error, skipped, cacheable = wire
    if fields is None:
        return ReadOutcome(candidate, None, error, skipped, cacheable)
    dist = DistFile(*fields)  # type: ignore[arg-type]
    return ReadOutcome(candidate, ReadResult(dist, core_metadata))


def _serial(candidates: Sequence[Candidate]) -> Iterator[_Wire]:
    for candidate in candidates:
        yield _read_one((candidate.path, candidate.size, candidate.mtime_ns))


def _read_chunk(items: list[tuple[str, int, int]]) -> list[_Wire]:
    return [_read_one(item) for item in items]


def _die_with_parent(parent: int) -> None:
    """Make a worker die with the build (Linux): a killed build must leave no
    worker behind, blocked for ever on a queue nobody writes to."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # pragma: no cover - no prctl here
            return
    if os.getppid() != parent:  # the build died before the line above ran
        os._exit(1)


def _parallel(candidates: Sequence[Candidate], jobs: int) -> Iterator[_Wire]:
    """Read in ``jobs`` processes, with a bounded number of files in flight.

    Files go to the workers in chunks (fewer round trips), and only a few
    chunks per worker are queued at a time, so that memory does not grow with
    the number of files, whatever the speed of the caller.
    """
    import concurrent.futures  # only when there is a pool: start-up counts
    from concurrent.futures.process import BrokenProcessPool

    chunksize = max(1, min(16, len(candidates) // (jobs * 4)))
    ahead = jobs * 3
    done = 0
    pool: concurrent.futures.ProcessPoolExecutor | None = None
    try:
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, initializer=_die_with_parent, initargs=(os.getpid(),)
        )
        pending: collections.deque[concurrent.futures.Future[list[_Wire]]] = collections.deque()
        starts = iter(range(0, len(candidates), chunksize))
        while True:
            for start in itertools.islice(starts, ahead - len(pending)):
                chunk = candidates[start : start + chunksize]
                items = [(c.path, c.size, c.mtime_ns) for c in chunk]
                pending.append(pool.submit(_read_chunk, items))
            if not pending:
                break
            for wire in pending.popleft().result():
                done += 1
                yield wire
    except (BrokenProcessPool, OSError, NotImplementedError) as exc:
        # A worker died (or no pool can be had here): read the rest in-process.
        logger.warning("parallel reading failed (%s); reading in this process", exc)
        yield from _serial(candidates[done:])
    finally:
        if pool is not None:
            # Also when the caller stops early (an exception, ^C): drop the rest.
            pool.shutdown(wait=True, cancel_futures=True)


def read_files(
    candidates: Sequence[Candidate], *, jobs: int = 1, progress: Progress | None = None
) -> Iterator[ReadOutcome]:
    """Read ``candidates`` with up to ``jobs`` processes; outcomes in input order.

    The outcomes are yielded as they come, so that the caller can act on
    each (and let it go) while the others are being read.
    ``progress(done, total)`` is called after each file.
    """
    total = len(candidates)
    if jobs > 1 and total > PARALLEL_THRESHOLD:
        wires = _parallel(candidates, min(jobs, total))
        logger.debug("reading %d file(s) with %d processes", total, min(jobs, total))
    else:
        wires = _serial(candidates)
    for done, (candidate, wire) in enumerate(zip(candidates, wires, strict=True), 1):
        yield _outcome(candidate, wire)
        if progress is not None:
            progress(done, total)
