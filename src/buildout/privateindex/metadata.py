"""Read a distribution file's own metadata, hash it, and check its file name."""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import stat as stat_module
import struct
import sys
import tarfile
import zipfile
import zlib
from typing import Literal

from packaging.metadata import parse_email
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from .coreheaders import used_part
from .errors import DistributionError, NotADistributionError
from .filenames import check_filename, classify, parse_yank, sdist_suffix
from .model import DistFile, Kind, ReadResult
from .safetext import without_controls

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

__all__ = ["classify", "parse_yank", "read_distribution"]

#: Size of the chunks in which whole files are hashed.
CHUNK_SIZE = 1 << 20
#: Compressed bytes tarfile reads at a time while looking for PKG-INFO.
# Small reads: tarfile decompresses each read whole, so a 64 KiB read of an
# xz stream decodes most of a small sdist before its first header is seen.
_TAR_BUFSIZE = 1 << 12
_TAIL_SIZE = 64
_TarMode = Literal["r|gz", "r|bz2", "r|xz"]
_TAR_MODES: dict[str, _TarMode] = {
    ".tar.gz": "r|gz",
    ".tgz": "r|gz",
    ".tar.bz2": "r|bz2",
    ".tar.xz": "r|xz",
}
# bzip2's end-of-stream magic (48 bits, the digits of sqrt(pi)).
_BZ2_EOS = 0x177245385090
# What reading a broken archive raises (tarfile's gzip header parser even
# raises TypeError on a truncated header).
_ARCHIVE_ERRORS = (
    *(OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile),
    *(zlib.error, lzma.LZMAError, struct.error, RuntimeError, ValueError, TypeError),
    *(IndexError, OverflowError),
)


class _HashingReader:
    """A file reader that hashes every byte it passes on, exactly once."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.count = 0
        self.tail = b""

    def _seen(self, data: bytes | memoryview) -> None:
        self.hash.update(data)
        self.count += len(data)
        self.tail = (self.tail + bytes(data[-_TAIL_SIZE:]))[-_TAIL_SIZE:]

    def read(self, size: int = -1, /) -> bytes:
        data = self.raw.read(size)
        self._seen(data)
        return data

    def write(self, b: bytes, /) -> object:
        raise OSError("read-only")

    def tell(self) -> int:
        return self.count

    def seek(self, pos: int, /) -> object:
        raise OSError("the archive is read as a stream")

    def close(self) -> object:
        return None  # the caller closes the file

    def read_rest(self, size: int) -> None:
        """Hash the rest of the file (``size`` bytes in all, expectedly)."""
        buf = bytearray(min(CHUNK_SIZE, max(size - self.count, 1 << 16)))
        view = memoryview(buf)
        while n := self.raw.readinto(view):
            self._seen(view[:n])


def _tar_trailer_ok(suffix: str, tail: bytes, offset: int) -> bool:
    """Whether ``tail``, a compressed tarball's end, ends its compressed stream.

    Reading stops once the metadata is found, so a truncated end of the
    archive would otherwise pass unnoticed.  xz and bzip2 end with a magic
    number; a gzip member ends with the uncompressed size modulo 2**32, which
    for a tar archive is a multiple of 512 and at least ``offset``, the
    uncompressed bytes seen so far (a heuristic, not a proof).
    """
    if suffix == ".tar.xz":
        return tail.rstrip(b"\0").endswith(b"YZ")
    if suffix == ".tar.bz2":
        # magic (48 bits), CRC (32 bits), then 0 to 7 bits of zero padding
        value = int.from_bytes(tail[-11:], "big")
        return len(tail) >= 11 and any(
            (value >> (32 + pad)) & 0xFFFF_FFFF_FFFF == _BZ2_EOS and not value & ((1 << pad) - 1)
            for pad in range(8)
        )
    isize = int.from_bytes(tail[-4:], "little")
    if offset >= 1 << 32:
        return isize % 512 == 0
    return len(tail) >= 8 and isize % 512 == 0 and isize >= max(offset, 1)


def _topdir(name: str, basename: str) -> str | None:
    """The top directory of archive member ``<topdir>/<basename>``, else None."""
    parts = name.removeprefix("./").split("/")
    if len(parts) == 2 and parts[0] and parts[1] == basename:
        return parts[0]
    return None


def _read_tar(
    path: str, f: io.BufferedIOBase, suffix: str, size: int
) -> tuple[bytes | None, bytes | None, _HashingReader]:
    """Stream a tarball once: PKG-INFO, pyproject.toml, and the file's hash."""
    reader = _HashingReader(f)
    pkg_info: tuple[str, bytes] | None = None
    pyprojects: dict[str, bytes] = {}
    with tarfile.open(fileobj=reader, mode=_TAR_MODES[suffix], bufsize=_TAR_BUFSIZE) as tf:
        while (member := tf.next()) is not None:
            if not member.isfile():
                continue
            if pkg_info is None and (top := _topdir(member.name, "PKG-INFO")):
                pkg_info = top, _extract(tf, member)
            elif top := _topdir(member.name, "pyproject.toml"):
                pyprojects.setdefault(top, _extract(tf, member))
            if pkg_info is not None and pkg_info[0] in pyprojects:
                break
        offset = tf.offset
    reader.read_rest(size)
    if not _tar_trailer_ok(suffix, reader.tail, offset):
        raise DistributionError(
            path, "corrupt or truncated sdist: the compressed data does not end properly"
        )
    if pkg_info is None:
        return None, None, reader
    return pkg_info[1], pyprojects.get(pkg_info[0]), reader


