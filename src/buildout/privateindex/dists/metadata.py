"""Read a distribution file's own metadata, hash it, and check its file name."""

from __future__ import annotations

import hashlib
import io
import os
import stat as stat_module
import sys

from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from buildout.privateindex.dists.archives import (
    CHUNK_SIZE,
    TAR_MODES,
    HashingReader,
    archive_errors,
)
from buildout.privateindex.dists.coreheaders import used_values
from buildout.privateindex.dists.filenames import check_filename, classify, parse_yank, sdist_suffix
from buildout.privateindex.dists.model import DistFile, Kind, ReadResult
from buildout.privateindex.dists.safetext import without_controls
from buildout.privateindex.dists.zipread import MAX_WHOLE_FILE, read_zip, read_zip_bytes
from buildout.privateindex.errors import DistributionError, NotADistributionError

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
    if sys.version_info >= (3, 11):  # imported here: only sdists have one
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
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


def _used_fields(path: str, text: str) -> tuple[str | None, str | None, str | None, str | None]:
    """The first Name, Version, Requires-Python and Summary of core metadata ``text``."""
    part, values = used_values(text)
    if values is not None:  # plain fields: the values as the email parser gives them
        get = values.get
        return get("name"), get("version"), get("requires-python"), get("summary")
    from packaging.metadata import parse_email  # only here: it imports the email package

    try:
        raw, unparsed = parse_email(part)
    except Exception as exc:  # the email parser is lenient; be safe anyway
        raise DistributionError(path, f"unreadable core metadata: {exc}") from exc
    fields = dict(raw)
    keys = ("name", "version", "requires_python", "summary")
    name, version, requires_python, summary = (_field(fields, unparsed, k) for k in keys)
    return name, version, requires_python, summary


def _parse_core_metadata(
    path: str, data: bytes
) -> tuple[str, NormalizedName, str, Version, str | None, str]:
    """Name, project, version (as written and parsed), Requires-Python and Summary, leniently."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    raw_name, raw_version, raw_requires_python, raw_summary = _used_fields(path, text)
    name = (raw_name or "").strip()
    version = (raw_version or "").strip()
    if not name or not version:
        missing = " and ".join(f for f, v in (("Name", name), ("Version", version)) if not v)
        raise DistributionError(path, f"the core metadata has no {missing}")
    try:
        project = canonicalize_name(name, validate=True)
    except InvalidName:
        raise DistributionError(path, f"invalid project name {name!r} in metadata") from None
    try:
        parsed = Version(version)
    except InvalidVersion:
        raise DistributionError(
            path, f"invalid version {version!r} in metadata (not PEP 440)"
        ) from None
    requires_python = _one_line(raw_requires_python) or None
    if requires_python is not None and len(requires_python) > MAX_REQUIRES_PYTHON:
        raise DistributionError(
            path,
            f"its Requires-Python is {len(requires_python)} characters long, "
            f"more than the {MAX_REQUIRES_PYTHON} accepted",
        )
    summary = _one_line(raw_summary)
    if len(summary) > MAX_SUMMARY:
        summary = summary[: MAX_SUMMARY - 1].rstrip() + "\u2026"
    return name, project, version, parsed, requires_python, summary


def _read_whole(path: str, size: int) -> bytes | None:
    """All of the file, ``size`` bytes expectedly, in one read; None if it holds more.

    A read that gives fewer bytes than asked for ends at the end of the file
    (a regular file's reads are short only there), so one read of ``size +
    1`` bytes that gives ``size`` reads it all; a file that shrank is read on
    to its end, to its true size.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, size + 1)
        if len(data) < size:
            parts = [data]
            while (got := sum(map(len, parts))) <= size and (more := os.read(fd, size + 1 - got)):
                parts.append(more)
            data = b"".join(parts)
    finally:
        os.close(fd)
    return data if len(data) <= size else None


def _read_archive(
    path: str, kind: Kind, suffix: str | None, size: int
) -> tuple[bytes | None, bytes | None, str, int]:
    """Core metadata, pyproject.toml, sha256 and the number of bytes read (and hashed)."""
    tar = suffix if kind is Kind.SDIST and suffix in TAR_MODES else None
    if tar is not None:
        from buildout.privateindex.dists.tarread import read_tar, read_tar_bytes
    data = None if size > MAX_WHOLE_FILE else _read_whole(path, size)
    if data is not None:  # one read, one pass of hashing, an archive in memory
        if tar is not None:
            metadata, pyproject = read_tar_bytes(path, data, tar)
        elif (found := read_zip_bytes(path, data, kind)) is not None:
            metadata, pyproject = found
        else:
            metadata, pyproject = read_zip(path, io.BytesIO(data), kind)
        return metadata, pyproject, hashlib.sha256(data).hexdigest(), len(data)
    with open(path, "rb") as f:
        if tar is not None:
            metadata, pyproject, reader = read_tar(path, f, tar, size)
        else:  # too big to hold, or bigger than it was
            metadata, pyproject = read_zip(path, f, kind)
            f.seek(0)
            reader = HashingReader(f)
            reader.read_rest(size)
    return metadata, pyproject, reader.hash.hexdigest(), reader.count


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
        metadata, pyproject, sha256, count = _read_archive(
            path, kind, sdist_suffix(filename), st.st_size
        )
    except DistributionError:
        raise
    except archive_errors() as exc:
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
    if count != st.st_size:
        raise DistributionError(
            path,
            f"the file changed while it was read ({st.st_size} bytes listed, {count} read)",
        )
    name, project, version, parsed, requires_python, summary = _parse_core_metadata(path, metadata)
    try:
        check_filename(filename, name, version, project=project, parsed_version=parsed)
    except ValueError as exc:
        raise DistributionError(path, str(exc)) from None
    wheel = kind is Kind.WHEEL
    dist = DistFile(
        filename=filename,
        project=project,
        name=name,
        version=version,
        kind=kind,
        size=st.st_size,
        sha256=sha256,
        mtime_ns=st.st_mtime_ns,
        requires_python=requires_python,
        summary=summary,
        metadata_sha256=hashlib.sha256(metadata).hexdigest() if wheel else None,
        build_requires=_build_requires(pyproject) if kind is Kind.SDIST else None,
    )
    return ReadResult(dist, metadata if wheel else None)
