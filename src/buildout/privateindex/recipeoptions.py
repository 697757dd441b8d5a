"""The recipe's options, each checked when the part loads (before any part runs).

A bad value stops buildout with one error naming the part, the option and
the value: ``[private-index] option 'sources': no such file or directory:
'/x'``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import zc.buildout
from packaging.requirements import InvalidRequirement, Requirement

from buildout.privateindex.closure.targets import (
    Target,
    TargetError,
    make_targets,
)
from buildout.privateindex.dists.filenames import parse_yank
from buildout.privateindex.engine.fsutil import is_within
from buildout.privateindex.errors import PrivateIndexError

__all__ = ["PartOptions", "read_options"]

TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")


@dataclass(frozen=True)
class PartOptions:
    """A ``buildout.privateindex`` part's options, checked and made absolute."""

    directory: str
    cache_dist: str | None
    sources: list[str]
    include: list[str]
    targets: list[Target]
    complete: bool
    yanks: list[str]
    unyanks: list[str]
    versions_file: str | None
    publish_to: str | None
    publish_endpoint: str | None
    publish_delete: bool
    #: None: the publisher decides (``auto``).
    publish_directory_keys: bool | None


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


class _Reader:
    def __init__(self, name: str, options: Any, buildout_options: Mapping[str, str]) -> None:
        self.name = name
        self.options = options
        self.here = buildout_options["directory"]
        self.buildout_options = buildout_options

    def error(self, option: str, reason: str, value: str) -> zc.buildout.UserError:
        return zc.buildout.UserError(f"[{self.name}] option {option!r}: {reason}: {value!r}")

    def get(self, option: str, default: str = "") -> str:
        return str(self.options.get(option, default)).strip()

    def bool(self, option: str, default: str) -> bool:
        value = self.get(option, default).lower()
        if value not in TRUE + FALSE:
            raise self.error(option, "expected true or false", value)
        return value in TRUE

    def path(self, value: str) -> str:
        return os.path.join(self.here, value)


def read_options(name: str, options: Any, buildout_options: Mapping[str, str]) -> PartOptions:
    """Check every option of part ``name``; ``options['directory']`` is made absolute.

    :raises zc.buildout.UserError: naming the part, the option and the value.
    """
    r = _Reader(name, options, buildout_options)
    directory = r.path(r.get("directory") or "private-index")
    options["directory"] = directory
    cache = r.get("download-cache", buildout_options.get("download-cache", ""))
    cache_dist = None
    if cache:
        cache = r.path(cache)
        if not os.path.isdir(cache):
            raise r.error("download-cache", "no such directory", cache)
        cache_dist = os.path.join(cache, "dist")
    sources = [r.path(line) for line in _lines(r.get("sources"))]
    for source in sources:
        if not os.path.exists(source):
            raise r.error("sources", "no such file or directory", source)
    if cache_dist is None and not sources:
        raise zc.buildout.UserError(
            f"[{name}] nothing to index: buildout has no 'download-cache' "
            f"and the part has no 'sources'"
        )
    _check_directory(r, directory, cache_dist, sources)
    include = _lines(r.get("include"))
    for line in include:
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            raise r.error("include", f"not a requirement ({exc})", line) from None
    yanks, unyanks = _lines(r.get("yank")), _lines(r.get("unyank"))
    for option, specs in (("yank", yanks), ("unyank", unyanks)):
        for spec in specs:
            try:
                parse_yank(spec)
            except PrivateIndexError as exc:
                raise r.error(option, exc.args[0] if exc.args else "invalid", spec) from None
    versions_file = r.get("versions-file")
    return PartOptions(
        directory=directory,
        cache_dist=cache_dist,
        sources=sources,
        include=include,
        targets=_targets(r),
        complete=r.bool("complete", "true"),
        yanks=yanks,
        unyanks=unyanks,
        versions_file=r.path(versions_file) if versions_file else None,
        **_publishing(r),
    )


def _targets(r: _Reader) -> list[Target]:
    try:
        return make_targets(r.get("platforms").split(), r.get("python-versions").split())
    except TargetError as exc:
        option = "python-versions" if exc.python else "platforms"
        raise r.error(option, exc.reason, exc.value) from None


def _publishing(r: _Reader) -> dict[str, Any]:
    publish_to = r.get("publish-to") or None
    keys = r.get("publish-directory-keys", "auto").lower() or "auto"
    if keys not in ("auto", "true", "false"):
        raise r.error("publish-directory-keys", "not auto, true or false", keys)
    if publish_to:
        from buildout.privateindex.sharing.publish import parse_s3_url

        try:
            parse_s3_url(publish_to)
        except PrivateIndexError:
            raise r.error("publish-to", "not an s3://bucket/prefix URL", publish_to) from None
    return {
        "publish_to": publish_to,
        "publish_endpoint": r.get("publish-endpoint-url") or None,
        "publish_delete": r.bool("publish-delete", "false"),
        "publish_directory_keys": None if keys == "auto" else keys == "true",
    }


def _check_directory(
    r: _Reader, directory_option: str, cache_dist: str | None, sources: list[str]
) -> None:
    """``directory`` must be writable and apart from every source (checked now,
    before any part runs, rather than when this part installs)."""
    directory = os.path.realpath(directory_option)
    if cache_dist is not None:
        cache = os.path.realpath(os.path.dirname(cache_dist))
        if is_within(directory, cache) or is_within(cache, directory):
            where = "inside" if is_within(directory, cache) else "around"
            raise r.error(
                "directory", f"lies {where} the download cache {cache!r}", directory_option
            )
    for source in sources:
        real = os.path.realpath(source)
        if is_within(real, directory) or is_within(directory, real):
            raise r.error("sources", f"overlaps the index directory {directory_option!r}", source)
    existing = directory
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise r.error("directory", f"{existing!r} is not a directory", directory_option)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise r.error("directory", f"{existing!r} is not writable", directory_option)
