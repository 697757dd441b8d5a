"""Read a distribution file's own metadata, hash it, and check its file name."""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
import sys

from packaging.metadata import parse_email
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from buildout.privateindex.dists.archives import (
    ARCHIVE_ERRORS,
    CHUNK_SIZE,
    TAR_MODES,
    HashingReader,
    read_tar,
    read_zip,
)
from buildout.privateindex.dists.coreheaders import used_part
from buildout.privateindex.dists.filenames import check_filename, classify, parse_yank, sdist_suffix
from buildout.privateindex.dists.model import DistFile, Kind, ReadResult
from buildout.privateindex.dists.safetext import without_controls
from buildout.privateindex.errors import DistributionError, NotADistributionError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

__all__ = ["CHUNK_SIZE", "MAX_REQUIRES_PYTHON", "MAX_SUMMARY", "classify", "parse_yank"]
__all__ += ["read_distribution"]

#: The longest Summary pages show (PyPI's own limit); longer ones are cut.
MAX_SUMMARY = 512
#: The longest Requires-Python accepted (real ones are a few dozen characters).
MAX_REQUIRES_PYTHON = 1000


def _build_requires(pyproject: bytes | None) -> tuple[str, ...] | None:
    """``[build-system] requires`` of a pyproject.toml; None if absent or unreadable."""
    if pyproject is None:
        return None
    try:
        data = tomllib.loads(pyproject.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    build_system = data.get("build-system")
    if not isinstance(build_system, dict):
        return None
    requires = build_system.get("requires")
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        return None
    return tuple(requires)


def _field(raw: dict[str, object], unparsed: dict[str, list[str]], key: str) -> str | None:
    value = raw.get(key)
    if isinstance(value, str):
        return value
    values = unparsed.get(key.replace("_", "-"))
    return values[0] if values else None


def _one_line(value: str | None) -> str:
    """A header's value on one line, without control characters (for pages)."""
    return " ".join(without_controls(" ".join((value or "").split())).split())


def _parse_core_metadata(path: str, data: bytes) -> tuple[str, str, str | None, str]:
    """Name, version, Requires-Python and Summary (coreheaders.USED_FIELDS), leniently."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    try:
        raw, unparsed = parse_email(used_part(text))
    except Exception as exc:  # the email parser is lenient; be safe anyway
        raise DistributionError(path, f"unreadable core metadata: {exc}") from exc
    fields = dict(raw)
    name = (_field(fields, unparsed, "name") or "").strip()
    version = (_field(fields, unparsed, "version") or "").strip()
    if not name or not version:
        missing = " and ".join(f for f, v in (("Name", name), ("Version", version)) if not v)
        raise DistributionError(path, f"the core metadata has no {missing}")
    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        raise DistributionError(path, f"invalid project name {name!r} in metadata") from None
    try:
        Version(version)
    except InvalidVersion:
        raise DistributionError(
            path, f"invalid version {version!r} in metadata (not PEP 440)"
        ) from None
    requires_python = _one_line(_field(fields, unparsed, "requires_python")) or None
    if requires_python is not None and len(requires_python) > MAX_REQUIRES_PYTHON:
        raise DistributionError(
            path,
            f"its Requires-Python is {len(requires_python)} characters long, "
            f"more than the {MAX_REQUIRES_PYTHON} accepted",
        )
    summary = _one_line(_field(fields, unparsed, "summary"))
    if len(summary) > MAX_SUMMARY:
        summary = summary[: MAX_SUMMARY - 1].rstrip() + "\u2026"
    return name, version, requires_python, summary


def read_distribution(
    path: str | os.PathLike[str], *, stat: os.stat_result | None = None
) -> ReadResult:
    """
    Read a distribution file: its own core metadata, sha256, size and mtime.

    The name and version come from the file's core metadata (a wheel's
    ``*.dist-info/METADATA``, an sdist's top-level ``PKG-INFO``, an egg's
    ``EGG-INFO/PKG-INFO``) and must agree with the file name.  A tar sdist is
    read and decompressed in one pass that stops once ``PKG-INFO`` and
    ``pyproject.toml`` are found; the rest of the file is only hashed.

    :param path: The distribution file.
    :param stat: The file's ``os.stat()`` result, if the caller already has
        it; its size and mtime are used.
    :raises NotADistributionError: If the suffix is unknown or an sdist has no
        ``PKG-INFO`` (e.g. a plain software download).
    :raises DistributionError: If the file is unreadable, corrupt, or its
        metadata is missing, invalid or disagrees with the file name.
    """
    path = os.fspath(path)
    filename = os.path.basename(path)
    kind = classify(filename)
    if kind is None:
        raise NotADistributionError(path, "unknown file type (not .whl, .egg or an sdist)")
    try:
        st = os.stat(path) if stat is None else stat
        if not stat_module.S_ISREG(st.st_mode):
            raise DistributionError(path, "not a regular file")
        with open(path, "rb") as f:
            suffix = sdist_suffix(filename)
            if kind is Kind.SDIST and suffix in TAR_MODES:
                metadata, pyproject, reader = read_tar(path, f, suffix, st.st_size)
            else:
                metadata, pyproject = read_zip(path, f, kind)
                f.seek(0)
                reader = HashingReader(f)
                reader.read_rest(st.st_size)
    except DistributionError:
        raise
    except ARCHIVE_ERRORS as exc:
        if isinstance(exc, OSError) and exc.strerror:
            reason = f"cannot read the file: {exc.strerror}"
        else:
            reason = f"corrupt or truncated {kind.value}: {str(exc) or type(exc).__name__}"
        raise DistributionError(path, reason) from exc
    if metadata is None:
        where = {Kind.WHEEL: "*.dist-info/METADATA", Kind.EGG: "EGG-INFO/PKG-INFO"}
        if kind is Kind.SDIST:
            raise NotADistributionError(path, "no PKG-INFO: not a Python distribution")
        raise DistributionError(path, f"no {where[kind]} in the {kind.value}")
    if reader.count != st.st_size:
        raise DistributionError(
            path,
            f"the file changed while it was read ({st.st_size} bytes listed, {reader.count} read)",
        )
    name, version, requires_python, summary = _parse_core_metadata(path, metadata)
    try:
        check_filename(filename, name, version)
    except ValueError as exc:
        raise DistributionError(path, str(exc)) from None
    wheel = kind is Kind.WHEEL
    dist = DistFile(
        filename=filename,
        project=canonicalize_name(name),
        name=name,
        version=version,
        kind=kind,
        size=st.st_size,
        sha256=reader.hash.hexdigest(),
        mtime_ns=st.st_mtime_ns,
        requires_python=requires_python,
        summary=summary,
        metadata_sha256=hashlib.sha256(metadata).hexdigest() if wheel else None,
        build_requires=_build_requires(pyproject) if kind is Kind.SDIST else None,
    )
    return ReadResult(dist, metadata if wheel else None)
