"""Wheels, eggs and zip sdists read from their bytes give what zipfile gives.

Each archive here is written byte by byte (a plain one, then one broken or
odd in one way), and read twice: by ``read_distribution`` as it is, and with
every file too big to be read whole (``MAX_WHOLE_FILE = 0``), which reads it
with zipfile.  Both must give the same: the same metadata, or the same
error.  zipfile itself is the oracle of the member's bytes.
"""

from __future__ import annotations

import bz2
import hashlib
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from buildout.privateindex.dists import metadata
from buildout.privateindex.dists.archives import MAX_METADATA_BYTES
from buildout.privateindex.dists.metadata import read_distribution
from buildout.privateindex.dists.model import DistFile
from buildout.privateindex.errors import DistributionError
from distfactory import core_metadata

WHEEL = "foo-1.0-py3-none-any.whl"
META = "foo-1.0.dist-info/METADATA"
GOOD = core_metadata("foo", "1.0", summary="a fine wheel").encode()


@dataclass(frozen=True)
class Member:
    """One member as written: what it holds, and what its headers claim."""

    name: str
    data: bytes
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    crc: int | None = None  # else the data's
    size: int | None = None  # declared uncompressed size, else the data's
    compressed: bytes | None = None  # else the data, compressed by ``method``
    csize_delta: int = 0  # added to the declared compressed size
    offset_delta: int = 0  # added to the local header's offset
    offset: int | None = None  # the local header's offset, else where it is
    local_name: str | None = None  # else ``name``
    extra: bytes = b""  # the central header's extra field
    version: int = 20  # needed to extract


def _compress(member: Member) -> bytes:
    if member.compressed is not None:
        return member.compressed
    if member.method == zipfile.ZIP_DEFLATED:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(member.data) + c.flush()
    if member.method == zipfile.ZIP_BZIP2:
        return bz2.compress(member.data)
    return member.data


def build_zip(
    members: list[Member],
    *,
    prefix: bytes = b"",
    comment: bytes = b"",
    zip64: bool = False,
    order: list[int] | None = None,
    cd_cut: int = 0,
) -> bytes:
    """A zip archive of ``members``, in their order (the central directory in ``order``)."""
    out = bytearray(prefix)
    central = []
    for m in members:
        offset = len(out) - len(prefix)
        packed = _compress(m)
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        size = len(m.data) if m.size is None else m.size
        csize = len(packed) + m.csize_delta
        encoding = "utf-8" if m.flags & 0x800 else "cp437"
        name = m.name.encode(encoding, "surrogateescape")
        local = (m.local_name or m.name).encode(encoding, "surrogateescape")
        out += struct.pack(
            "<4s2B4HL2L2H", b"PK\x03\x04", m.version, 0, m.flags, m.method, 0, 0x21, crc,
            csize, size, len(local), 0,
        )  # fmt: skip
        out += local + packed
        if m.offset is not None:
            offset = m.offset
        sizes = (csize, size, offset + m.offset_delta)
        extra = m.extra
        if zip64:  # every size and offset in a zip64 extra field
            extra += struct.pack("<HH3Q", 1, 24, size, csize, sizes[2])
            sizes = (0xFFFFFFFF,) * 3
        header = struct.pack(
            "<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, m.version, 0, m.flags, m.method, 0, 0x21,
            crc, sizes[0], sizes[1], len(name), len(extra), 0, 0, 0, 0o644 << 16, sizes[2],
        )  # fmt: skip
        central.append(header + name + extra)
    cd_offset = len(out) - len(prefix)
    cd = b"".join(central[i] for i in (order or range(len(central))))
    cd = cd[: len(cd) - cd_cut]
    out += cd
    count, cd_size, cd_at = len(members), len(cd), cd_offset
    if zip64:
        end64 = len(out) - len(prefix)
        out += struct.pack(
            "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
        )
        out += struct.pack("<4sLQL", b"PK\x06\x07", 0, end64, 1)
        count, cd_size, cd_at = 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_at, len(comment))
    return bytes(out + comment)


