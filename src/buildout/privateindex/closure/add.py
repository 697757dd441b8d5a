"""Add requirements to an index: fetch their closure into the index's store.

``privateindex add`` resolves requirements against an upstream index for
every target (as the recipe completes an index: :func:`closure.fill`), so the
index gets each requirement with its dependencies, a wheel for each target
where the upstream has one, else the sdist and, recursively, the build
requirements of every sdist.  The fetched files go into the index's store
(``DIR/.privateindex/store``, see :data:`~buildout.privateindex.engine.scan.STORE`),
which every later build of the index scans as a source: what was added stays
indexed, ``build --prune`` included, until it is deleted from the store.
Then every target is checked offline against the index alone
(:func:`closure.check`).  Pure: it never imports zc.buildout.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from buildout.privateindex.closure import DEFAULT_INDEX_URL
from buildout.privateindex.closure import fill as closure
from buildout.privateindex.closure.completion import credentials_for
from buildout.privateindex.closure.directoryindex import DirectoryIndex
from buildout.privateindex.closure.fill import TargetReport
from buildout.privateindex.closure.resolve import Resolver
from buildout.privateindex.closure.targets import (
    Target,
    TargetError,
    make_targets,
)
from buildout.privateindex.dists.model import Problem
from buildout.privateindex.engine.build import build_index
from buildout.privateindex.engine.scan import store_path
from buildout.privateindex.errors import PrivateIndexError
from buildout.privateindex.sharing.location import (
    IndexLocation,
    LocationError,
    find_credentials,
    parse_location,
    redact,
)

__all__ = ["DEFAULT_INDEX_URL", "AddError", "AddReport", "StoreIndex", "add_requirements"]

logger = logging.getLogger(__name__)


class AddError(PrivateIndexError, ValueError):
    """What ``add`` was given cannot be used: ``about`` names the option or requirement."""

    def __init__(self, about: str, reason: str, value: str | None = None) -> None:
        self.about = about
        self.reason = reason
        self.value = value
        shown = "" if value is None else f": {redact(value)!r}"
        super().__init__(f"{about}: {reason}{shown}")


def parse_targets(platforms: Sequence[str], pythons: Sequence[str]) -> list[Target]:
    """The targets of ``--platform`` and ``--python-version`` values, as the recipe
    reads its ``platforms`` and ``python-versions`` options."""
    try:
        return make_targets(platforms, pythons)
    except TargetError as exc:
        option = "--python-version" if exc.python else "--platform"
        raise AddError(option, exc.reason, exc.value) from None


def read_requirements(args: Sequence[str], files: Sequence[str | os.PathLike[str]]) -> list[str]:
    """The requirements given as arguments and in requirements files, normalized.

    A file holds one requirement a line; ``#`` starts a comment, a trailing
    ``\\`` continues a line.  Options (``-e``, ``--hash``...) are refused.
    """
    reqs: dict[str, None] = {}
    for arg in args:
        reqs[_requirement(arg, "requirement")] = None
    for name in files:
        path = os.fspath(name)
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise AddError("-r", f"cannot read the requirements file ({reason})", path) from None
        for number, line in _logical_lines(text):
            where = f"{path}, line {number}"
            if line.startswith("-"):
                raise AddError(where, "options are not supported in a requirements file", line)
            reqs[_requirement(line, where)] = None
    return list(reqs)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        line = raw.split(" #", 1)[0] if not raw.lstrip().startswith("#") else ""
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            lines.append((start, whole))
    if pending.strip():
        lines.append((start, pending.strip()))
    return lines


def _requirement(text: str, about: str) -> str:
    try:
        return str(Requirement(text))
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0].strip()
        raise AddError(about, f"not a requirement ({reason})", text) from None


def upstream_location(url: str) -> IndexLocation:
    """The upstream index with its credentials (from the URL, ~/.netrc or ~/.pypirc)."""
    try:
        location = parse_location(url)
    except LocationError as exc:
        raise AddError("--index-url", exc.reason, url) from None
    return location.with_credentials(find_credentials(location))


class StoreIndex(DirectoryIndex):
    """An index whose new files are kept in its store before they are indexed."""

    def __init__(self, directory: str, yanks: Sequence[str] = ()) -> None:
        # Create (or check) the index first: a store would make any directory
        # look like an index.
        build_index([], directory, yanks=yanks)
        self.store = Path(store_path(directory))
        self.store.mkdir(parents=True, exist_ok=True)
        super().__init__(directory, yanks)

    def add(self, directory: Path) -> int:
        copied: set[str] = set()
        for path in sorted(directory.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            if path.name in self._files:
                # Another content under a name the index holds: keeping it in
                # the store would make it a conflict at every build.
                if not self.has(path.name, _sha256(path)):
                    reason = "not added: the index holds another file of that name"
                    self.problems.append(Problem(str(path), reason))
                continue
            copied.add(str(_copy_into(path, self.store)))
        report = build_index([self.store], self.directory, yanks=self.yanks)
        for problem in report.problems:
            if problem.path in copied:
                # Not indexable (the upstream served a broken file): out of
                # the store, or every build would report it again.
                os.unlink(problem.path)
        self.problems += report.problems
        self.refresh()
        return len(report.added)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_into(path: Path, store: Path) -> Path:
    """Copy ``path`` into ``store`` under its name, appearing there whole or not at all."""
    tmp = store / f".adding-{path.name}.part"
    target = store / path.name
    try:
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


@dataclass
class AddReport:
    """What :func:`add_requirements` did, and what each target gets offline."""

    added: int = 0
    targets: list[TargetReport] = field(default_factory=list)
    #: Warnings: upstream failures, files that could not be fetched or indexed.
    warnings: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[TargetReport]:
        return [report for report in self.targets if report.problems]


def add_requirements(
    output: str | os.PathLike[str],
    requirements: Sequence[str],
    *,
    targets: Sequence[Target],
    index_url: str = DEFAULT_INDEX_URL,
    no_deps: bool = False,
    installed: Sequence[str] = (),
    local_wheels: Path | None = None,
    local: Sequence[str] = (),
    python: str = sys.executable,
    python_version: str | None = None,
    yanks: Sequence[str] = (),
) -> AddReport:
    """Fetch ``requirements`` and their closure for ``targets`` into the index's store.

    :param installed: Pins of what an environment has installed: added like
        ``requirements``, but one this machine cannot have is no error (its
        target's report names it).
    :param local_wheels: A directory of wheels built here (local checkouts),
        added to the store first; ``local`` pins them, for the check.
    :param python: The interpreter the host target resolves for, and
        ``python_version`` its version (default: the running one's).
    :param yanks: As :func:`build_index` takes them: the pages are rendered
        with these (and relative links, as a build without ``base_url``).
    :raises AddError: ``index_url`` is not an index location, or this machine
        (the first target) cannot have a requirement (naming it, with uv's reason).
    """
    upstream = upstream_location(index_url)
    index = StoreIndex(os.path.abspath(os.fspath(output)), yanks)
    report = AddReport()
    if local_wheels is not None and any(local_wheels.iterdir()):
        report.added += index.add(local_wheels)
    targets = list(targets)
    if targets and targets[0].host and python_version is not None:
        targets[0] = dataclasses.replace(targets[0], python=python_version)
    roots = [*requirements, *installed]
    logger.info(
        "resolving %d requirements for %d targets against %s",
        len(roots),
        len(targets),
        redact(upstream.url),
    )
    resolver = Resolver([upstream.url_with_credentials(), index.url], python)
    if requirements:
        # What this machine cannot have is an error, before anything is fetched.
        _, problems = closure.resolve_roots(resolver, targets[0], requirements, (), no_deps)
        if problems:
            raise AddError("cannot add", problems[0])
    if roots:
        filled = closure.fill(
            targets,
            roots,
            {},
            resolver,
            index,
            credentials=credentials_for(upstream),
            upstream_index=upstream.url,
            no_deps=no_deps,
        )
        report.added += filled.added
        report.warnings += filled.problems
    offline = Resolver([index.url], python, offline=True)
    report.targets = closure.check(targets, [*roots, *local], {}, offline, index, no_deps)
    report.warnings += [str(problem) for problem in index.problems]
    return report
