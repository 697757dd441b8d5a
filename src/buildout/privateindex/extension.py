"""The buildout extension: make a run install only from the private index.

``extension()`` runs before any part; it pins every way buildout and pip find
packages to the private index.  ``unload()`` runs after all parts of a
successful run: it lets the recipe parts index what the run downloaded and
undoes every change.  Both are no-ops unless ``buildout.privateindex`` is
listed in ``extensions`` (buildout calls every installed extension).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import zc.buildout
import zc.buildout.easy_install as easy_install

from buildout.privateindex.finder import route_finder
from buildout.privateindex.session import MODES, Session, attach_session, get_session
from buildout.privateindex.sharing.location import (
    IndexLocation,
    LocationError,
    find_credentials,
    parse_location,
    redact,
)
from buildout.privateindex.sharing.reach import IndexUnavailableError, check_index

logger = logging.getLogger("buildout.privateindex")

PROJECT = "buildout-privateindex"
#: allow-hosts for a local index: a reserved name (RFC 2606) no host matches.
NO_HOST = "no-remote-host.invalid"
#: pip settings that add places to look for packages; removed while pinned.
PIP_SOURCES = ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_INDEX")

_name = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _project(spec: str) -> str:
    match = _name.match(spec.split(":", 1)[0])
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def _enabled(buildout: Any) -> bool:
    extensions = buildout["buildout"].get("extensions", "").split()
    return any(_project(spec) == PROJECT for spec in extensions)


def _part_directory(buildout: Any) -> str | None:
    """The ``directory`` of the first part using this recipe, without loading any recipe."""
    options = buildout["buildout"]
    for part in options.get("parts", "").split():
        raw = buildout._raw.get(part, {})
        if _project(raw.get("recipe", "")) != PROJECT:
            continue
        section = zc.buildout.buildout.Options(buildout, part, dict(raw))
        directory = (section.get("directory") or "").strip()
        return os.path.join(options["directory"], directory or "private-index")
    return None


def extension(buildout: Any) -> None:
    """Pin this run to the private index (``zc.buildout.extension`` entry point)."""
    if not _enabled(buildout):
        return
    options = buildout["buildout"]
    mode = options.get("private-index-mode", "auto").strip().lower()
    if mode not in MODES:
        raise zc.buildout.UserError(
            f"[buildout] option 'private-index-mode': expected one of {', '.join(MODES)}: {mode!r}"
        )
    value = options.get("private-index", "").strip()
    session = Session(mode=mode, upstream=options.get("index", "").strip() or None)
    attach_session(buildout, session)
    _watch_installer(session)
    if mode == "off":
        logger.info("Private index: off; this run uses the usual package index.")
        return
    own = _part_directory(buildout)
    value = value or own or ""
    if not value:
        raise zc.buildout.UserError(
            "[buildout] option 'private-index': not set, and no part uses the "
            "buildout.privateindex recipe"
        )
    try:
        location = parse_location(value, options["directory"])
        own_path = parse_location(own, options["directory"]).path if own else None
    except LocationError as exc:
        raise zc.buildout.UserError(f"[buildout] option 'private-index': {exc}") from None
    if own_path is not None and location.path == own_path and not location.exists():
        # Only the index this buildout writes may be missing: this run makes it.
        if mode == "pin":
            raise zc.buildout.UserError(
                f"[buildout] private-index-mode = pin, but the private index "
                f"{location.url} does not exist yet; run buildout with "
                f"private-index-mode = auto once to create it"
            )
        logger.info(
            "Private index %s does not exist yet: this run installs from %s and populates it.",
            location.url,
            redact(session.upstream or easy_install.default_index_url),
        )
        return
    location = location.with_credentials(find_credentials(location))
    _require_usable(location)
    pin(buildout, session, location)


def _require_usable(location: IndexLocation) -> None:
    """Stop the run, naming the index and the cause, unless it can serve it."""
    try:
        check_index(location)
    except IndexUnavailableError as exc:
        raise zc.buildout.UserError(str(exc)) from None


def unload(buildout: Any) -> None:
    """Index what the run downloaded, then undo the pinning (``unloadextension``)."""
    session = get_session(buildout)
    if session is None:
        return
    try:
        for recipe in session.recipes:
            recipe.build()
        if session.pinned and session.fetched:
            assert session.location is not None
            logger.info(
                "Installed from the private index %s: %s",
                session.location.url,
                ", ".join(f"{name} {version}" for name, version, _ in session.fetched),
            )
    finally:
        session.restore()


def _set_item(session: Session, mapping: Any, key: str, value: Any) -> None:
    """Set ``mapping[key]`` and remember how to undo it."""
    had = key in mapping
    old = mapping[key] if had else None
    mapping[key] = value

    def undo() -> None:
        if had:
            mapping[key] = old
        elif key in mapping:
            del mapping[key]

    session.undo.append(undo)


def _set_attr(session: Session, obj: Any, name: str, value: Any) -> None:
    """Set an attribute and remember how to undo it."""
    old = getattr(obj, name)
    setattr(obj, name, value)
    session.undo.append(lambda: setattr(obj, name, old))


def pin(buildout: Any, session: Session, location: IndexLocation) -> None:
    """Make buildout's finder, easy_install and pip use ``location`` only."""
    options = buildout["buildout"]
    url = location.url
    host = location.host or NO_HOST
    for key, value in (
        ("index", url),
        ("find-links", ""),
        ("allow-hosts", host),
        ("use-dependency-links", "false"),
    ):
        _set_item(session, options, key, value)
    _set_attr(session, buildout, "_links", ())
    _set_attr(session, buildout, "_allow_hosts", (host,))
    old_index = easy_install.index_url(url)
    old_links = easy_install.use_dependency_links(False)
    session.undo.append(lambda: easy_install.index_url(old_index or ""))
    session.undo.append(lambda: easy_install.use_dependency_links(old_links))
    easy_install.clear_index_cache()

    environ = os.environ
    for key in PIP_SOURCES:
        if key in environ:
            _set_item(session, environ, key, environ[key])
            del environ[key]
    _set_item(session, environ, "PIP_CONFIG_FILE", os.devnull)
    _set_item(session, environ, "PIP_INDEX_URL", location.url_with_credentials())
    if location.credentials is not None:
        _bridge_credentials(session, location)
    route_finder(session, url)
    session.location = location
    logger.info("Private index: installing only from %s (mode %s).", url, session.mode)


