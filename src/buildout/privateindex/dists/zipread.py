"""Read the metadata members of a zip archive (wheel, egg, zip sdist).

A file small enough to be read whole (:data:`MAX_WHOLE_FILE`) is read from its
bytes by :func:`read_zip_bytes`, a zip reader written by hand for the common
case.  It is hand-written because zipfile's cost is per file, not per byte:
in a profile of a cold build of 2,000 small files (75 % wheels of 4-40 KB),
building a ``zipfile.ZipFile`` (its central directory parse makes a
``ZipInfo`` per member, after several seeks and reads) and opening a member
took 16-22 % of the whole build, more than hashing every byte.  Walking the
central directory of bytes already in memory with ``struct.unpack_from``
costs a fraction of that.

It reads only plain archives: anything else (zip64 records or their 0xFFFF
and 0xFFFFFFFF markers, an archive comment, data before the archive, several
disks, encryption, a compression other than stored or deflate, entries out of
order or overlapping, a bad CRC-32, a member that does not inflate to its
declared size exactly) makes it return None, and the caller reads the same
bytes with zipfile (:func:`read_zip`), which gives the result or the error it
always gave.  Whatever the hand-written reader accepts, zipfile reads to the
same bytes.  Both refuse a member whose declared size is over its limit with
the same error, and neither inflates more than the declared size.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Collection, Iterable
from typing import IO, TYPE_CHECKING

from packaging.utils import canonicalize_name

from buildout.privateindex.dists.archives import (
    MAX_METADATA_BYTES,
    MAX_PYPROJECT_BYTES,
    too_big,
    topdir,
)
from buildout.privateindex.dists.model import Kind
from buildout.privateindex.errors import DistributionError

if TYPE_CHECKING:
    import zipfile

__all__ = ["MAX_WHOLE_FILE", "read_zip", "read_zip_bytes", "zip_members"]

#: The largest file read whole, with one read, and hashed from memory.  What
#: that saves is per file (about 0.1 ms); above 4 to 8 MiB, allocating and
#: filling the buffer costs more than it saves (measured: a 4 MiB wheel read
#: 4 % faster whole, an 8 MiB one 6 % slower).
MAX_WHOLE_FILE = 4 << 20

# The records of the zip format (APPNOTE.TXT 4.3), as zipfile names them.
_END = struct.Struct("<4s4H2LH")  # end of central directory, no comment
# A central directory header (46 bytes): its signature, the version needed
# to extract, flags, compression method, CRC-32, compressed and uncompressed
# sizes, name, extra field and comment lengths, and the local header's offset.
_CENTRAL = struct.Struct("<4s2xBxHH4xLLLHHH8xL")
# A local file header (30 bytes): its signature, flags, name and extra lengths.
_LOCAL = struct.Struct("<4s2xH18xHH")
_END_SIG, _CENTRAL_SIG, _LOCAL_SIG = b"PK\x05\x06", b"PK\x01\x02", b"PK\x03\x04"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_UTF8_NAME = 0x800
# Encrypted, compressed patched data, strong encryption.
_UNREAD_FLAGS = 0x1 | 0x20 | 0x40
# Extra fields zipfile reads: zip64 sizes, Info-ZIP Unicode path (Python 3.12+).
_READ_EXTRAS = (0x0001, 0x7075)
# zipfile.ZIP_STORED, ZIP_DEFLATED and MAX_EXTRACT_VERSION (zipfile is
# imported only for what this reader leaves to it).
_STORED, _DEFLATED = 0, 8
_MAX_EXTRACT_VERSION = 63

#: What the central directory gives of one member: its index in archive
#: order, the position of its local header, its name as the central header
#: has it (bytes), flags, compression method, CRC-32, compressed and
#: uncompressed sizes.
_Entry = tuple[int, int, bytes, int, int, int, int, int]


def _extras_plain(data: bytes, start: int, end: int) -> bool:
    """Whether the extra fields ``data[start:end]`` are well formed, and ignored by zipfile."""
    while end - start >= 4:
        kind, size = struct.unpack_from("<HH", data, start)
        start += 4 + size
        if start > end or kind in _READ_EXTRAS:
            return False
    return True


def _central_directory(data: bytes) -> tuple[dict[str, _Entry], list[int]] | None:
    """A plain archive's members by name, in archive order, and their offsets; else None.

    The offsets are those of the members' local headers, then of the
    central directory: each member's data ends before the next offset.
    """
    end = len(data) - _END.size
    if end < 0:
        return None
    sig, disk, cd_disk, disk_entries, entries, cd_size, cd_offset, comment = _END.unpack_from(
        data, end
    )
    if sig != _END_SIG or comment or disk or cd_disk or disk_entries != entries:
        return None
    if cd_offset + cd_size != end or entries == 0xFFFF or cd_offset == 0xFFFFFFFF:
        return None  # data before the archive, a zip64 archive, or nonsense
    if data.startswith(_ZIP64_LOCATOR_SIG, end - _ZIP64_LOCATOR_SIZE):
        return None  # what zipfile would read as a zip64 end locator
    members: dict[str, _Entry] = {}
    offsets: list[int] = []
    pos, previous = cd_offset, -1
    for index in range(entries):
        if pos + _CENTRAL.size > end:
            return None
        header = _CENTRAL.unpack_from(data, pos)
        sig, version, flags, method, crc, csize, size, name_len, extra_len, comment, offset = header
        name_start = pos + _CENTRAL.size
        extra_start = name_start + name_len
        pos = extra_start + extra_len + comment
        if sig != _CENTRAL_SIG or version > _MAX_EXTRACT_VERSION or pos > end:
            return None
        if offset <= previous or 0xFFFFFFFF in (csize, size, offset):
            return None  # out of order (or overlapping), or zip64 sizes
        if extra_len and not _extras_plain(data, extra_start, extra_start + extra_len):
            return None
        raw = data[name_start:extra_start]
        try:
            name = raw.decode("utf-8" if flags & _UTF8_NAME else "cp437")
        except UnicodeDecodeError:
            return None
        if name in members or "\0" in name or (os.sep != "/" and os.sep in name):
            return None  # zipfile would keep the last, cut at NUL, or change separators
        members[name] = (index, offset, raw, flags, method, crc, csize, size)
        offsets.append(offset)
        previous = offset
    if pos != end:
        return None
    offsets.append(cd_offset)
    return members, offsets


def _inflate(data: bytes, entry: _Entry, bound: int) -> bytes | None:
    """A member's bytes, if it is plain and inflates to its size and CRC-32; else None."""
    _index, offset, raw, flags, method, crc, csize, size = entry
    if flags & _UNREAD_FLAGS or method not in (_STORED, _DEFLATED) or offset + _LOCAL.size > bound:
        return None
    sig, local_flags, name_len, extra_len = _LOCAL.unpack_from(data, offset)
    name_start = offset + _LOCAL.size
    start = name_start + name_len + extra_len
    stop = start + csize
    if sig != _LOCAL_SIG or stop > bound or (flags ^ local_flags) & _UTF8_NAME:
        return None
    if name_len != len(raw) or not data.startswith(raw, name_start):
        return None
    if method == _STORED:
        if csize != size:
            return None
        member = data[start:stop]
    else:
        inflater = zlib.decompressobj(-15)
        try:  # never more than the declared size (max_length 0 would be no limit)
            member = inflater.decompress(memoryview(data)[start:stop], max(size, 1))
        except zlib.error:
            return None
        if not inflater.eof or len(member) != size:
            return None
    if zlib.crc32(member) != crc:
        return None
    return member