def wheel(**changes: object) -> list[Member]:
    """The members of a plain wheel, METADATA changed by ``changes``."""
    return [
        Member("foo/__init__.py", b"VERSION = '1.0'\n" * 20),
        replace(Member(META, GOOD), **changes),  # type: ignore[arg-type]
        Member("foo-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n", method=zipfile.ZIP_STORED),
        Member("foo-1.0.dist-info/RECORD", b""),
    ]


BOMB = GOOD + b"x" * (MAX_METADATA_BYTES + 10)


def _cut_in_central_directory(data: bytes) -> bytes:
    return data[: data.index(b"PK\x01\x02") + 30]


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


#: (id, filename, archive bytes, whether the bytes are read without zipfile).
CASES: list[tuple[str, str, Callable[[], bytes], bool]] = [
    ("plain", WHEEL, lambda: build_zip(wheel()), True),
    ("stored-metadata", WHEEL, lambda: build_zip(wheel(method=zipfile.ZIP_STORED)), True),
    ("empty-metadata", WHEEL, lambda: build_zip(wheel(data=b"")), True),
    ("data-descriptor-flag", WHEEL, lambda: build_zip(wheel(flags=0x8)), True),
    ("utf8-names", WHEEL, lambda: build_zip([*wheel(), Member("foo/\u00e9.py", b"", flags=0x800)]), True),
    ("cp437-names", WHEEL, lambda: build_zip([*wheel(), Member("foo/\u00e9.py", b"")]), True),
    ("timestamp-extra", WHEEL, lambda: build_zip(wheel(extra=b"UT\x05\x00\x03\x00\x00\x00\x00")), True),
    ("no-dist-info", WHEEL, lambda: build_zip(wheel()[:1]), True),
    ("two-dist-infos", WHEEL, lambda: build_zip([*wheel(), Member("x-1.dist-info/METADATA", GOOD)]), True),
    ("declared-over-limit", WHEEL, lambda: build_zip(wheel(size=MAX_METADATA_BYTES + 1)), True),
    # irregular: read by zipfile, whatever it makes of them
    ("bad-crc", WHEEL, lambda: build_zip(wheel(crc=zlib.crc32(GOOD) ^ 1)), False),
    ("stored-bad-crc", WHEEL, lambda: build_zip(wheel(method=0, crc=1)), False),
    ("inflates-beyond-limit", WHEEL, lambda: build_zip(wheel(data=BOMB, size=100)), False),
    (
        "inflates-beyond-declared-crc-of-prefix",
        WHEEL,
        lambda: build_zip(wheel(data=BOMB, size=60, crc=zlib.crc32(BOMB[:60]))),
        False,
    ),
    ("inflates-short-of-declared", WHEEL, lambda: build_zip(wheel(size=len(GOOD) + 5)), False),
    ("compressed-size-too-big", WHEEL, lambda: build_zip(wheel(csize_delta=7)), False),
    ("compressed-size-too-small", WHEEL, lambda: build_zip(wheel(csize_delta=-7)), False),
    ("compressed-size-past-the-end", WHEEL, lambda: build_zip(wheel(csize_delta=10**6)), False),
    ("stored-sizes-differ", WHEEL, lambda: build_zip(wheel(method=0, size=len(GOOD) - 1)), False),
    ("offset-off-by-one", WHEEL, lambda: build_zip(wheel(offset_delta=1)), False),
    ("offset-of-another-member", WHEEL, lambda: build_zip(wheel(offset=0)), False),
    ("offset-past-the-end", WHEEL, lambda: build_zip(wheel(offset_delta=10**6)), False),
    ("local-name-differs", WHEEL, lambda: build_zip(wheel(local_name="foo-1.0.dist-info/METADATX")), False),
    ("encrypted", WHEEL, lambda: build_zip(wheel(flags=0x1)), False),
    ("bzip2-metadata", WHEEL, lambda: build_zip(wheel(method=zipfile.ZIP_BZIP2)), False),
    ("unknown-method", WHEEL, lambda: build_zip(wheel(method=99)), False),
    ("version-needed-too-high", WHEEL, lambda: build_zip(wheel(version=64)), False),
    ("corrupt-extra", WHEEL, lambda: build_zip(wheel(extra=b"UT\x09\x00\x03")), False),
    ("zip64", WHEEL, lambda: build_zip(wheel(), zip64=True), False),
    ("comment", WHEEL, lambda: build_zip(wheel(), comment=b"a trailing comment"), False),
    ("comment-holding-an-end-record", WHEEL, lambda: build_zip(wheel(), comment=b"PK\x05\x06" + b"\0" * 18), False),
    ("prefixed", WHEEL, lambda: build_zip(wheel(), prefix=b"#!/bin/sh\nexit 0\n"), False),
    ("central-directory-out-of-order", WHEEL, lambda: build_zip(wheel(), order=[1, 0, 2, 3]), False),
    ("central-directory-cut", WHEEL, lambda: build_zip(wheel(), cd_cut=10), False),
    ("truncated-in-central-directory", WHEEL, lambda: _cut_in_central_directory(build_zip(wheel())), False),
    ("end-record-flipped", WHEEL, lambda: _flip(build_zip(wheel()), -10), False),
    ("deflate-stream-corrupt", WHEEL, lambda: build_zip(wheel(compressed=b"\xff" * 40)), False),
    (
        "duplicate-metadata",
        WHEEL,
        lambda: build_zip([*wheel(), Member(META, core_metadata("foo", "1.0", summary="2nd").encode())]),
        False,
    ),
    (
        "nul-in-a-name",
        WHEEL,
        lambda: build_zip([*wheel(), Member("foo/x\0.py", b"")]),
        False,
    ),
    ("not-utf8-name", WHEEL, lambda: build_zip([*wheel(), Member("foo/\udcff.py", b"", flags=0x800)]), False),
    # eggs and zip sdists
    (
        "egg",
        "foo-1.0-py3.11.egg",
        lambda: build_zip([Member("foo/__init__.py", b""), Member("EGG-INFO/PKG-INFO", GOOD)]),
        True,
    ),
    (
        "egg-bad-crc",
        "foo-1.0-py3.11.egg",
        lambda: build_zip([Member("EGG-INFO/PKG-INFO", GOOD, crc=0)]),
        False,
    ),
    ("sdist", "foo-1.0.zip", lambda: build_zip(SDIST), True),
    ("sdist-pyproject-bad-crc", "foo-1.0.zip", lambda: build_zip([SDIST[0], replace(SDIST[1], crc=3)]), False),
    (
        "sdist-pyproject-over-limit",
        "foo-1.0.zip",
        lambda: build_zip([SDIST[0], replace(SDIST[1], size=(1 << 20) + 1)]),
        True,
    ),
    ("sdist-two-pkg-infos", "foo-1.0.zip", lambda: build_zip([*SDIST, Member("bar-1.0/PKG-INFO", b"Name: bar")]), True),
    ("sdist-no-pkg-info", "foo-1.0.zip", lambda: build_zip([SDIST[1]]), True),
]  # fmt: skip
SDIST = [
    Member("foo-1.0/PKG-INFO", GOOD),
    Member("foo-1.0/pyproject.toml", b"[build-system]\nrequires = ['tinybackend']\n"),
]


def outcome(path: Path) -> tuple[object, ...]:
    try:
        result = read_distribution(path)
    except DistributionError as exc:
        return (type(exc), exc.reason)
    return (result.dist, result.core_metadata)


@pytest.mark.parametrize(
    ("filename", "make", "fast"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_read_like_zipfile(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    filename: str,
    make: Callable[[], bytes],
    fast: bool,
) -> None:
    path = tmp_path / filename
    path.write_bytes(make())
    # with zipfile: every file too big to be read whole
    with monkeypatch.context() as patch:
        patch.setattr(metadata, "MAX_WHOLE_FILE", 0)
        expected = outcome(path)
    # zipfile is called only if the archive is not plain
    calls: list[str] = []
    real = metadata.read_zip

    def spy(*args: object) -> object:
        calls.append(str(args[0]))
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(metadata, "read_zip", spy)
    assert outcome(path) == expected
    assert calls == ([] if fast else [str(path)])
    # and zipfile is the oracle of the member's bytes
    if isinstance(expected[0], DistFile) and expected[0].kind.value == "wheel":
        assert expected[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        with zipfile.ZipFile(path) as zf:
            assert expected[1] == zf.read(META)
