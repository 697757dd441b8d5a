"""Decide what a build changes: which files to read, add and prune.

The plan compares the scanned candidates with the scan cache: an unchanged
source file (same size and mtime as cached) is settled without reading it;
every other candidate is read, then :meth:`Plan.resolve` sorts the outcomes
into additions, duplicates, conflicts and problems.  The plan only reads the
state: what the build must record (scan cache entries, the rows of the files
it adds) it collects, and the build applies it.  A file name's content never
changes in an index: the first file (already indexed, else first in source
order) wins, and any other content under that name is a conflict.

Memory: the plan keeps the candidates to read and the names of the files it
adds, never a record per source file, so that a rebuild of a
large, mostly unchanged index stays small, and a cold build of 50,000 files
too (``benchmarks/README.rst``, goal 4): the rows and scan cache entries it
collects are handed to the build as they come (:meth:`Plan.take_rows`,
:meth:`Plan.take_scans`), which records them in batches.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from buildout.privateindex.dists.model import DistFile, Problem, ReadResult
from buildout.privateindex.engine.candidates import Candidate, CandidateList
from buildout.privateindex.engine.newfiles import usable_project
from buildout.privateindex.engine.state import FileRow, IndexState, ScanEntry, dist_to_row
from buildout.privateindex.errors import ConflictError

if TYPE_CHECKING:
    from buildout.privateindex.engine.reading import ReadOutcome

__all__ = ["Plan", "make_plan"]

logger = logging.getLogger(__name__)


class Plan:
    """What a build does; filled by :func:`make_plan`, :meth:`resolve` and :meth:`added`."""

    def __init__(self, state: IndexState, prune: bool, simple: str) -> None:
        self.state = state
        self.simple = simple
        self.problems: list[Problem] = []
        self.to_read = CandidateList()
        #: The names of the files added (their rows are in :attr:`rows`
        #: until the build records them in the state).
        self.additions: set[str] = set()
        #: Projects whose files change (including those that may become empty).
        self.changed_projects: set[str] = set()
        #: Source paths to drop from the scan cache (they were not found).
        self.forgotten: list[str] = []
        #: File names to remove from the index (sorted), and their projects.
        self.pruned: list[str] = []
        self.pruned_projects: dict[str, str] = {}
        #: With prune: the file names found in the sources.
        self.names: set[str] | None = set() if prune else None
        #: Files the index lost (see :func:`.cleanup.forget_lost`), by project,
        #: and those of them no source holds any more (:meth:`finish`).
        self.lost: dict[str, str] = {}
        self.dropped: list[str] = []
        #: Scan cache entries for the build to record, by source path.
        self.scans: list[tuple[str, ScanEntry]] = []
        #: The rows of the files added that the state does not hold yet, by file name.
        self.rows: dict[str, FileRow] = {}
        #: Whether the index held no file when the build began (a cold build:
        #: no file needs looking up in the state).
        self.was_empty = state.count_files() == 0

    def _conflict(self, candidate: Candidate, other: str, kept: str) -> None:
        error = ConflictError(
            candidate.path,
            f"conflicts with {other}: same file name {candidate.filename!r} but different "
            f"content; {kept} is kept",
        )
        self.problems.append(Problem(error.path, error.reason))

    def _index_conflict(self, candidate: Candidate, row: FileRow) -> None:
        copy = os.path.join(self.simple, row.project, row.filename)
        try:
            shared = os.path.samestat(os.stat(copy), os.stat(candidate.path))
        except OSError:
            shared = False
        if not shared:
            self._conflict(candidate, row.source, "the indexed copy")
            return
        reason = (
            "changed after it was indexed, and the index holds it as a hard link: its "
            "copy in the index changed too and no longer matches the index's pages "
            "(never modify a downloaded file in place)"
        )
        error = ConflictError(candidate.path, reason)
        self.problems.append(Problem(error.path, error.reason))

    def check_cached(self, candidate: Candidate) -> None:
        """Settle a candidate the scan cache knows unchanged, not indexed as is."""
        entry = self.state.scan_entry(candidate.path)
        if entry is not None and entry.error is not None:
            self.problems.append(Problem(candidate.path, entry.error))
            return
        row = None if entry is None else self.state.file_row(entry.filename or "")
        if entry is None or row is None or row.sha256 == entry.sha256:
            self.to_read.append(candidate)  # cannot be, but reading settles it
        else:
            self._index_conflict(candidate, row)

    def _record(self, candidate: Candidate, entry: ScanEntry) -> None:
        self.scans.append((candidate.path, entry))

    def resolve(self, outcome: ReadOutcome) -> ReadResult | None:
        """Sort the outcome of reading a file into the plan.

        Outcomes must come in source order.  Returns the result if the file
        is new to the index: the caller places it, then calls :meth:`added`.
        """
        candidate = outcome.candidate
        size, mtime_ns = candidate.signature
        if outcome.result is None:
            reason = outcome.error or "cannot read"
            self.problems.append(Problem(candidate.path, reason))
            if outcome.cacheable:
                self._record(
                    candidate, ScanEntry(size, mtime_ns, error=reason, skipped=outcome.skipped)
                )
            return None
        dist = outcome.result.dist
        if dist.filename != candidate.filename or not usable_project(dist.project):
            reason = f"unusable file name or project name {dist.project!r}"
            self.problems.append(Problem(candidate.path, reason))
            return None
        if dist.filename in self.additions:  # from another source of this build
            row = self.rows.get(dist.filename) or self.state.file_row(dist.filename)
        elif self.was_empty:
            row = None
        else:
            row = self.state.file_row(dist.filename)
        if row is None:
            return outcome.result
        indexed = row.sha256 == dist.sha256
        if not indexed and dist.filename in self.additions:  # added from another source
            self._conflict(candidate, row.source, "the first one")
        elif not indexed:
            self._index_conflict(candidate, row)
        self._record(
            candidate, ScanEntry(size, mtime_ns, dist.filename, dist.sha256, None, 0, int(indexed))
        )
        return None

    def added(self, candidate: Candidate, dist: DistFile) -> FileRow:
        """Note a file that is now in place in the index; its row, for the state."""
        self.additions.add(dist.filename)
        self.changed_projects.add(dist.project)
        row = self.rows[dist.filename] = dist_to_row(dist, candidate.path)
        size, mtime_ns = candidate.signature
        self._record(candidate, ScanEntry(size, mtime_ns, dist.filename, dist.sha256, None, 0, 1))
        return row

    def take_rows(self) -> list[FileRow]:
        """The rows of the files added since the last call, for the state."""
        rows = list(self.rows.values())
        self.rows = {}
        return rows

    def take_scans(self) -> list[tuple[str, ScanEntry]]:
        """The scan cache entries collected since the last call, for the state."""
        scans, self.scans = self.scans, []
        return scans

    def lose(self, lost: dict[str, str]) -> None:
        """Note the files the index lost: their projects' pages change."""
        self.lost = lost
        self.changed_projects.update(lost.values())

    def removed(self) -> list[tuple[str, str]]:
        """``(filename, project)`` of every file to remove from the disk."""
        dropped = [(filename, self.lost[filename]) for filename in self.dropped]
        return [(filename, self.pruned_projects[filename]) for filename in self.pruned] + dropped

    def finish(self) -> None:
        """Decide what to prune, once every candidate is settled."""
        for filename in sorted(self.lost):
            if filename in self.additions:
                logger.warning("%s placed in the index again from its source", filename)
            else:
                logger.warning("%s dropped from the index: no source holds it whole", filename)
                self.dropped.append(filename)
        if self.names is None:
            return
        indexed = self.state.file_projects()
        self.pruned = sorted(set(indexed).difference(self.names))
        self.pruned_projects = {filename: indexed[filename] for filename in self.pruned}
        self.changed_projects.update(self.pruned_projects.values())


def make_plan(state: IndexState, candidates: Iterable[Candidate], prune: bool, simple: str) -> Plan:
    """Compare the candidates with the scan cache; reading comes next.

    ``simple`` is the index's ``simple/`` directory.  This loop runs once per
    source file of every build, so it is kept tight: an unchanged file that
    the index holds as is costs one dict operation and two comparisons.
    """
    plan = Plan(state, prune, simple)
    cache = state.load_scan_cache()
    take = cache.pop
    to_read = plan.to_read
    names = plan.names
    for candidate in candidates:
        entry = take(candidate.path, None)
        if names is not None:
            names.add(candidate.filename)
        if entry is None or entry[0] != candidate.size or entry[1] != candidate.mtime_ns:
            to_read.append(candidate)
        elif not entry[2]:  # not indexed as is: an error or a conflict
            plan.check_cached(candidate)
    plan.forgotten = sorted(cache)  # what no source holds any more
    return plan