def read_zip_bytes(path: str, data: bytes, kind: Kind) -> tuple[bytes | None, bytes | None] | None:
    """What :func:`read_zip` gives for the archive ``data``, or None to use it instead.

    :raises DistributionError: As :func:`read_zip` raises it, for the
        archive's names (pip's checks) or a member's declared size.
    """
    found = _central_directory(data)
    if found is None:
        return None
    members, offsets = found
    wanted, candidate = zip_members(path, members, kind)
    if wanted is None:
        return None, None
    read: list[bytes] = []
    for name, limit in ((candidate, MAX_PYPROJECT_BYTES), (wanted, MAX_METADATA_BYTES)):
        if name is None:
            continue
        entry = members[name]
        if entry[7] > limit:
            raise too_big(path, name, entry[7], limit)
        if (member := _inflate(data, entry, offsets[entry[0] + 1])) is None:
            return None
        read.append(member)
    return read[-1], read[0] if candidate is not None else None


def _zip_read(path: str, zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member, refused when its declared or actual size is over ``limit``."""
    declared = zf.getinfo(name).file_size
    if declared > limit:
        raise too_big(path, name, declared, limit)
    with zf.open(name) as member:
        data = member.read(limit + 1)
    if len(data) > limit:  # pragma: no cover - zipfile stops at the declared size
        raise too_big(path, name, len(data), limit)
    return data


def zip_members(path: str, names: Collection[str], kind: Kind) -> tuple[str | None, str | None]:
    """The members of a zip archive read: its core metadata and (sdists) pyproject.toml.

    ``names`` are the archive's member names in archive order.  The core
    metadata member is None if the archive has none; so is pyproject.toml,
    for anything but an sdist with one beside its PKG-INFO.
    """
    if kind is Kind.EGG:
        wanted = "EGG-INFO/PKG-INFO" if "EGG-INFO/PKG-INFO" in names else None
    elif kind is Kind.WHEEL:
        candidate = f"{_dist_info_dir(path, names)}/METADATA"
        wanted = candidate if candidate in names else None
    else:  # like a tar sdist: the first top-level PKG-INFO in archive order
        found = (n for n in names if n.endswith("/PKG-INFO") and topdir(n, "PKG-INFO"))
        wanted = next(found, None)
    if wanted is None or kind is not Kind.SDIST:
        return wanted, None
    candidate = wanted.rpartition("/")[0] + "/pyproject.toml"
    return wanted, candidate if candidate in names else None


def read_zip(path: str, f: IO[bytes], kind: Kind) -> tuple[bytes | None, bytes | None]:
    """The core metadata and (sdists) pyproject.toml of a zip archive, read with zipfile."""
    import zipfile

    with zipfile.ZipFile(f) as zf:
        wanted, candidate = zip_members(path, zf.namelist(), kind)
        if wanted is None:
            return None, None
        pyproject = None
        if candidate is not None:
            pyproject = _zip_read(path, zf, candidate, MAX_PYPROJECT_BYTES)
        return _zip_read(path, zf, wanted, MAX_METADATA_BYTES), pyproject


def _dist_info_dir(path: str, names: Iterable[str]) -> str:
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