def _bridge_credentials(session: Session, location: IndexLocation) -> None:
    """Give buildout's package finder the index's credentials, in memory only."""
    from zc.buildout import _package_index as finder

    creds = location.credentials
    assert creds is not None
    original = finder.PyPIConfig.find_credential

    def find_credential(self: Any, url: str) -> Any:
        if url.startswith(location.url):
            return finder.Credential(creds.username, creds.password)
        return original(self, url)

    _set_attr(session, finder.PyPIConfig, "find_credential", find_credential)
    quiet = _QuietAuthentication()
    root = logging.getLogger()
    root.addFilter(quiet)
    session.undo.append(lambda: root.removeFilter(quiet))


class _QuietAuthentication(logging.Filter):
    """Drop the finder's 'Authenticating as <user> for <url>' lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Authenticating as")


def _watch_installer(session: Session) -> None:
    """Record what the run resolves and fetches; turn a miss into a clear error."""
    installer = easy_install.Installer
    get_dist = installer._get_dist
    fetch = installer._fetch
    install_specs = installer.install
    develop = easy_install.pkg_resources.DEVELOP_DIST

    def _get_dist(self: Any, requirement: Any, ws: Any) -> Any:
        try:
            dists = get_dist(self, requirement, ws)
        except easy_install.MissingDistribution:
            if session.location is None:
                raise
            _require_usable(session.location)
            raise zc.buildout.UserError(
                f"The private index {session.location.url} has no distribution "
                f"for {str(requirement)!r}.  Add it by running buildout once with "
                f"private-index-mode=off (the upstream index must be reachable)."
            ) from None
        for dist in dists:
            if dist.precedence == develop:
                requires = [str(req) for req in dist.requires()]
                session.develop[_project(dist.project_name)] = (dist.location, requires)
            else:
                session.used[_project(dist.project_name)] = dist.version
        return dists

    def install(self: Any, specs: Any, working_set: Any = None) -> Any:
        session.roots.extend(str(spec) for spec in specs)
        return install_specs(self, specs, working_set)

    def _fetch(self: Any, dist: Any, tmp: Any, download_cache: Any) -> Any:
        result = fetch(self, dist, tmp, download_cache)
        session.fetched.append((dist.project_name, dist.version, redact(dist.location)))
        return result

    _set_attr(session, installer, "_get_dist", _get_dist)
    _set_attr(session, installer, "_fetch", _fetch)
    _set_attr(session, installer, "install", install)
