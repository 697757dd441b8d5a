"""Placing new files into the index as they are read, and their projects' pages early.

A file is in place (hard link or copy, and its ``.metadata``) before any page
links it; a project's pages are written as soon as all its new files are in
place, while the others are still read.
"""

from __future__ import annotations

import collections
import logging
import os
import time

from packaging.utils import canonicalize_name

from buildout.privateindex.dists.model import Kind, Problem, ReadResult, sdist_suffix
from buildout.privateindex.engine import durable, fsutil
from buildout.privateindex.engine.candidates import Candidate
from buildout.privateindex.engine.pages import PageWriter
from buildout.privateindex.engine.planning import Plan
from buildout.privateindex.engine.provenancestate import FileProvenance
from buildout.privateindex.engine.rows import FileRow, row_to_dist
from buildout.privateindex.engine.state import IndexState

__all__ = ["EarlyPages", "Placer"]

logger = logging.getLogger(__name__)


class Placer:
    """Puts new files into the index as they are read, before any page links them."""

    def __init__(self, simple: str, state: IndexState, plan: Plan, batch: durable.SyncBatch):
        self.simple = simple
        self.state = state
        self.plan = plan
        self.batch = batch
        #: When the index first holds the files this build places (a file
        #: dated later shows this date, see :mod:`.provenancestate`).
        self.now_ns = time.time_ns()
        #: Files that could not be put in place.
        self.problems: list[Problem] = []

    def place(
        self, candidate: Candidate, result: ReadResult, *, placed: bool = False
    ) -> FileRow | None:
        """Put a file new to the index in place (``placed``: its reader did),
        then record it; its row, or None if it could not be placed."""
        dist = result.dist
        directory = os.path.join(self.simple, dist.project)
        target = os.path.join(directory, dist.filename)
        self.batch.note(directory)  # a set, where it is kept at all: no list per file here
        if not placed:
            try:
                fsutil.make_public_dirs(directory)
                fsutil.place_file(candidate.path, target, readable=candidate.readable)
                if result.core_metadata is not None:
                    fsutil.write_atomic(target + ".metadata", result.core_metadata)
            except OSError as exc:
                reason = f"cannot copy into the index: {exc.strerror or exc}"
                self.problems.append(Problem(candidate.path, reason))
                return None
        self.batch.note(target)
        if dist.kind is Kind.WHEEL:
            self.batch.note(target + ".metadata")
        logger.debug("added %s", dist.filename)
        return self.plan.added(candidate, dist)

    def flush(self) -> None:
        """Record in the state what the plan collected since the last call:
        the rows of the files placed, the scan cache entries (a statement each)."""
        rows = self.plan.take_rows()
        if rows:
            self.state.add_files(rows, self.now_ns)
        self.state.record_scans(self.plan.take_scans())


#: Rows a cold build keeps for its early pages, at most (see :class:`EarlyPages`).
_MAX_HELD = 4096


def _filename(row: FileRow) -> str:
    return row.filename


def _project_guess(filename: str) -> str:
    """The project a distribution's file name names: a guess, its metadata decides."""
    suffix = sdist_suffix(filename)
    if suffix is None:  # a wheel or an egg: name-version-...
        return canonicalize_name(filename.split("-", 1)[0])
    return canonicalize_name(filename[: -len(suffix)].rsplit("-", 1)[0])


class EarlyPages:
    """Writes a project's pages as soon as all its files are read and placed.

    So that page writing overlaps the reading of other files, instead of
    following it.  Which files belong to a project is guessed from their
    names (a file is only indexed if its name agrees with its metadata); a
    file the guess misses makes its project's pages be written again at the
    end, so a wrong guess costs time, never correctness.

    In a cold build (the state held no file, nor any provenance) a project's
    files are those the build placed, first seen now: its pages are written
    from their rows, kept here until then, with no round trip through the
    state (:meth:`Placer.flush` and a query per project, a tenth of a cold
    build's time).  Otherwise the pages are written from the state, which
    then must hold the rows first; so too once :data:`_MAX_HELD` rows wait
    here (sources that hold a project's files far apart), so that memory
    stays flat.
    """

    def __init__(self, writer: PageWriter, plan: Plan, placer: Placer) -> None:
        self.writer = writer
        self.plan = plan
        self.placer = placer
        self.pending = collections.Counter(_project_guess(c.filename) for c in plan.to_read)
        #: Projects whose pages are written and still up to date.
        self.written: set[str] = set()
        #: In a cold build: the rows of the files placed, by project.
        cold = plan.was_empty and not placer.state.has_provenance()
        self.fresh: dict[str, list[FileRow]] | None = {} if cold else None
        self._held = 0

    def settled(self, filename: str, result: ReadResult | None, row: FileRow | None) -> None:
        """Note that a file is read (and ``result``, if any, placed: ``row``)."""
        if result is not None:
            self.written.discard(result.dist.project)  # the guess missed it
            if row is not None and self.fresh is not None:
                self.fresh.setdefault(row.project, []).append(row)
                self._held += 1
                if self._held > _MAX_HELD:
                    self.fresh = None  # the rows are in the plan or the state too
        guess = _project_guess(filename)
        self.pending[guess] -= 1
        if self.pending[guess] == 0 and guess in self.plan.changed_projects:
            try:
                if self.fresh is None:
                    self.placer.flush()  # the pages are written from the state
                    wrote = self.writer.write_project(guess)
                else:
                    rows = sorted(self.fresh.pop(guess, ()), key=_filename)  # as the state does
                    self._held -= len(rows)
                    seen = FileProvenance(first_seen_ns=self.placer.now_ns)
                    provenance = {row.filename: seen for row in rows}
                    dists = [row_to_dist(row) for row in rows]
                    wrote = self.writer.write_project(guess, dists, provenance)
            except OSError as exc:
                raise fsutil.cannot_write(exc, self.writer.out) from exc
            if wrote:  # else it has no file left: the final pages remove it
                self.written.add(guess)
