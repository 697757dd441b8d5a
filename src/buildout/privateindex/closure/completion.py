"""Complete an index for every target: fill it from the upstream, then check it offline.

The one orchestration the recipe and the command line share: with an
upstream (an online run), resolve every target's roots there, fetch what
the index lacks (the sdists' build requirements too) and record the
upstream's provenance; then, always, resolve every target against the index
alone, with no network, and say per target what an offline run gets.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from buildout.privateindex.closure import complete
from buildout.privateindex.closure import fill as closure
from buildout.privateindex.closure.directoryindex import DirectoryIndex
from buildout.privateindex.closure.fill import TargetReport
from buildout.privateindex.closure.resolve import Resolver
from buildout.privateindex.closure.targets import Target
from buildout.privateindex.engine.buildreqs import satisfied
from buildout.privateindex.errors import PrivateIndexError
from buildout.privateindex.sharing.location import (
    Credentials,
    IndexLocation,
    find_credentials,
    origin,
    parse_location,
)

__all__ = [
    "Completion",
    "build_local_checkouts",
    "complete_index",
    "credentials_for",
    "roots_of",
    "upstream_location",
]

logger = logging.getLogger(__name__)


@dataclass
class Completion:
    """What completing an index did: files added, warnings, and each target's summary."""

    added: int = 0
    warnings: list[str] = field(default_factory=list)
    reports: list[TargetReport] = field(default_factory=list)


def upstream_location(upstream: str) -> IndexLocation:
    """The upstream index with its credentials (URL, ~/.netrc or ~/.pypirc), read once."""
    try:
        location = parse_location(upstream)
    except PrivateIndexError:
        return IndexLocation(upstream)
    return location.with_credentials(find_credentials(location))


def credentials_for(upstream: IndexLocation) -> Callable[[str], Credentials | None]:
    """Credentials for files on the upstream's own host; none for any other host."""
    creds, home = upstream.credentials, origin(upstream.url)
    return lambda file_url: creds if creds is not None and origin(file_url) == home else None


def complete_index(
    index: DirectoryIndex,
    targets: Sequence[Target],
    roots: Sequence[str],
    constraints: Mapping[Target, Sequence[str]],
    upstream: str | None,
    *,
    find_links: Sequence[str] = (),
    python: str = sys.executable,
) -> Completion:
    """Fill ``index`` from ``upstream`` (unless None: a pinned run), then check it.

    :raises PrivateIndexError: uv is missing, or cannot run at all.
    """
    done = Completion()
    if upstream is not None:
        location = upstream_location(upstream)
        resolver = Resolver([location.url_with_credentials(), index.url], python, find_links)
        filled = closure.fill(
            targets,
            roots,
            constraints,
            resolver,
            index,
            credentials=credentials_for(location),
            upstream_index=location.url,
        )
        done.added += filled.added
        done.warnings += filled.problems
    local = Resolver([index.url], python, offline=True)
    done.reports = closure.check(targets, roots, constraints, local, index)
    done.warnings += [str(problem) for problem in index.problems]
    return done


def roots_of(
    asked: Sequence[str],
    develop: Mapping[str, tuple[str, Sequence[str]]],
    *,
    extensions: Sequence[str] = (),
    include: Sequence[str] = (),
    used: Mapping[str, str],
) -> list[str]:
    """What every target installs: what was ``asked`` (and the ``extensions``),
    ``include``, then the bootstrap set at the ``used`` versions.

    A develop egg (``develop``: project -> its location and requirements)
    is no root itself: its requirements are.
    """
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
    for line in include:
        roots[str(Requirement(line))] = None
    for req in complete.bootstrap_requirements(used):
        roots[str(req)] = None
    return list(roots)


def build_local_checkouts(
    index: DirectoryIndex, used: Mapping[str, str], pythonpath: Sequence[str] = ()
) -> tuple[int, list[str], list[str]]:
    """Index wheels of the bootstrap projects installed from a checkout (no index has them).

    Returns the files added, what was built (info) and what failed (warnings).
    """
    built: list[str] = []
    failed: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="privateindex-local-"))
    try:
        for req in complete.bootstrap_requirements(used):
            if satisfied(req, index.files):
                continue
            local = complete.local_source_dir(req.name)
            if local is None:
                continue
            error = complete.build_local_wheel(local, tmp, pythonpath)
            if error is None:
                built.append(f"built {req} from {local}")
            else:
                failed.append(f"building {req} from {local} failed: {error}")
        return (index.add(tmp) if any(tmp.iterdir()) else 0), built, failed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
