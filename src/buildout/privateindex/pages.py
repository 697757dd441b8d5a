"""Write the pages of the index that a build changes, in a safe order.

Project pages first, then the root pages (``simple/index.json``, then
``simple/index.html``), then the landing page (``index.html``): a page is
only written once everything it links to is in place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from packaging.utils import canonicalize_version

from . import fsutil, metadata, render
from .model import DistFile
from .planning import Plan
from .state import IndexState

__all__ = ["FORMAT_VERSION", "PageWriter", "RenderSettings"]

logger = logging.getLogger(__name__)

#: Bump when the pages' format changes: every page is then rewritten.
FORMAT_VERSION = "1"
_HTML = "index.html"
_JSON = "index.json"


@dataclass(frozen=True)
class RenderSettings:
    """What the pages depend on besides the files: base URL and yanks."""

    base_url: str | None
    #: Yank reasons by (normalized project, canonical version).
    yanks: Mapping[tuple[str, str], str]
    #: A digest of everything above and of :data:`FORMAT_VERSION`.
    fingerprint: str

    @classmethod
    def make(cls, base_url: str | None, yank_specs: Sequence[str]) -> RenderSettings:
        """Settings from the build's options; YankSpecError for a bad spec."""
        yanks: dict[tuple[str, str], str] = {}
        for spec in yank_specs:
            project, version, reason = metadata.parse_yank(spec)
            yanks[(project, version)] = reason
        base = base_url.rstrip("/") if base_url else None
        data = {"format": FORMAT_VERSION, "base_url": base, "yanks": sorted(yanks.items())}
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        return cls(base, yanks, digest)

    def yanked(self, dist: DistFile) -> str | None:
        """The yank reason of ``dist`` (``""`` if none given), None if not yanked."""
        if not self.yanks:
            return None
        return self.yanks.get((dist.project, canonicalize_version(dist.version)))

    def page_file(self, dist: DistFile) -> render.PageFile:
        """How a project page links ``dist``."""
        url = quote(dist.filename)
        if self.base_url is not None:
            url = f"{self.base_url}/{quote(dist.project)}/{url}"
        return render.PageFile(dist, url, self.yanked(dist))


class PageWriter:
    """Writes the pages of the index in ``out`` for a plan."""

    def __init__(self, out: str, settings: RenderSettings, state: IndexState) -> None:
        self.out = out
        self.simple = os.path.join(out, "simple")
        self.settings = settings
        self.settings_changed = state.settings != settings.fingerprint
        self._state = state
        self._old_projects: set[str] | None = None
        self._missing: set[str] | None = None
        self._final_count: int | None = None
        self.written = 0

    @property
    def project_count(self) -> int:
        """How many projects the index holds (after :meth:`write`, if called)."""
        if self._final_count is None:
            return len(self.old_projects)
        return self._final_count

    @property
    def old_projects(self) -> set[str]:
        """The projects the index held before the build."""
        if self._old_projects is None:
            self._old_projects = self._state.projects()
        return self._old_projects

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
            }
            if self._missing:
                logger.info("re-rendering %d project(s) with missing pages", len(self._missing))
        return self._missing

    def needs_work(self, recovering: bool) -> bool:
        """Whether pages must be written although no file is added or pruned."""
        return recovering or self.settings_changed or self._root_missing() or bool(self.missing())

    def _write(self, path: str, text: str) -> None:
        fsutil.write_atomic(path, text.encode("utf-8"))
        self.written += 1

    def write(self, plan: Plan, *, full: bool = False) -> int:
        """Write every page the plan changes (all with ``full``); returns the count."""
        final = plan.final_projects()
        self._final_count = len(final)
        if full or self.settings_changed:
            changed = set(final)
            self._log_unused_yanks(final)
        else:
            changed = (plan.changed_projects | self.missing()).intersection(final)
        for project in sorted(changed):
            files = [self.settings.page_file(dist) for dist in final[project]]
            directory = os.path.join(self.simple, project)
            os.makedirs(directory, exist_ok=True)
            self._write(os.path.join(directory, _JSON), render.project_json(project, files))
            self._write(os.path.join(directory, _HTML), render.project_html(project, files))
        projects = list(final)
        root = full or self.settings_changed or set(projects) != self.old_projects
        if root or self._root_missing():
            os.makedirs(self.simple, exist_ok=True)
            self._write(os.path.join(self.simple, _JSON), render.root_json(projects))
            self._write(os.path.join(self.simple, _HTML), render.root_html(projects))
        if self.written or plan.emptied or not os.path.isfile(os.path.join(self.out, _HTML)):
            self._write(os.path.join(self.out, _HTML), render.landing_html(final))
        logger.debug("wrote %d page(s) (%d project(s))", self.written, len(changed))
        return self.written

    def _log_unused_yanks(self, final: Mapping[str, Sequence[DistFile]]) -> None:
        used = {
            (dist.project, canonicalize_version(dist.version))
            for dists in final.values()
            for dist in dists
        }
        for project, version in sorted(set(self.settings.yanks).difference(used)):
            logger.info("yank %s==%s matches no file in the index", project, version)
