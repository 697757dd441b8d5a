"""Build (or update) an index directory from source directories and files.

The layout of the output directory ``DIR``::

    DIR/index.html                            human landing page
    DIR/simple/index.html, index.json         root pages (PEP 503 / PEP 691)
    DIR/simple/<project>/index.html, .json    project pages
    DIR/simple/<project>/<filename>           the file (hard link or copy)
    DIR/simple/<project>/<filename>.metadata  a wheel's core metadata (PEP 658)
    DIR/projects/<project>.html               the project's page for people
    DIR/.privateindex/                        private state and lock

A build changes the index in an order that keeps it consistent at every
moment: files are placed before any page links them, project pages are
written before the root pages, the root and landing pages last, then the
state is committed, and only then are pruned files removed (an emptied
project's pages before its files).  Every file appears atomically (see
:mod:`.fsutil` and :mod:`.newfiles`: the readers place the new files they
read) and is synced before the state lists it (:mod:`.durable`);
a file the state lists but the disk lost is noticed and repaired
(:mod:`.cleanup`).  Concurrent builds are serialized by a lock file
(:mod:`.locking`).
Incremental builds read only new or changed source files (see
:mod:`.state`) and rewrite only the pages whose content changes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from buildout.privateindex.dists.model import DistFile, Problem, UpstreamFile
from buildout.privateindex.engine import cleanup, durable, fsutil, locking
from buildout.privateindex.engine.candidates import CandidateList
from buildout.privateindex.engine.pages import PageWriter
from buildout.privateindex.engine.planning import make_plan
from buildout.privateindex.engine.scan import check_sources, iter_candidates
from buildout.privateindex.engine.settings import RenderSettings
from buildout.privateindex.engine.state import STATE_DIR, IndexState
from buildout.privateindex.errors import IndexStateError

if TYPE_CHECKING:
    from buildout.privateindex.engine.placing import EarlyPages, Placer

__all__ = ["BuildReport", "build_index", "load_index"]

logger = logging.getLogger(__name__)

#: What a build reports with ``progress(done, total)`` as it reads files.
Progress = Callable[[int, int], None]
#: Files read between two recordings of what was read in the state.
_BATCH = 512


class BuildReport:
    """What a build did.

    ``files`` and ``projects`` count what the index holds after the build,
    ``added`` and ``pruned`` are file names, ``problems`` lists each file
    that could not be indexed (once), ``pages_written`` counts the pages
    (HTML and JSON) written, ``elapsed`` the seconds the build took.
    """

    def __init__(self) -> None:
        self.files = 0
        self.projects = 0
        self.added: list[str] = []
        self.pruned: list[str] = []
        self.problems: list[Problem] = []
        self.pages_written = 0
        self.elapsed = 0.0

    def __repr__(self) -> str:
        return (
            f"BuildReport(files={self.files}, projects={self.projects}, "
            f"added={len(self.added)}, pruned={len(self.pruned)}, "
            f"problems={len(self.problems)}, pages_written={self.pages_written})"
        )

    @property
    def ok(self) -> bool:
        """True when every candidate file was indexed."""
        return not self.problems


def _prepare_output(output: str) -> None:
    """Create the index directory; refuse one this package did not write."""
    if os.path.exists(output) and not os.path.isdir(output):
        raise IndexStateError(output, "exists and is not a directory")
    state_dir = os.path.join(output, STATE_DIR)
    try:
        names = os.listdir(output)  # one snapshot: another build may be creating it
    except FileNotFoundError:
        names = []
    except OSError as exc:
        raise IndexStateError(output, f"cannot list: {exc.strerror or exc}") from None
    if names and STATE_DIR not in names:
        raise IndexStateError(
            output, "is not empty and is not an index (it has no .privateindex directory)"
        )
    try:
        fsutil.make_public_dirs(output)
        try:
            os.mkdir(state_dir)  # another build may be creating it too
        except FileExistsError:
            pass
        else:
            os.chmod(state_dir, fsutil.STATE_DIR_MODE)
    except OSError as exc:
        raise IndexStateError(output, f"cannot create: {exc.strerror or exc}") from None


def build_index(
    sources: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    base_url: str | None = None,
    yanks: Sequence[str] = (),
    unyanks: Sequence[str] = (),
    provenance: Mapping[str, Sequence[UpstreamFile]] | None = None,
    prune: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
    lock_timeout: float = 600,
) -> BuildReport:
    """Add the distributions found in ``sources`` to the index in ``output``.

    :param sources: Directories (scanned recursively) and files.
    :param output: The index directory; created if missing.
    :param base_url: Where ``simple/`` is served, if the pages should link
        files absolutely (``<base_url>/<project>/<filename>``).
    :param yanks: ``NAME==VERSION[: reason]`` specifications (PEP 592).
    :param unyanks: ``NAME==VERSION`` releases whose upstream yank is cleared.
    :param provenance: Upstream records by project (see :mod:`.provenance`):
        the upload time and yank of each indexed file they match by name and
        sha256 replace what the index knew.
    :param prune: Remove the files that are in no source any more.
    :param jobs: Processes reading files (default: the number of CPUs).
    :param progress: Called with ``(done, total)`` as files are read.
    :param lock_timeout: Seconds to wait for another build of ``output``.
    :raises SourceError: A source does not exist (nothing is done then).
    :raises YankSpecError: A yank specification is invalid.
    :raises IndexStateError: ``output`` is not an index, or is locked.
    """
    started = time.monotonic()
    out = os.path.abspath(os.fspath(output))
    checked = check_sources(sources, out)
    settings = RenderSettings.make(base_url, yanks, unyanks)
    if jobs is None:
        jobs = os.cpu_count() or 1
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    _prepare_output(out)
    try:
        lock = locking.held(os.path.join(out, STATE_DIR, "lock"), lock_timeout, fsutil.LOCK_MODE)
        with lock, IndexState.open(out) as state, fsutil.umask_known():
            report = _build(state, checked, out, settings, prune, jobs, progress, provenance)
    except locking.LockTimeout:
        raise IndexStateError(
            out, f"another build has held the lock for {lock_timeout:g} seconds"
        ) from None
    report.elapsed = time.monotonic() - started
    logger.debug(
        "%s: %d file(s) in %d project(s); %d added, %d pruned, %d problem(s), "
        "%d page(s) written in %.2fs",
        out,
        report.files,
        report.projects,
        len(report.added),
        len(report.pruned),
        len(report.problems),
        report.pages_written,
        report.elapsed,
    )
    return report


def _build(
    state: IndexState,
    sources: list[str],
    out: str,
    settings: RenderSettings,
    prune: bool,
    jobs: int,
    progress: Progress | None,
    provenance: Mapping[str, Sequence[UpstreamFile]] | None = None,
) -> BuildReport:
    recovering = state.dirty
    if recovering:
        logger.info("%s: cleaning up after an interrupted build", out)
        cleanup.remove_temp_files(out)
    simple = os.path.join(out, "simple")
    batch = durable.SyncBatch(out)
    before = state.projects()  # what the root pages list now
    lost = cleanup.forget_lost(state, simple)
    scan_problems: list[Problem] = []
    plan = make_plan(state, iter_candidates(sources, out, scan_problems), prune, simple)
    plan.problems.extend(scan_problems)
    plan.lose(lost)
    writer = PageWriter(out, settings, state, batch, old_projects=before)
    early: EarlyPages | None = None
    placer: Placer | None = None
    if plan.to_read:
        # Only a build that reads files imports the readers and placers.
        from buildout.privateindex.engine.placing import EarlyPages, Placer
        from buildout.privateindex.engine.reading import read_files

        logger.debug("reading %d new or changed file(s)", len(plan.to_read))
        placer = Placer(simple, state, plan, batch)
        if not prune and not writer.rerenders_all(recovering):
            early = EarlyPages(writer, plan, placer)
        state.set_dirty(True)  # before the readers place the first file
        fsutil.make_public_dirs(simple)
        batch.note(simple)
        outcomes = read_files(plan.to_read, jobs=jobs, progress=progress, place_into=simple)
        for n, outcome in enumerate(outcomes, 1):
            result = plan.resolve(outcome)
            row = None
            if result is not None:
                row = placer.place(outcome.candidate, result, placed=outcome.placed)
            if early is not None:
                early.settled(outcome.candidate.filename, result, row)
            if n % _BATCH == 0:
                placer.flush()  # memory stays flat however many files are read
        placer.flush()
    plan.to_read = CandidateList()  # let the candidates go
    plan.finish()
    if placer is not None:
        plan.problems += placer.problems
    state.record_scans(plan.take_scans())
    report = BuildReport()
    refreshed = state.record_upstream(provenance) if provenance else set()
    if plan.additions or plan.pruned or lost or refreshed or writer.needs_work(recovering):
        state.set_dirty(True)
        state.remove_files(plan.pruned)
        try:
            changed = (plan.changed_projects - (early.written if early else set())) | refreshed
            report.pages_written = writer.write(changed, full=recovering)
        except OSError as exc:
            raise fsutil.cannot_write(exc, out) from exc
    state.forget_scans(plan.forgotten)
    state.set_settings(settings.fingerprint)
    batch.flush()  # what the state lists is on disk before the state commits
    removed = plan.removed()
    if state.dirty and not (removed or writer.emptied or recovering):
        state.set_dirty(False)  # nothing left to remove: one commit says both
    state.commit()
    if state.dirty:
        cleanup.remove_files(simple, removed, writer.emptied, batch)
        if recovering:
            cleanup.remove_leftovers(simple, state, batch)
        batch.flush()  # and gone before the state says the build is over
        state.set_dirty(False)
    report.problems = sorted(plan.problems, key=lambda problem: problem.path)
    report.added = sorted(plan.additions)
    report.pruned = plan.pruned
    report.files = state.count_files()
    report.projects = writer.project_count
    return report


def load_index(output: str | os.PathLike[str]) -> list[DistFile]:
    """The files the index in ``output`` holds, sorted by project and file name.

    :raises IndexStateError: ``output`` is not an index.
    """
    with IndexState.open(os.fspath(output), create=False) as state:
        return [dist for _, dists in state.iter_projects() for dist in dists]
