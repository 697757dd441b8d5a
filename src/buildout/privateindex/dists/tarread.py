"""Read a tar sdist's PKG-INFO and pyproject.toml in one pass, within limits.

Imported only when a tarball is read (tarfile and lzma cost a reading
process's start-up).  See :mod:`.archives` for the limits.
"""

from __future__ import annotations

import io
import tarfile

from buildout.privateindex.dists.archives import (
    MAX_METADATA_BYTES,
    MAX_PYPROJECT_BYTES,
    TAIL_SIZE,
    TAR_MODES,
    HashingReader,
    mib,
    too_big,
    topdir,
)
from buildout.privateindex.errors import DistributionError

__all__ = ["MAX_EXAMINED_BYTES", "MAX_HEADER_BYTES", "read_tar", "read_tar_bytes"]

#: The largest tar extended header (a long name, pax attributes) read.
MAX_HEADER_BYTES = 1 << 20
#: How far into a decompressed tarball PKG-INFO is looked for.
MAX_EXAMINED_BYTES = 4 << 30

#: Compressed bytes tarfile reads at a time while looking for PKG-INFO.
# Small reads: tarfile decompresses each read whole, so a 64 KiB read of an
# xz stream decodes most of a small sdist before its first header is seen.
_TAR_BUFSIZE = 1 << 12
#: Top directories whose pyproject.toml is kept while PKG-INFO is not found.
_MAX_PYPROJECTS = 8
# bzip2's end-of-stream magic (48 bits, the digits of sqrt(pi)).
_BZ2_EOS = 0x177245385090


class _OverLimit(tarfile.ReadError):
    """A member or header over a limit (tarfile's own error type, to pass through it)."""


class _BoundedTarInfo(tarfile.TarInfo):
    """A tar header that refuses an extended header too big to hold in memory.

    tarfile reads a pax or GNU long-name header whole before it looks at it.
    """

    def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _EXTENDED_HEADERS and self.size > MAX_HEADER_BYTES:
            raise _OverLimit(
                f"a tar extended header of {self.size} bytes "
                f"(more than the {mib(MAX_HEADER_BYTES)} limit)"
            )
        return super()._proc_member(tar)  # type: ignore[misc, no-any-return]


_EXTENDED_HEADERS = (
    *(tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK),
    *(tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE),
)


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


def _scan_tar(
    path: str, fileobj: HashingReader | io.BytesIO, suffix: str
) -> tuple[bytes | None, bytes | None, int]:
    """PKG-INFO, pyproject.toml, and how far (decompressed) the tarball was read."""
    try:
        with tarfile.open(
            fileobj=fileobj, mode=TAR_MODES[suffix], bufsize=_TAR_BUFSIZE, tarinfo=_BoundedTarInfo
        ) as tf:
            pkg_info, pyproject = _find_members(path, tf)
            return pkg_info, pyproject, tf.offset
    except _OverLimit as exc:
        raise DistributionError(path, f"refused: {exc}") from None


def _check_trailer(path: str, suffix: str, tail: bytes, offset: int) -> None:
    if not _tar_trailer_ok(suffix, tail, offset):
        raise DistributionError(
            path, "corrupt or truncated sdist: the compressed data does not end properly"
        )


def read_tar(
    path: str, f: io.BufferedIOBase, suffix: str, size: int
) -> tuple[bytes | None, bytes | None, HashingReader]:
    """Stream a tarball once: PKG-INFO, pyproject.toml, and the file's hash."""
    reader = HashingReader(f)
    pkg_info, pyproject, offset = _scan_tar(path, reader, suffix)
    reader.read_rest(size)
    _check_trailer(path, suffix, reader.tail, offset)
    return pkg_info, pyproject, reader


def read_tar_bytes(path: str, data: bytes, suffix: str) -> tuple[bytes | None, bytes | None]:
    """What :func:`read_tar` reads, of a whole tarball in memory (hashed by the caller)."""
    pkg_info, pyproject, offset = _scan_tar(path, io.BytesIO(data), suffix)
    _check_trailer(path, suffix, data[-TAIL_SIZE:], offset)
    return pkg_info, pyproject


def _find_members(path: str, tf: tarfile.TarFile) -> tuple[bytes | None, bytes | None]:
    """The first top-level PKG-INFO, and the pyproject.toml beside it."""
    pkg_info: tuple[str, bytes] | None = None
    pyprojects: dict[str, bytes] = {}
    while (member := tf.next()) is not None:
        tf.members.clear()  # type: ignore[attr-defined]  # a stream needs no list of what it passed
        if member.offset_data + member.size > MAX_EXAMINED_BYTES:
            if pkg_info is None:
                raise DistributionError(
                    path,
                    f"no PKG-INFO in the first {mib(MAX_EXAMINED_BYTES)} of the decompressed sdist",
                )
            break  # pyproject.toml is optional
        if not member.isfile():
            continue
        if pkg_info is None and (top := topdir(member.name, "PKG-INFO")):
            pkg_info = top, _extract(path, tf, member, MAX_METADATA_BYTES)
        elif (top := topdir(member.name, "pyproject.toml")) and (
            len(pyprojects) < _MAX_PYPROJECTS or (pkg_info and pkg_info[0] == top)
        ):
            pyprojects.setdefault(top, _extract(path, tf, member, MAX_PYPROJECT_BYTES))
        if pkg_info is not None and pkg_info[0] in pyprojects:
            break
    if pkg_info is None:
        return None, None
    return pkg_info[1], pyprojects.get(pkg_info[0])


def _extract(path: str, tf: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if member.size > limit:
        raise too_big(path, member.name, member.size, limit)
    fileobj = tf.extractfile(member)
    if fileobj is None:  # pragma: no cover - regular files always have data
        raise tarfile.ReadError(f"cannot read {member.name}")
    return fileobj.read()
