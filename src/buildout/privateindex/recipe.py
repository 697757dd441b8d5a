"""The ``buildout.privateindex`` recipe: build the private index from the download cache.

A thin adapter over the core: it validates its options, gathers sources and
requirements, and calls :func:`buildout.privateindex.build.build_index`.
``install()`` returns nothing, so buildout never deletes the index.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import zc.buildout
import zc.buildout.easy_install
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from buildout.privateindex import complete
from buildout.privateindex.build import build_index, load_index
from buildout.privateindex.errors import PrivateIndexError
from buildout.privateindex.location import redact
from buildout.privateindex.metadata import parse_yank
from buildout.privateindex.model import DistFile
from buildout.privateindex.session import get_session
from buildout.privateindex.versionsfile import write_versions_file

logger = logging.getLogger("buildout.privateindex")

TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")


class Recipe:
    """Write a static PEP 503/691 index of the download cache and ``sources``."""

    def __init__(self, buildout: Any, name: str, options: Any) -> None:
        self.name = name
        self.options = options
        self.buildout = buildout
        b_options = buildout["buildout"]
        here = b_options["directory"]

        directory = options.get("directory", "").strip()
        options["directory"] = self.directory = os.path.join(here, directory or "private-index")

        cache = options.get("download-cache", b_options.get("download-cache", "")).strip()
        self.cache_dist: str | None = None
        if cache:
            cache = os.path.join(here, cache)
            if not os.path.isdir(cache):
                raise self._error("download-cache", "no such directory", cache)
            self.cache_dist = os.path.join(cache, "dist")

        self.sources = [os.path.join(here, line) for line in _lines(options.get("sources", ""))]
        for source in self.sources:
            if not os.path.exists(source):
                raise self._error("sources", "no such file or directory", source)
        if self.cache_dist is None and not self.sources:
            raise zc.buildout.UserError(
                f"[{name}] nothing to index: buildout has no 'download-cache' "
                f"and the part has no 'sources'"
            )

        try:
            self.include = complete.parse_requirements(
                _lines(options.get("include", "")), origin=f"[{name}] option 'include'"
            )
        except InvalidRequirement as exc:
            raise zc.buildout.UserError(str(exc)) from None

        self.complete = self._bool("complete", "true")

        self.yanks = _lines(options.get("yank", ""))
        for spec in self.yanks:
            try:
                parse_yank(spec)
            except PrivateIndexError as exc:
                raise self._error("yank", exc.args[0] if exc.args else "invalid", spec) from None

        versions_file = options.get("versions-file", "").strip()
        self.versions_file = os.path.join(here, versions_file) if versions_file else None

        self.publish_to = options.get("publish-to", "").strip() or None
        self.publish_endpoint = options.get("publish-endpoint-url", "").strip() or None
        self.publish_delete = self._bool("publish-delete", "false")
        if self.publish_to:
            from buildout.privateindex.publish import parse_s3_url

            try:
                parse_s3_url(self.publish_to)
            except PrivateIndexError:
                raise self._error(
                    "publish-to", "not an s3://bucket/prefix URL", self.publish_to
                ) from None

        self._reported = False
        #: Requirements that could not be fetched in this run: not tried again.
        self._unavailable: set[str] = set()
        session = get_session(buildout)
        if session is not None:
            session.recipes.append(self)

    def _error(self, option: str, reason: str, value: str) -> zc.buildout.UserError:
        return zc.buildout.UserError(f"[{self.name}] option {option!r}: {reason}: {value!r}")

    def _bool(self, option: str, default: str) -> bool:
        value = self.options.get(option, default).strip().lower()
        if value not in TRUE + FALSE:
            raise self._error(option, "expected true or false", value)
        return value in TRUE

    # -- buildout's recipe protocol -------------------------------------------------

    def install(self) -> tuple[str, ...]:
        self.build()
        # The index must survive uninstalls and option changes: return nothing.
        return ()

    update = install

    # -- the work -----------------------------------------------------------------------

    def _all_sources(self) -> list[str]:
        sources = list(self.sources)
        if self.cache_dist and os.path.isdir(self.cache_dist):
            sources.insert(0, self.cache_dist)
        return sources

    def build(self) -> None:
        """Build the index, complete it, and write the versions file; idempotent."""
        try:
            report = build_index(self._all_sources(), self.directory, yanks=self.yanks)
        except PrivateIndexError as exc:
            raise zc.buildout.UserError(f"[{self.name}] {exc}") from None
        for problem in report.problems:
            logger.warning("[%s] %s", self.name, problem)
        dists = load_index(self.directory)
        added = len(report.added)
        if self.complete:
            dists, fetched = self._complete(dists)
            added += fetched
        if added or not self._reported:
            logger.info(
                "[%s] %d files of %d projects in %s (%d new)",
                self.name,
                len(dists),
                len({d.project for d in dists}),
                self.directory,
                added,
            )
            self._reported = True
        if self.versions_file:
            write_versions_file(self.versions_file, dists, self._used(), source=self.directory)
        if self.publish_to:
            self._publish()

    def _used(self) -> dict[str, str]:
        session = get_session(self.buildout)
        return dict(session.used) if session is not None else {}

    def _requirements(self, dists: list[DistFile]) -> list[Requirement]:
        used = self._used()
        reqs = complete.build_requirements(dists)
        reqs += complete.bootstrap_requirements(used)
        reqs += [Requirement(f"{name}=={version}") for name, version in sorted(used.items())]
        return reqs + self.include

    def _complete(self, dists: list[DistFile]) -> tuple[list[DistFile], int]:
        """Fetch what an offline run needs and the index lacks; (index, files added)."""
        need = [
            req
            for req in complete.missing(self._requirements(dists), dists)
            if str(req) not in self._unavailable
        ]
        if not need:
            return dists, 0
        names = ", ".join(str(req) for req in need)
        session = get_session(self.buildout)
        if session is not None and session.pinned:
            logger.warning(
                "[%s] the private index lacks %s; run buildout once with "
                "private-index-mode=off to add them from the upstream index",
                self.name,
                names,
            )
            return dists, 0
        upstream = self._upstream()
        logger.info("[%s] fetching %s from %s", self.name, names, redact(upstream))
        pythonpath = list(getattr(zc.buildout.easy_install, "pip_path", []))
        tmp = Path(tempfile.mkdtemp(prefix="privateindex-fetch-"))
        try:
            result = complete.fetch(need, tmp, index_url=upstream, pythonpath=pythonpath)
            for req_text, reason in sorted(result.failed.items()):
                self._unavailable.add(req_text)
                local = self._local_project(Requirement(req_text))
                if local is not None:
                    error = complete.build_local_wheel(local, tmp, pythonpath)
                    if error is None:
                        logger.info("[%s] built %s from %s", self.name, req_text, local)
                        continue
                    reason = f"{reason}; building it from {local} failed too: {error}"
                logger.warning(
                    "[%s] could not fetch %s from %s (%s); an offline run may fail",
                    self.name,
                    req_text,
                    redact(upstream),
                    reason,
                )
            report = build_index([*self._all_sources(), str(tmp)], self.directory, yanks=self.yanks)
            for problem in report.problems:
                logger.warning("[%s] %s", self.name, problem)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return load_index(self.directory), len(report.added)

    def _local_project(self, req: Requirement) -> Path | None:
        """The source directory of a bootstrap project installed from a checkout."""
        bootstrap = {canonicalize_name(name) for name in complete.BOOTSTRAP_PROJECTS}
        if canonicalize_name(req.name) not in bootstrap:
            return None
        return complete.local_source_dir(req.name)

    def _upstream(self) -> str:
        session = get_session(self.buildout)
        if session is not None and session.upstream:
            return session.upstream
        index = self.buildout["buildout"].get("index", "").strip()
        return index or str(zc.buildout.easy_install.default_index_url)

    def _publish(self) -> None:
        from buildout.privateindex.publish import publish

        try:
            report = publish(
                self.directory,
                self.publish_to or "",
                endpoint_url=self.publish_endpoint,
                delete=self.publish_delete,
            )
        except PrivateIndexError as exc:
            raise zc.buildout.UserError(f"[{self.name}] option 'publish-to': {exc}") from None
        logger.info(
            "[%s] published to %s: %d uploaded, %d unchanged, %d deleted",
            self.name,
            self.publish_to,
            len(report.uploaded),
            report.unchanged,
            len(report.deleted),
        )


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]
