"""The ``buildout.privateindex`` recipe: build the private index from the download cache.

A thin adapter over the core: it validates its options, gathers sources and
requirements, and calls :func:`buildout.privateindex.engine.build.build_index`.
``install()`` returns nothing, so buildout never deletes the index.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import zc.buildout
import zc.buildout.easy_install
from packaging.utils import canonicalize_name

from buildout.privateindex.buildoutconfig import target_versions
from buildout.privateindex.closure import complete
from buildout.privateindex.closure.completion import build_local_checkouts, complete_index, roots_of
from buildout.privateindex.closure.directoryindex import DirectoryIndex
from buildout.privateindex.closure.targets import (
    Target,
)
from buildout.privateindex.closure.versionsfile import write_versions_file
from buildout.privateindex.engine.build import build_index, load_index
from buildout.privateindex.errors import PrivateIndexError
from buildout.privateindex.recipeoptions import read_options
from buildout.privateindex.session import get_session
from buildout.privateindex.sharing.location import (
    redact,
)

logger = logging.getLogger("buildout.privateindex")


class Recipe:
    """Write a static PEP 503/691 index of the download cache and ``sources``."""

    def __init__(self, buildout: Any, name: str, options: Any) -> None:
        self.name = name
        self.options = options
        self.buildout = buildout
        self.part = read_options(name, options, buildout["buildout"])
        self._reported = False
        session = get_session(buildout)
        if session is not None:
            session.recipes.append(self)

    # -- buildout's recipe protocol -------------------------------------------------

    def install(self) -> tuple[str, ...]:
        # With the extension, the index is built once per run, by its unload
        # hook, when every part has run (and so every download is in the
        # cache); without it, here.
        if get_session(self.buildout) is None:
            self.build()
        else:
            logger.debug("[%s] the index is built when the run ends", self.name)
        # The index must survive uninstalls and option changes: return nothing.
        return ()

    update = install

    # -- the work -----------------------------------------------------------------------

    def _all_sources(self) -> list[str]:
        sources = list(self.part.sources)
        if self.part.cache_dist and os.path.isdir(self.part.cache_dist):
            sources.insert(0, self.part.cache_dist)
        return sources

    def build(self) -> None:
        """Build the index, complete it for every target, write the versions file
        and publish.  Idempotent.

        :raises zc.buildout.UserError: for what the user can fix, a full disk
            or an unwritable file included, naming the part and the file.
        """
        try:
            self._build()
        except PrivateIndexError as exc:
            raise zc.buildout.UserError(f"[{self.name}] {exc}") from None
        except OSError as exc:
            # A rename names its target second: that is the file the user knows.
            path = exc.filename2 or exc.filename
            where = f"{path}: " if path else ""
            raise zc.buildout.UserError(f"[{self.name}] {where}{exc.strerror or exc}") from None

    def _build(self) -> None:
        report = build_index(
            self._all_sources(),
            self.part.directory,
            yanks=self.part.yanks,
            unyanks=self.part.unyanks,
        )
        for problem in report.problems:
            logger.warning("[%s] %s", self.name, problem)
        added = len(report.added)
        if self.part.complete:
            added += self._complete()
        dists = load_index(self.part.directory)
        if added or not self._reported:
            logger.info(
                "[%s] %d files of %d projects in %s (%d new)",
                self.name,
                len(dists),
                len({d.project for d in dists}),
                self.part.directory,
                added,
            )
            self._reported = True
        if self.part.versions_file:
            write_versions_file(
                self.part.versions_file, dists, self._used(), source=self.part.directory
            )
        if self.part.publish_to:
            self._publish()

    def _used(self) -> dict[str, str]:
        session = get_session(self.buildout)
        return dict(session.used) if session is not None else {}

    def _roots(self) -> list[str]:
        session = get_session(self.buildout)
        return roots_of(
            list(session.roots) if session is not None else [],
            dict(session.develop) if session is not None else {},
            extensions=self.buildout["buildout"].get("extensions", "").split(),
            include=self.part.include,
            used=self._used(),
        )

    def _constraints(self, target: Target) -> list[str]:
        """The pins of ``target``: [versions] as it reads them, then what this run picked."""
        versions: dict[str, str] | None = None
        if not target.host:
            try:
                versions = target_versions(self.buildout, target)
            except (OSError, KeyError, AttributeError, zc.buildout.UserError) as exc:
                logger.warning(
                    "[%s] cannot read [versions] for %s (%s); using this machine's",
                    self.name,
                    target,
                    exc,
                )
        if versions is None:
            section = self.buildout["buildout"].get("versions", "versions") or "versions"
            versions = dict(self.buildout[section]) if section in self.buildout._raw else {}
        pinned = {canonicalize_name(name) for name in versions}
        picked = {k: v for k, v in self._used().items() if k not in pinned}
        develop = get_session(self.buildout)
        skip = set(develop.develop) if develop is not None else set()
        merged = {k: v for k, v in versions.items() if canonicalize_name(k) not in skip}
        return complete.version_constraints({**merged, **picked})

    def _complete(self) -> int:
        """Fill the index for every target (online runs), then check each offline."""
        session = get_session(self.buildout)
        pinned = session is not None and session.pinned
        index = DirectoryIndex(self.part.directory, self.part.yanks, self.part.unyanks)
        added = 0 if pinned else self._build_local_checkouts(index)
        roots = self._roots()
        constraints = {target: self._constraints(target) for target in self.part.targets}
        upstream = None if pinned else self._upstream()
        if upstream is not None:
            logger.info(
                "[%s] resolving %d targets against %s",
                self.name,
                len(self.part.targets),
                redact(upstream),
            )
        done = complete_index(  # its errors become one line in build()
            index, self.part.targets, roots, constraints, upstream, find_links=self._find_links()
        )
        added += done.added
        for warning in done.warnings:
            logger.warning("[%s] %s", self.name, warning)
        reports = done.reports
        for report in reports:
            if report.problems:
                hint = " (run buildout once with private-index-mode=off to add them)"
                logger.warning("[%s] %s%s", self.name, report.summary(), hint if pinned else "")
            else:
                logger.info("[%s] %s", self.name, report.summary())
        return added

    def _build_local_checkouts(self, index: DirectoryIndex) -> int:
        """Wheels of bootstrap projects installed from a checkout (not on any index)."""
        pythonpath = list(getattr(zc.buildout.easy_install, "pip_path", []))
        added, built, failed = build_local_checkouts(index, self._used(), pythonpath)
        for line in built:
            logger.info("[%s] %s", self.name, line)
        for line in failed:
            logger.warning("[%s] %s", self.name, line)
        return added

    def _find_links(self) -> list[str]:
        return str(self.buildout["buildout"].get("find-links", "")).split()

    def _upstream(self) -> str:
        session = get_session(self.buildout)
        if session is not None and session.upstream:
            return session.upstream
        index = self.buildout["buildout"].get("index", "").strip()
        return index or str(zc.buildout.easy_install.default_index_url)

    def _publish(self) -> None:
        from buildout.privateindex.sharing.publish import PublishError, publish

        try:
            report = publish(
                self.part.directory,
                self.part.publish_to or "",
                endpoint_url=self.part.publish_endpoint,
                delete=self.part.publish_delete,
                directory_keys=self.part.publish_directory_keys,
            )
        except PublishError as exc:
            option = "publish-endpoint-url" if exc.about == "endpoint" else "publish-to"
            raise zc.buildout.UserError(f"[{self.name}] option {option!r}: {exc}") from None
        except PrivateIndexError as exc:
            raise zc.buildout.UserError(f"[{self.name}] option 'publish-to': {exc}") from None
        logger.info(
            "[%s] published to %s: %d uploaded, %d unchanged, %d deleted",
            self.name,
            self.part.publish_to,
            len(report.uploaded),
            report.unchanged,
            len(report.deleted),
        )


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]
