"""The closure of an index: what every target's offline run installs, and the fill.

For each :class:`~buildout.privateindex.closure.targets.Target`, the index must hold
the roots (what buildout was asked to install, ``include`` and the bootstrap
set) at the versions the buildout pins, their dependencies as that target
resolves them, a wheel for the target where the upstream has one, else the
sdist together with the sdist's build requirements for that target.

:func:`fill` computes that from an upstream (online runs) and adds what is
missing; :func:`check` resolves every target against the index alone, with no
network, which is what the per-target summary reports.  Pure: the index and
the resolvers come in as arguments; it never imports zc.buildout.
"""

from __future__ import annotations

import functools
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from packaging.utils import canonicalize_name

from buildout.privateindex.closure.directoryindex import IndexView
from buildout.privateindex.closure.fetch import fetch_files
from buildout.privateindex.closure.provenance import lookup
from buildout.privateindex.closure.resolve import (
    UNSATISFIABLE,
    LockedFile,
    LockedPackage,
    Resolution,
    Resolver,
)
from buildout.privateindex.closure.targets import Target
from buildout.privateindex.sharing.location import Credentials

logger = logging.getLogger(__name__)

#: Targets resolved at once (each uv process is itself multi-threaded).
RESOLVE_THREADS = 4
#: Rounds of "build requirements of the sdists the previous round brought".
BUILD_ROUNDS = 5

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class TargetReport:
    """What an offline run of one target gets from the index."""

    target: Target
    projects: int = 0
    #: ``name==version`` of each project the target builds from an sdist.
    from_source: list[str] = field(default_factory=list)
    #: What the index cannot give this target, each with uv's reason.
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        where = "this machine, " if self.target.host else ""
        head = f"target {self.target} ({where}{self.projects} projects)"
        if self.problems:
            return f"{head}: cannot install everything offline: " + "; ".join(self.problems)
        if self.from_source:
            return f"{head}: builds from source: " + ", ".join(self.from_source)
        return f"{head}: wheels for everything"


@dataclass
class FillReport:
    """What :func:`fill` fetched, and what it could not."""

    added: int = 0
    #: Warnings: upstream failures, files that could not be fetched.
    problems: list[str] = field(default_factory=list)
    #: Every project resolved for some target (normalized names).
    projects: set[str] = field(default_factory=set)


def pmap(func: Callable[[T], R], items: Sequence[T], threads: int = RESOLVE_THREADS) -> list[R]:
    """``map`` on a few threads (uv runs as a subprocess: the GIL is free)."""
    if len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        return list(pool.map(func, items))


def resolve_roots(
    resolver: Resolver,
    target: Target,
    roots: Sequence[str],
    constraints: Sequence[str],
    no_deps: bool = False,
) -> tuple[list[LockedPackage], list[str]]:
    """Resolve ``roots`` for ``target``; when they cannot all be had, each one alone.

    With ``no_deps``, the roots alone (not their dependencies).  Returns the
    packages (the union of what could be resolved) and one problem per root
    that cannot be, with uv's reason.
    """
    whole = resolver.compile(target, roots, constraints, no_deps=no_deps)
    if whole.error is None:
        return whole.packages, []
    if len(roots) == 1:
        return [], [f"{roots[0]}: {whole.error}"]
    if not whole.unsatisfiable:
        return [], [whole.error]

    def alone(root: str) -> Resolution:
        return resolver.compile(target, [root], constraints, no_deps=no_deps)

    packages: dict[str, LockedPackage] = {}
    problems = []
    for root, result in zip(roots, pmap(alone, list(roots)), strict=True):
        if result.error is not None:
            problems.append(f"{root}: {result.error}")
        for package in result.packages:
            packages.setdefault(package.name, package)
    return list(packages.values()), problems


