"""The ``buildout.privateindex`` recipe: build the private index from the download cache.

A thin adapter over the core: it validates its options, gathers sources and
requirements, and calls :func:`buildout.privateindex.build.build_index`.
``install()`` returns nothing, so buildout never deletes the index.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zc.buildout
import zc.buildout.easy_install
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from buildout.privateindex import closure, complete
from buildout.privateindex.build import build_index, load_index
from buildout.privateindex.buildoutconfig import target_versions
from buildout.privateindex.closure import DirectoryIndex
from buildout.privateindex.errors import PrivateIndexError
from buildout.privateindex.fsutil import is_within
from buildout.privateindex.location import (
    Credentials,
    IndexLocation,
    find_credentials,
    origin,
    parse_location,
    redact,
)
from buildout.privateindex.metadata import parse_yank
from buildout.privateindex.resolve import Resolver
from buildout.privateindex.session import get_session
from buildout.privateindex.targets import (
    Target,
    TargetError,
    make_targets,
    parse_platform,
    parse_python_version,
)
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
        self._check_directory()

        self.include = _lines(options.get("include", ""))
        for line in self.include:
            try:
                Requirement(line)
            except InvalidRequirement as exc:
                raise self._error("include", f"not a requirement ({exc})", line) from None

        platforms = options.get("platforms", "").split()
        pythons = options.get("python-versions", "").split()
        for option, values, check in (
            ("platforms", platforms, parse_platform),
            ("python-versions", pythons, parse_python_version),
        ):
            for value in values:
                try:
                    check(value)
                except TargetError as exc:
                    raise self._error(option, exc.reason, value) from None
        self.targets = make_targets(platforms, pythons)

        self.complete = self._bool("complete", "true")

        self.yanks = _lines(options.get("yank", ""))
        self.unyanks = _lines(options.get("unyank", ""))
        for option, specs in (("yank", self.yanks), ("unyank", self.unyanks)):
            for spec in specs:
                try:
                    parse_yank(spec)
                except PrivateIndexError as exc:
                    reason = exc.args[0] if exc.args else "invalid"
                    raise self._error(option, reason, spec) from None

        versions_file = options.get("versions-file", "").strip()
        self.versions_file = os.path.join(here, versions_file) if versions_file else None

        self.publish_to = options.get("publish-to", "").strip() or None
        self.publish_endpoint = options.get("publish-endpoint-url", "").strip() or None
        self.publish_delete = self._bool("publish-delete", "false")
        keys = options.get("publish-directory-keys", "auto").strip().lower() or "auto"
        if keys not in ("auto", "true", "false"):
            raise self._error("publish-directory-keys", "not auto, true or false", keys)
        self.publish_directory_keys = None if keys == "auto" else keys == "true"
        if self.publish_to:
            from buildout.privateindex.publish import parse_s3_url

            try:
                parse_s3_url(self.publish_to)
            except PrivateIndexError:
                raise self._error(
                    "publish-to", "not an s3://bucket/prefix URL", self.publish_to
                ) from None

        self._reported = False
        session = get_session(buildout)
        if session is not None:
            session.recipes.append(self)

    def _check_directory(self) -> None:
        """``directory`` must be writable and apart from every source (checked now,
        before any part runs, rather than when this part installs)."""
        directory = os.path.realpath(self.directory)
        if self.cache_dist is not None:
            cache = os.path.realpath(os.path.dirname(self.cache_dist))
            if is_within(directory, cache) or is_within(cache, directory):
                where = "inside" if is_within(directory, cache) else "around"
                raise self._error(
                    "directory", f"lies {where} the download cache {cache!r}", self.directory
                )
        for source in self.sources:
            real = os.path.realpath(source)
            if is_within(real, directory) or is_within(directory, real):
                raise self._error(
                    "sources", f"overlaps the index directory {self.directory!r}", source
                )
        existing = directory
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise self._error("directory", f"{existing!r} is not a directory", self.directory)
        if not os.access(existing, os.W_OK | os.X_OK):
            raise self._error("directory", f"{existing!r} is not writable", self.directory)

    def _error(self, option: str, reason: str, value: str) -> zc.buildout.UserError:
        return zc.buildout.UserError(f"[{self.name}] option {option!r}: {reason}: {value!r}")

    def _bool(self, option: str, default: str) -> bool:
        value = self.options.get(option, default).strip().lower()
        if value not in TRUE + FALSE:
            raise self._error(option, "expected true or false", value)
        return value in TRUE

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
        sources = list(self.sources)
        if self.cache_dist and os.path.isdir(self.cache_dist):
            sources.insert(0, self.cache_dist)
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
            self._all_sources(), self.directory, yanks=self.yanks, unyanks=self.unyanks
        )
        for problem in report.problems:
            logger.warning("[%s] %s", self.name, problem)
        added = len(report.added)
        if self.complete:
            added += self._complete()
        dists = load_index(self.directory)
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

    def _roots(self) -> list[str]:
        """What every target installs: what buildout was asked for, ``include``, the
        bootstrap set.  Develop eggs stand for their requirements."""
        session = get_session(self.buildout)
        asked = list(session.roots) if session is not None else []
        develop = dict(session.develop) if session is not None else {}
        extensions = self.buildout["buildout"].get("extensions", "").split()
        roots: dict[str, None] = {}
        for spec in [*asked, *extensions]:
            try:
                req = Requirement(spec)
            except InvalidRequirement:
                continue
            if canonicalize_name(req.name) not in develop:
                roots[str(req)] = None
        for project, (location, requires) in sorted(develop.items()):
            for line in complete.develop_requirements(location, project, requires):
                if canonicalize_name(Requirement(line).name) not in develop:
                    roots[line] = None
        for line in self.include:
            roots[str(Requirement(line))] = None
        for req in complete.bootstrap_requirements(self._used()):
            roots[str(req)] = None
        return list(roots)

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
        index = DirectoryIndex(self.directory, self.yanks, self.unyanks)
        added = 0 if pinned else self._build_local_checkouts(index)
        roots = self._roots()
        constraints = {target: self._constraints(target) for target in self.targets}
        try:
            if not pinned:
                upstream = self._upstream()
                location = _upstream_location(upstream)
                logger.info(
                    "[%s] resolving %d targets against %s",
                    self.name,
                    len(self.targets),
                    redact(upstream),
                )
                resolver = Resolver(
                    [location.url_with_credentials(), index.url],
                    sys.executable,
                    self._find_links(),
                )
                filled = closure.fill(
                    self.targets,
                    roots,
                    constraints,
                    resolver,
                    index,
                    credentials=_credentials_for(location),
                    upstream_index=location.url,
                )
                added += filled.added
                for problem in filled.problems:
                    logger.warning("[%s] %s", self.name, problem)
            local = Resolver([index.url], sys.executable, offline=True)
            reports = closure.check(self.targets, roots, constraints, local, index)
        except PrivateIndexError as exc:
            raise zc.buildout.UserError(f"[{self.name}] {exc}") from None
        for unreadable in index.problems:
            logger.warning("[%s] %s", self.name, unreadable)
        for report in reports:
            if report.problems:
                hint = " (run buildout once with private-index-mode=off to add them)"
                logger.warning("[%s] %s%s", self.name, report.summary(), hint if pinned else "")
            else:
                logger.info("[%s] %s", self.name, report.summary())
        return added

    def _build_local_checkouts(self, index: DirectoryIndex) -> int:
        """Wheels of bootstrap projects installed from a checkout (not on any index)."""
        tmp = Path(tempfile.mkdtemp(prefix="privateindex-local-"))
        pythonpath = list(getattr(zc.buildout.easy_install, "pip_path", []))
        try:
            for req in complete.bootstrap_requirements(self._used()):
                if complete.satisfied(req, index.files):
                    continue
                local = complete.local_source_dir(req.name)
                if local is None:
                    continue
                error = complete.build_local_wheel(local, tmp, pythonpath)
                if error is None:
                    logger.info("[%s] built %s from %s", self.name, req, local)
                else:
                    logger.warning(
                        "[%s] building %s from %s failed: %s", self.name, req, local, error
                    )
            return index.add(tmp) if any(tmp.iterdir()) else 0
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _find_links(self) -> list[str]:
        return str(self.buildout["buildout"].get("find-links", "")).split()

    def _upstream(self) -> str:
        session = get_session(self.buildout)
        if session is not None and session.upstream:
            return session.upstream
        index = self.buildout["buildout"].get("index", "").strip()
        return index or str(zc.buildout.easy_install.default_index_url)

    def _publish(self) -> None:
        from buildout.privateindex.publish import PublishError, publish

        try:
            report = publish(
                self.directory,
                self.publish_to or "",
                endpoint_url=self.publish_endpoint,
                delete=self.publish_delete,
                directory_keys=self.publish_directory_keys,
            )
        except PublishError as exc:
            option = "publish-endpoint-url" if exc.about == "endpoint" else "publish-to"
            raise zc.buildout.UserError(f"[{self.name}] option {option!r}: {exc}") from None
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


def _upstream_location(upstream: str) -> IndexLocation:
    """The upstream index with its credentials (URL, ~/.netrc or ~/.pypirc), read once."""
    try:
        location = parse_location(upstream)
    except PrivateIndexError:
        return IndexLocation(upstream)
    return location.with_credentials(find_credentials(location))


def _credentials_for(upstream: IndexLocation) -> Callable[[str], Credentials | None]:
    """Credentials for files on the upstream's own host; none for any other host."""
    creds, home = upstream.credentials, origin(upstream.url)
    return lambda file_url: creds if creds is not None and origin(file_url) == home else None


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]
