"""Which sdists of an index cannot be built from the index alone.

An installer builds an sdist in an isolated environment, installing its
``[build-system] requires`` (PEP 517's ``setuptools>=40.8.0`` when it
declares none) from the same index.  The index's state records them for
every sdist (:attr:`~buildout.privateindex.dists.model.DistFile.build_requires`);
:func:`unbuildable_sdists` checks each against the index's files: a
requirement is satisfied when some file of its project has a version its
specifier allows (pre-releases included; extras, Requires-Python and yanks
are not looked at).  Markers are evaluated for this machine, as a build here
would: a requirement for another platform or Python only is not checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from buildout.privateindex.dists.model import DistFile, Kind

__all__ = [
    "check_index",
    "satisfied",
    "unbuildable_sdists",
    "unsatisfied_build_requirements",
]


def satisfied(req: Requirement, dists: Iterable[DistFile]) -> bool:
    """Whether some file among ``dists`` satisfies ``req`` (extras are not checked)."""
    project = canonicalize_name(req.name)
    for dist in dists:
        if dist.project != project:
            continue
        try:
            version = Version(dist.version)
        except InvalidVersion:
            continue
        if req.specifier.contains(version, prereleases=True):
            return True
    return False


def unsatisfied_build_requirements(dist: DistFile, dists: Sequence[DistFile]) -> list[str]:
    """The build requirements of ``dist`` no file among ``dists`` satisfies here."""
    missing = []
    for text in dist.effective_build_requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            missing.append(f"{text} (not a valid requirement)")
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        if not satisfied(req, dists):
            missing.append(text)
    return missing


def unbuildable_sdists(dists: Sequence[DistFile]) -> list[str]:
    """One line per sdist build requirement the index cannot satisfy, naming both."""
    problems = []
    for dist in dists:
        if dist.kind is not Kind.SDIST:
            continue
        default = " (PEP 517's default)" if dist.build_requires is None else ""
        for req in unsatisfied_build_requirements(dist, dists):
            where = f"simple/{dist.project}/{dist.filename}"
            problems.append(
                f"{where}: cannot be built from the index: build requirement "
                f"{req!r}{default} matches no file in it"
            )
    return problems


def check_index(directory: str | os.PathLike[str], notes: list[str]) -> list[str]:
    """:func:`unbuildable_sdists` of the index in ``directory``, by its state.

    An index without a readable state is not checked (a note says so).
    """
    from buildout.privateindex.engine.build import load_index
    from buildout.privateindex.errors import IndexStateError

    try:
        dists = load_index(directory)
    except IndexStateError as exc:
        notes.append(f"build requirements not checked: {exc.reason}")
        return []
    return unbuildable_sdists(dists)