def _extract(tf: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fileobj = tf.extractfile(member)
    if fileobj is None:  # pragma: no cover - regular files always have data
        raise tarfile.ReadError(f"cannot read {member.name}")
    return fileobj.read()


def _read_zip(path: str, f: io.BufferedIOBase, kind: Kind) -> tuple[bytes | None, bytes | None]:
    """The core metadata and (sdists) pyproject.toml of a zip archive."""
    with zipfile.ZipFile(f) as zf:
        names = zf.namelist()
        if kind is Kind.EGG:
            wanted = ["EGG-INFO/PKG-INFO"] if "EGG-INFO/PKG-INFO" in names else []
        elif kind is Kind.WHEEL:
            dist_info = _dist_info_dir(path, names)
            wanted = [m for m in (f"{dist_info}/METADATA",) if m in names]
        else:  # like a tar sdist: the first top-level PKG-INFO in archive order
            wanted = [n for n in names if n.endswith("/PKG-INFO") and _topdir(n, "PKG-INFO")][:1]
        if not wanted:
            return None, None
        pyproject = None
        if kind is Kind.SDIST:
            candidate = wanted[0].rpartition("/")[0] + "/pyproject.toml"
            if candidate in names:
                pyproject = zf.read(candidate)
        return zf.read(wanted[0]), pyproject


def _dist_info_dir(path: str, names: list[str]) -> str:
    """A wheel's one top-level ``.dist-info`` directory, checked as pip checks it.

    pip (``wheel_dist_info_dir``) refuses a wheel with no such directory, with
    several, or with one whose normalized name does not start with the
    project name in the file name: an index must not offer what pip refuses.
    """
    found = sorted({top for n in names if (top := n.partition("/")[0]).endswith(".dist-info")})
    if not found:
        raise DistributionError(path, "no *.dist-info/METADATA in the wheel")
    if len(found) > 1:
        listed = ", ".join(repr(d) for d in found)
        raise DistributionError(path, f"more than one .dist-info directory: {listed}")
    wheel_name = canonicalize_name(os.path.basename(path).partition("-")[0])
    if not canonicalize_name(found[0]).startswith(wheel_name):
        raise DistributionError(
            path, f"the .dist-info directory {found[0]!r} is not named for {wheel_name!r}"
        )
    return found[0]


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
    summary = _one_line(_field(fields, unparsed, "summary"))
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
            if kind is Kind.SDIST and suffix in _TAR_MODES:
                metadata, pyproject, reader = _read_tar(path, f, suffix, st.st_size)
            else:
                metadata, pyproject = _read_zip(path, f, kind)
                f.seek(0)
                reader = _HashingReader(f)
                reader.read_rest(st.st_size)
    except DistributionError:
        raise
    except _ARCHIVE_ERRORS as exc:
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
