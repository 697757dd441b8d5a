"""What a file name or a yank specification says: kind, project name, version."""

from __future__ import annotations

import re

from packaging.utils import (
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from buildout.privateindex.dists.model import EGG_SUFFIX, Kind, classify, sdist_suffix
from buildout.privateindex.errors import YankSpecError

__all__ = ["check_filename", "classify", "parse_filename", "parse_yank", "sdist_suffix"]

# The python tag of an egg, as setuptools writes it: ``py3.11``, ``py2.7``.
_egg_pyver_regex = re.compile(r"py\d+(?:\.\d+)*", re.ASCII)


def _version(text: str, filename: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ValueError(
            f"file name {filename!r} has an invalid version {text!r} (not PEP 440)"
        ) from None


def _name(text: str, filename: str) -> NormalizedName:
    if not text:
        raise ValueError(f"file name {filename!r} has an empty project name")
    return canonicalize_name(text)


def _parse_egg_filename(filename: str) -> tuple[NormalizedName, Version]:
    # setuptools writes ``Name-Version(-pyX.Y(-platform)?)?.egg`` where a '-'
    # inside the name or the version became '_'; the platform may hold '-'.
    parts = filename[: -len(EGG_SUFFIX)].split("-")
    if len(parts) < 2:
        raise ValueError(f"egg file name {filename!r} has no version")
    if len(parts) > 2 and not _egg_pyver_regex.fullmatch(parts[2]):
        raise ValueError(f"egg file name {filename!r} has an invalid python tag {parts[2]!r}")
    try:
        version = Version(parts[1])
    except InvalidVersion:
        version = _version(parts[1].replace("_", "-"), filename)
    return _name(parts[0], filename), version


def parse_filename(filename: str) -> tuple[Kind, NormalizedName, Version]:
    """
    Parse a distribution file name into its kind, normalized name and version.

    Wheels follow the wheel specification (via
    :func:`packaging.utils.parse_wheel_filename`), sdists are
    ``<name>-<version><suffix>`` for every suffix in
    :data:`~buildout.privateindex.dists.model.SDIST_SUFFIXES` (split at the last
    ``-``, as :func:`packaging.utils.parse_sdist_filename` does for the two
    suffixes it knows), and eggs are ``Name-Version(-pyX.Y(-platform)?)?.egg``.

    :param str filename: The file name (not a path).
    :raises ValueError: If the name has no known suffix, or its name or
        version part is invalid; the message says which.

    >>> kind, name, version = parse_filename("Foo.Bar-1.0.tar.xz")
    >>> kind.value, name, str(version)
    ('sdist', 'foo-bar', '1.0')
    """
    if not filename.isprintable():
        raise ValueError(f"file name {filename!r} holds a control character")
    kind = classify(filename)
    if kind is Kind.WHEEL:
        try:
            name, version, _build, _tags = parse_wheel_filename(filename)
        except InvalidWheelFilename as exc:
            raise ValueError(str(exc)) from None
        return kind, name, version
    if kind is Kind.EGG:
        name, version = _parse_egg_filename(filename)
        return kind, name, version
    suffix = sdist_suffix(filename)
    if kind is not Kind.SDIST or suffix is None:
        raise ValueError(f"file name {filename!r} has no distribution suffix")
    if suffix in (".tar.gz", ".zip"):
        try:
            name, version = parse_sdist_filename(filename)
        except InvalidSdistFilename as exc:
            raise ValueError(str(exc)) from None
        return kind, name, version
    name_part, sep, version_part = filename[: -len(suffix)].rpartition("-")
    if not sep:
        raise ValueError(f"sdist file name {filename!r} has no '-' before the version")
    return kind, _name(name_part, filename), _version(version_part, filename)


def _legacy_sdist_version(filename: str, name: str) -> str | None:
    """The version part of an sdist file name, found as pip finds it.

    pip splits ``<name>-<version><suffix>`` after the name it is looking
    for, at the first ``-`` where the part before it normalizes to that
    name, so ``basketweaver-0.1.3-r0.tar.gz`` is version ``0.1.3-r0`` (PEP
    440's ``0.1.3.post0``), which a split at the last ``-`` misses.
    """
    suffix = sdist_suffix(filename)
    if suffix is None:
        return None
    stem, canonical = filename[: -len(suffix)], canonicalize_name(name)
    for i, char in enumerate(stem):
        if char == "-" and canonicalize_name(stem[:i]) == canonical:
            return stem[i + 1 :]
    return None


def check_filename(
    filename: str,
    name: str,
    version: str,
    *,
    project: NormalizedName | None = None,
    parsed_version: Version | None = None,
) -> None:
    """
    Check that a distribution's file name agrees with its metadata.

    Names compare by :func:`~packaging.utils.canonicalize_name`, versions by
    :func:`~packaging.utils.canonicalize_version` (so ``1.0`` and ``1.0.0``
    agree, as PEP 625 has it).  An sdist whose name holds a ``-`` inside its
    version, as older tools wrote them, is accepted as pip accepts it.

    :param str filename: The file name (not a path).
    :param str name: The ``Name`` of the file's core metadata.
    :param str version: The ``Version`` of the file's core metadata.
    :param project: ``canonicalize_name(name)``, if the caller has it.
    :param parsed_version: ``Version(version)``, if the caller has it.
    :raises ValueError: If the file name is invalid or names another project
        or version; the message names both.

    >>> check_filename("basketweaver-0.1.3-r0.tar.gz", "basketweaver", "0.1.3.post0")
    """
    try:
        _kind, file_name, file_version = parse_filename(filename)
    except ValueError as exc:
        if not _is_legacy_sdist(filename, name, version):
            raise ValueError(f"invalid file name: {exc}") from None
        return
    if project is None:
        project = canonicalize_name(name)
    if project == file_name and canonicalize_version(
        version if parsed_version is None else parsed_version
    ) == canonicalize_version(file_version):
        return
    if _is_legacy_sdist(filename, name, version):
        return
    raise ValueError(
        f"metadata says name {name!r} version {version!r}, but the file name "
        f"says name {file_name!r} version {str(file_version)!r}"
    )


def _is_legacy_sdist(filename: str, name: str, version: str) -> bool:
    """Whether pip's reading of an sdist's name gives the metadata's name and version."""
    part = _legacy_sdist_version(filename, name)
    if part is None:
        return False
    try:
        return canonicalize_version(Version(part)) == canonicalize_version(version)
    except InvalidVersion:
        return False


def parse_yank(spec: str) -> tuple[str, str, str]:
    """
    Parse a yank specification ``NAME==VERSION[: reason]``.

    Returns the normalized project name, the canonical version (as
    :func:`packaging.utils.canonicalize_version` gives it) and the reason
    (stripped, ``""`` if none).

    :param str spec: The specification.
    :raises YankSpecError: If it is not of that form, or the name or version
        is invalid.

    >>> parse_yank("Foo.Bar==1.0.0: broken on Windows")
    ('foo-bar', '1', 'broken on Windows')
    """
    head, _sep, reason = spec.partition(":")
    name, eq, version = head.partition("==")
    name, version = name.strip(), version.strip()
    if not eq or not name or not version:
        raise YankSpecError(spec, "expected NAME==VERSION[: reason]")
    try:
        project = canonicalize_name(name, validate=True)
    except InvalidName:
        raise YankSpecError(spec, f"invalid project name {name!r}") from None
    try:
        parsed = Version(version)
    except InvalidVersion:
        raise YankSpecError(spec, f"invalid version {version!r} (not PEP 440)") from None
    return project, canonicalize_version(parsed), reason.strip()
