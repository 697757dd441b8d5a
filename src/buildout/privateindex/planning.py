"""Decide what a build changes: which files to read, add and prune.

The plan compares the scanned candidates with the state: an unchanged source
file (same size and mtime as cached) is settled without reading it; every
other candidate is read, then :meth:`Plan.resolve` sorts the outcomes into
additions, duplicates, conflicts and problems.  A file name's content never
changes in an index: the first file (already indexed, else first in source
order) wins, and any other content under that name is a conflict.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from .errors import ConflictError
from .model import DistFile, Problem, ReadResult
from .reading import ReadOutcome
from .scan import Candidate, ScanResult
from .state import CachedScan, FileRow, IndexState, ScanEntry, row_to_dist

__all__ = ["Addition", "Plan", "make_plan"]

logger = logging.getLogger(__name__)

#: A normalized project name is safe as a directory name and in URLs.
_PROJECT = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Addition:
    """A file that is new to the index, and where it comes from."""

    candidate: Candidate
    dist: DistFile


class Plan:
    """What a build does; filled by :func:`make_plan` and :meth:`resolve`."""

    def __init__(
        self, state: IndexState, candidates: list[Candidate], prune: bool, simple: str
    ) -> None:
        self.state = state
        self.simple = simple
        self.candidates = candidates
        self.prune = prune
        self.problems: list[Problem] = []
        self.to_read: list[Candidate] = []
        #: New files by file name.
        self.additions: dict[str, Addition] = {}
        #: New scan cache entries by source path.
        self.scanned: dict[str, ScanEntry] = {}
        #: Source paths to drop from the scan cache (they were not found).
        self.forgotten: list[str] = []
        #: File names to remove from the index (sorted), and their records.
        self.pruned: list[str] = []
        self.pruned_dists: list[DistFile] = []
        self._final: dict[str, list[DistFile]] | None = None

    def _conflict(self, candidate: Candidate, other: str, kept: str) -> None:
        error = ConflictError(
            candidate.path,
            f"conflicts with {other}: same file name {candidate.filename!r} but different "
            f"content; {kept} is kept",
        )
        self.problems.append(Problem(error.path, error.reason))

    def _index_conflict(self, candidate: Candidate, row: FileRow) -> None:
        copy = os.path.join(self.simple, row[1], row[0])
        try:
            shared = os.path.samestat(os.stat(copy), candidate.stat)
        except OSError:
            shared = False
        if not shared:
            self._conflict(candidate, row[12], "the indexed copy")
            return
        reason = (
            "changed after it was indexed, and the index holds it as a hard link: its "
            "copy in the index changed too and no longer matches the index's pages "
            "(never modify a downloaded file in place)"
        )
        error = ConflictError(candidate.path, reason)
        self.problems.append(Problem(error.path, error.reason))

    def check_cached(self, candidate: Candidate, entry: CachedScan) -> None:
        """Settle a candidate the scan cache knows unchanged, not indexed as is."""
        if entry[4] is not None:
            self.problems.append(Problem(candidate.path, entry[4]))
            return
        row = self.state.file_row(candidate.filename)
        if row is None or row[6] == entry[3]:  # cannot be, but reading settles it
            self.to_read.append(candidate)
        else:
            self._index_conflict(candidate, row)

    def resolve(self, outcome: ReadOutcome) -> ReadResult | None:
        """Sort the outcome of reading a file into the plan.

        Outcomes must come in source order.  Returns the result if the file
        is to be added to the index.
        """
        candidate = outcome.candidate
        size, mtime_ns = candidate.signature
        if outcome.result is None:
            reason = outcome.error or "cannot read"
            self.problems.append(Problem(candidate.path, reason))
            if outcome.cacheable:
                entry = ScanEntry(size, mtime_ns, error=reason, skipped=outcome.skipped)
                self.scanned[candidate.path] = entry
            return None
        dist = outcome.result.dist
        if dist.filename != candidate.filename or not _PROJECT.fullmatch(dist.project):
            reason = f"unusable file name or project name {dist.project!r}"
            self.problems.append(Problem(candidate.path, reason))
            return None
        row = self.state.file_row(dist.filename)
        previous = self.additions.get(dist.filename)
        if row is not None:
            indexed = row[6] == dist.sha256
            if not indexed:
                self._index_conflict(candidate, row)
        elif previous is not None:
            indexed = previous.dist.sha256 == dist.sha256
            if not indexed:
                self._conflict(candidate, previous.candidate.path, "the first one")
        else:
            indexed = True
            self.additions[dist.filename] = Addition(candidate, dist)
        entry = ScanEntry(size, mtime_ns, dist.filename, dist.sha256, None, 0, int(indexed))
        self.scanned[candidate.path] = entry
        return outcome.result if previous is None and row is None else None

    def finish(self) -> None:
        """Decide what to prune and forget, once every candidate is settled."""
        paths = {candidate.path for candidate in self.candidates}
        self.forgotten = sorted(set(self.state.scan).difference(paths))
        if self.prune:
            names = {candidate.filename for candidate in self.candidates}
            self.pruned = sorted(set(self.state.files).difference(names))
            self.pruned_dists = [self.state.dist(filename) for filename in self.pruned]

    def fail(self, filename: str, problem: Problem) -> None:
        """Drop an addition that could not be placed into the index."""
        del self.additions[filename]
        self.problems.append(problem)
        self._final = None
        for path, entry in list(self.scanned.items()):
            if entry.filename == filename:
                del self.scanned[path]  # read it again next time

    @property
    def changed_projects(self) -> set[str]:
        """Projects whose files change (including those that become empty)."""
        changed = {addition.dist.project for addition in self.additions.values()}
        changed.update(dist.project for dist in self.pruned_dists)
        return changed

    def final_projects(self) -> dict[str, list[DistFile]]:
        """The files of the index after the build, by project (sorted)."""
        if self._final is None:
            pruned = set(self.pruned)
            final: dict[str, list[DistFile]] = {}
            for filename, row in self.state.files.items():
                if filename not in pruned:
                    final.setdefault(row[1], []).append(row_to_dist(row))
            for addition in self.additions.values():
                final.setdefault(addition.dist.project, []).append(addition.dist)
            self._final = {project: final[project] for project in sorted(final)}
        return self._final

    @property
    def emptied(self) -> set[str]:
        """Projects that pruning leaves without files."""
        if not self.pruned:
            return set()
        return {dist.project for dist in self.pruned_dists}.difference(self.final_projects())


def make_plan(state: IndexState, scanned: ScanResult, prune: bool, simple: str) -> Plan:
    """Compare what was scanned with the state; reading comes next.

    ``simple`` is the index's ``simple/`` directory.  This loop runs once per
    source file of every build, so it is kept tight: an unchanged file that
    the index holds as is costs two dict lookups and a comparison.
    """
    plan = Plan(state, scanned.candidates, prune, simple)
    plan.problems.extend(scanned.problems)
    cache = state.scan
    to_read = plan.to_read
    for candidate in scanned.candidates:
        entry = cache.get(candidate.path)
        st = candidate.stat
        if entry is None or entry[0] != st.st_size or entry[1] != st.st_mtime_ns:
            to_read.append(candidate)
        elif not entry[6]:  # indexed as is: nothing to do
            plan.check_cached(candidate, entry)
    return plan
