"""What the pages depend on besides the files: the base URL and the yanks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from buildout.privateindex.dists.model import DistFile

__all__ = ["FORMAT_VERSION", "RenderSettings"]

#: Bump when the pages' format changes: every page is then rewritten.
FORMAT_VERSION = "2"


class RenderSettings(NamedTuple):
    """What the pages depend on besides the files: base URL and yanks."""

    base_url: str | None
    #: Yank reasons by (normalized project, canonical version).
    yanks: Mapping[tuple[str, str], str]
    #: A digest of everything here and of :data:`FORMAT_VERSION`.
    fingerprint: str
    #: Releases whose upstream yank is cleared here: (project, canonical version).
    unyanks: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def make(
        cls, base_url: str | None, yank_specs: Sequence[str], unyank_specs: Sequence[str] = ()
    ) -> RenderSettings:
        """Settings from the build's options; YankSpecError for a bad spec."""
        yanks: dict[tuple[str, str], str] = {}
        if yank_specs or unyank_specs:  # packaging is imported only when it is needed
            from buildout.privateindex.dists.filenames import parse_yank
        for spec in yank_specs:
            project, version, reason = parse_yank(spec)
            yanks[(project, version)] = reason
        unyanks = frozenset(parse_yank(spec)[:2] for spec in unyank_specs)
        base = base_url.rstrip("/") if base_url else None
        data: dict[str, object] = {
            "format": FORMAT_VERSION,
            "base_url": base,
            "yanks": sorted(yanks.items()),
        }
        if unyanks:
            data["unyanks"] = sorted(unyanks)
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        return cls(base, yanks, digest, unyanks)

    def yanked(self, dist: DistFile, upstream: str | None = None) -> str | None:
        """The yank reason of ``dist`` (``""`` if none given), None if not yanked.

        A ``yank`` of the user's wins, then an unyank, then the upstream's yank.
        """
        if not self.yanks and not self.unyanks:
            return upstream
        from packaging.utils import canonicalize_version

        release = (dist.project, canonicalize_version(dist.version))
        if release in self.yanks:
            return self.yanks[release]
        return None if release in self.unyanks else upstream