def _fetch_into_index(
    files: Iterable[LockedFile],
    index: IndexView,
    credentials: Callable[[str], Credentials | None],
    report: FillReport,
) -> None:
    wanted = {item.filename: item for item in files if not index.has(item.filename, item.sha256)}
    if not wanted:
        return
    logger.info("fetching %d files for the targets", len(wanted))
    tmp = Path(tempfile.mkdtemp(prefix="privateindex-targets-"))
    try:
        fetched = fetch_files(wanted.values(), tmp, credentials=credentials)
        report.problems += [f"could not fetch {n}: {why}" for n, why in fetched.failed.items()]
        if fetched.files:
            report.added += index.add(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fill(
    targets: Sequence[Target],
    roots: Sequence[str],
    constraints: Mapping[Target, Sequence[str]],
    upstream: Resolver,
    index: IndexView,
    *,
    credentials: Callable[[str], Credentials | None] = lambda url: None,
    upstream_index: str | None = None,
    no_deps: bool = False,
) -> FillReport:
    """Add to ``index`` what each target's offline run needs, from ``upstream``.

    Files shared by several targets (pure wheels, sdists) are fetched once.
    With ``upstream_index`` (the upstream's simple URL), the upload time and
    yank of every resolved project's files are then read from there and
    recorded in ``index`` (fetched now or earlier: matched by name and sha256).
    With ``no_deps``, the roots' dependencies are left out (the build
    requirements of their sdists still come with theirs).
    """
    report = FillReport()

    def first(target: Target) -> tuple[list[LockedPackage], list[str]]:
        return resolve_roots(upstream, target, roots, constraints.get(target, ()), no_deps)

    resolved = pmap(first, list(targets))
    for target, (_, problems) in zip(targets, resolved, strict=True):
        # Unsatisfiable roots show in the target's summary (check); what is
        # said here is why the upstream could not answer at all.
        report.problems += [
            f"target {target}: {problem}" for problem in problems if UNSATISFIABLE not in problem
        ]
    _fetch_into_index(
        (item for packages, _ in resolved for p in packages for item in p.needed),
        index,
        credentials,
        report,
    )
    # The sdists a target builds need their build requirements, resolved for
    # that target (pip builds in isolation: [versions] does not apply there).
    pending = {
        t: [p for p in packages if p.from_source]
        for t, (packages, _) in zip(targets, resolved, strict=True)
    }
    seen: dict[Target, set[str]] = {t: {p.pin for p in pending[t]} for t in targets}
    for _ in range(BUILD_ROUNDS):
        wanted = {t: sorted(_build_requires(index, pending[t])) for t in targets}
        todo = [t for t in targets if wanted[t]]
        if not todo:
            break

        results = pmap(functools.partial(_compile_for, upstream, wanted), todo)
        for target, result in zip(todo, results, strict=True):
            if result.error is not None:
                report.problems.append(
                    f"target {target}: build requirements {', '.join(wanted[target])}: "
                    f"{result.error}"
                )
        _fetch_into_index(
            (item for result in results for p in result.packages for item in p.needed),
            index,
            credentials,
            report,
        )
        pending = {t: list[LockedPackage]() for t in targets}
        for target, result in zip(todo, results, strict=True):
            fresh = [p for p in result.packages if p.from_source and p.pin not in seen[target]]
            seen[target].update(p.pin for p in fresh)
            pending[target] = fresh
        report.projects.update(canonicalize_name(p.name) for r in results for p in r.packages)
    report.projects.update(canonicalize_name(p.name) for pkgs, _ in resolved for p in pkgs)
    if upstream_index is not None and report.projects:
        index.record(lookup(upstream_index, report.projects, credentials=credentials))
    return report


def _compile_for(
    resolver: Resolver, requirements: Mapping[Target, Sequence[str]], target: Target
) -> Resolution:
    return resolver.compile(target, requirements[target])


def _build_requires(index: IndexView, packages: Iterable[LockedPackage]) -> set[str]:
    reqs: set[str] = set()
    for package in packages:
        if package.sdist is not None:
            reqs.update(index.build_requires(package.sdist.filename))
    return reqs


def check(
    targets: Sequence[Target],
    roots: Sequence[str],
    constraints: Mapping[Target, Sequence[str]],
    local: Resolver,
    index: IndexView,
    no_deps: bool = False,
) -> list[TargetReport]:
    """Resolve every target against the index alone: what its offline run gets
    (with ``no_deps``, the roots alone and what building them needs)."""

    def one(target: Target) -> TargetReport:
        report = TargetReport(target)
        packages, report.problems = resolve_roots(
            local, target, roots, constraints.get(target, ()), no_deps
        )
        report.projects = len(packages)
        sources = sorted((p for p in packages if p.from_source), key=lambda p: p.name)
        report.from_source = [p.pin for p in sources]
        seen = {p.pin for p in sources}
        for _ in range(BUILD_ROUNDS):
            reqs = sorted(_build_requires(index, sources))
            if not reqs:
                break
            result = local.compile(target, reqs)
            if result.error is not None:
                report.problems.append(
                    f"cannot build {', '.join(p.pin for p in sources)}: "
                    f"build requirements {', '.join(reqs)}: {result.error}"
                )
                break
            sources = [p for p in result.packages if p.from_source and p.pin not in seen]
            seen.update(p.pin for p in sources)
            report.from_source += [p.pin for p in sources]
        report.from_source = sorted(set(report.from_source), key=str.lower)
        return report

    return pmap(one, list(targets))
