"""Buildout's package finder, sent straight to a project's page in the private index.

For each requirement, buildout's finder reads ``<index>/<name>/`` and, when
that gives it no *page* (a ``file://`` index is a directory, never a page to
it), logs "Couldn't retrieve index page" and scans the whole index ("Scanning
index of all packages"): a cost that grows with the index, once per run, and
a third of an offline run's log.  The private index is PEP 503 through and
through: ``<index>/<normalized name>/`` is the whole truth about a project.
So, while a run is pinned, the finder of that index reads that one
directory or page and nothing else; a project it does not hold is missing,
which the extension reports in one line.
"""

from __future__ import annotations

from typing import Any

from packaging.utils import canonicalize_name
from zc.buildout import easy_install

from buildout.privateindex.session import Session

__all__ = ["route_finder"]


def route_finder(session: Session, index_url: str) -> None:
    """Make the finders buildout makes for ``index_url`` look up projects directly."""
    # _get_index strips "file://" from a local index before making the finder.
    own = index_url[len("file://") :] if index_url.startswith("file://") else index_url
    base: Any = easy_install.AllowHostsPackageIndex

    class DirectFinder(base):  # type: ignore[misc]
        def find_packages(self, requirement: Any) -> None:
            if self.index_url != own:
                super().find_packages(requirement)
                return
            name = canonicalize_name(requirement.unsafe_name)
            self.scan_url(f"{self.index_url}{name}/")
            for url in list(self.package_pages.get(name, ())):  # an http page's links
                self.scan_url(url)

    old = easy_install.AllowHostsPackageIndex
    easy_install.AllowHostsPackageIndex = DirectFinder

    def undo() -> None:
        easy_install.AllowHostsPackageIndex = old
        easy_install.clear_index_cache()

    session.undo.append(undo)
    easy_install.clear_index_cache()
