"""Write the pages of the index that a build changes, in a safe order.

Project pages first (``simple/<project>/index.json``, ``index.html``, then
the project's page for people, ``projects/<project>.html``), then the root
pages (``simple/index.json``, then ``simple/index.html``), then the landing
page (``index.html``): a page is only written once everything it links to is
in place, and the page for people of a project left without files is removed
once the landing page no longer links it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from buildout.privateindex.dists.model import DistFile
from buildout.privateindex.engine import fsutil
from buildout.privateindex.engine.durable import SyncBatch
from buildout.privateindex.engine.paths import PROJECTS_DIR, project_page_name
from buildout.privateindex.engine.provenancestate import FileProvenance
from buildout.privateindex.engine.settings import FORMAT_VERSION, RenderSettings
from buildout.privateindex.engine.state import IndexState

if TYPE_CHECKING:
    from buildout.privateindex.engine.render import PageFile

__all__ = ["FORMAT_VERSION", "PageWriter", "RenderSettings"]

logger = logging.getLogger(__name__)

_HTML = "index.html"
_JSON = "index.json"


class PageWriter:
    """Writes the pages of the index in ``out`` from its state."""

    def __init__(
        self,
        out: str,
        settings: RenderSettings,
        state: IndexState,
        batch: SyncBatch | None = None,
        old_projects: set[str] | None = None,
    ) -> None:
        self.out = out
        #: Notes every page written, to be synced before the state commits.
        self.batch = batch if batch is not None else SyncBatch(out)
        self.simple = os.path.join(out, "simple")
        self.people = os.path.join(out, PROJECTS_DIR)
        self.settings = settings
        self.settings_changed = state.settings != settings.fingerprint
        self._state = state
        #: The projects the index held before the build changed anything.
        self.old_projects = state.projects() if old_projects is None else old_projects
        self._missing: set[str] | None = None
        self._final: list[str] | None = None
        #: Projects the build left without files (after :meth:`write`).
        self.emptied: set[str] = set()
        self.written = 0
        self._people_made = False  # whether ``projects/`` is known to exist

    @property
    def project_count(self) -> int:
        """How many projects the index holds (after :meth:`write`, if called)."""
        return len(self.old_projects if self._final is None else self._final)

    def _root_missing(self) -> bool:
        return not all(
            os.path.isfile(path)
            for path in (
                os.path.join(self.simple, _HTML),
                os.path.join(self.simple, _JSON),
                os.path.join(self.out, _HTML),
            )
        )

    def missing(self) -> set[str]:
        """Projects of the index whose pages are missing on disk."""
        if self._missing is None:
            self._missing = {
                project
                for project in self.old_projects
                if not os.path.isfile(os.path.join(self.simple, project, _HTML))
                or not os.path.isfile(os.path.join(self.simple, project, _JSON))
                or not os.path.isfile(self._people_page(project))
            }
            if self._missing:
                logger.info("re-rendering %d project(s) with missing pages", len(self._missing))
        return self._missing

    def needs_work(self, recovering: bool) -> bool:
        """Whether pages must be written although no file is added or pruned."""
        return recovering or self.settings_changed or self._root_missing() or bool(self.missing())

    def _write(self, path: str, data: str | Iterable[str]) -> None:
        if isinstance(data, str):
            fsutil.write_atomic(path, data.encode("utf-8"))
        else:
            fsutil.write_atomic(path, (chunk.encode("utf-8") for chunk in data))
        self.batch.note(path)
        self.written += 1

    def _page_file(self, dist: DistFile, provenance: FileProvenance | None = None) -> PageFile:
        """How a project page links ``dist``, given where it comes from."""
        from buildout.privateindex.engine.render import PageFile

        url = quote(dist.filename)
        if self.settings.base_url is not None:
            url = f"{self.settings.base_url}/{quote(dist.project)}/{url}"
        if provenance is None:
            return PageFile(dist, url, self.settings.yanked(dist))
        upload_time = provenance.upload_time(dist.mtime_ns)
        return PageFile(dist, url, self.settings.yanked(dist, provenance.yanked), upload_time)

    def _project(
        self,
        project: str,
        dists: Sequence[DistFile],
        provenance: Mapping[str, FileProvenance] | None = None,
    ) -> None:
        # The renderers are imported only when a page is written: a no-change
        # rebuild (goal 3 in benchmarks/README.rst) never needs them.
        from buildout.privateindex.engine import landing, render

        if provenance is None:
            provenance = self._state.provenance(project)
        files = [self._page_file(dist, provenance.get(dist.filename)) for dist in dists]
        directory = os.path.join(self.simple, project)
        fsutil.make_public_dirs(directory)
        self.batch.note(directory)
        self._write(os.path.join(directory, _JSON), render.project_json(project, files))
        self._write(os.path.join(directory, _HTML), render.project_html(project, files))
        if not self._people_made:
            fsutil.make_public_dirs(self.people)
            self.batch.note(self.people)
            self._people_made = True
        self._write(self._people_page(project), landing.project_page(project, files))
        size = sum(dist.size for dist in dists)
        row = landing.landing_row(project, files)
        self._state.set_section(project, row, len(dists), size)

    def _people_page(self, project: str) -> str:
        return os.path.join(self.out, project_page_name(project))

    def _remove_people_pages(self, everything: bool) -> None:
        """Remove the project pages for people of the emptied projects (of
        every project the index does not hold, with ``everything``)."""
        gone = set(self.emptied)
        if everything and os.path.isdir(self.people):
            held = set(self._final or ())
            names = (n[: -len(".html")] for n in os.listdir(self.people) if n.endswith(".html"))
            gone.update(name for name in names if name not in held)
        for project in sorted(gone):
            fsutil.remove_quietly(self._people_page(project))
            self.batch.note(self._people_page(project))

    def rerenders_all(self, recovering: bool) -> bool:
        """Whether :meth:`write` re-renders every project (then none is written early)."""
        return recovering or (self.settings_changed and bool(self.old_projects))

    def write_project(
        self,
        project: str,
        dists: Sequence[DistFile] | None = None,
        provenance: Mapping[str, FileProvenance] | None = None,
    ) -> bool:
        """Write one project's pages from the state, or from ``dists`` and
        ``provenance`` (what the state holds, or will when it commits: the
        files by file name, and their provenance); False if it has no file."""
        if dists is None:
            dists = self._state.project_dists(project)
        if dists:
            self._project(project, dists, provenance)
        return bool(dists)

    def write(self, changed: set[str], *, full: bool = False) -> int:
        """Write the pages of the ``changed`` projects (every project with
        ``full``, or when the settings changed), then the pages listing
        projects; returns how many pages were written in all.

        The state must already hold the files the pages list.
        """
        from buildout.privateindex.engine import landing, render

        state = self._state
        changed = set(changed)
        if self.rerenders_all(full):
            state.clear_sections()
            for project, dists in state.iter_projects():
                self._project(project, dists)
            changed.difference_update(state.projects())
        else:
            for project in sorted(changed | self.missing()):
                if self.write_project(project):
                    changed.discard(project)
        if self.settings_changed:
            self._log_unused_yanks()
        self.emptied = changed  # what is left has no file any more
        for project in self.emptied:
            state.set_section(project, None)
        self._final = sorted(state.projects())
        root = full or self.settings_changed or set(self._final) != self.old_projects
        if root or self._root_missing():
            fsutil.make_public_dirs(self.simple)
            self.batch.note(self.simple)
            self._write(os.path.join(self.simple, _JSON), render.root_json(self._final))
            self._write(os.path.join(self.simple, _HTML), render.root_html(self._final))
        if self.written or self.emptied or not os.path.isfile(os.path.join(self.out, _HTML)):
            page = landing.landing_chunks(*state.totals(), state.sections())
            self._write(os.path.join(self.out, _HTML), page)
        self._remove_people_pages(everything=self.rerenders_all(full))
        logger.debug("wrote %d page(s)", self.written)
        return self.written

    def _log_unused_yanks(self) -> None:
        from packaging.utils import canonicalize_version

        for project, version in sorted(self.settings.yanks):
            versions = {canonicalize_version(d.version) for d in self._state.project_dists(project)}
            if version not in versions:
                logger.info("yank %s==%s matches no file in the index", project, version)
