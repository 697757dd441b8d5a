"""Reading distribution files: metadata, hashes, file-name checks, bad input."""

from __future__ import annotations

import hashlib
import os
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.metadata import parse_email
from packaging.utils import canonicalize_version

from buildout.privateindex.dists import metadata
from buildout.privateindex.dists.coreheaders import USED_FIELDS, used_part
from buildout.privateindex.dists.metadata import classify, parse_yank, read_distribution
from buildout.privateindex.dists.model import Kind, ReadResult
from buildout.privateindex.errors import (
    DistributionError,
    NotADistributionError,
    YankSpecError,
)
from distfactory import (
    SDIST_FORMATS,
    core_metadata,
    make_egg,
    make_plain_tarball,
    make_sdist,
    make_truncated,
    make_wheel,
    sdist_members,
    write_sdist_archive,
    write_wheel_archive,
)

TAR_FORMATS = [fmt for fmt in SDIST_FORMATS if fmt != "zip"]
#: Incompressible, so that the metadata sits far from the end of an archive.
RANDOM_PAYLOAD = random.Random(0).randbytes(300_000)
#: Bigger than one hashing chunk (1 MiB), even compressed.
BIG_PAYLOAD = random.Random(2).randbytes(1_200_000)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read(path: Path) -> ReadResult:
    """read_distribution, also checking what must hold for every file."""
    result = read_distribution(path)
    assert result.dist.filename == path.name
    assert result.dist.sha256 == sha256_of(path)
    assert result.dist.size == path.stat().st_size
    assert result.dist.mtime_ns == path.stat().st_mtime_ns
    return result


def sdist_with(tmp_path: Path, filename: str, members: list[tuple[str, bytes]]) -> Path:
    return write_sdist_archive(tmp_path / filename, members)


def replace_member(
    members: list[tuple[str, bytes]], suffix: str, data: bytes | None
) -> list[tuple[str, bytes]]:
    """``members`` with the one ending in ``suffix`` replaced (or dropped if None)."""
    out = [(n, data if n.endswith(suffix) else d) for n, d in members]
    return [(n, d) for n, d in out if d is not None]


# -- classify ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        ("foo-1.0-py3-none-any.whl", Kind.WHEEL),
        ("foo-1.0-py3.11.egg", Kind.EGG),
        ("foo-1.0.tar.gz", Kind.SDIST),
        ("foo-1.0.tgz", Kind.SDIST),
        ("foo-1.0.tar.bz2", Kind.SDIST),
        ("foo-1.0.tar.xz", Kind.SDIST),
        ("foo-1.0.zip", Kind.SDIST),
        ("foo-1.0.TAR.GZ", None),
        ("foo-1.0.WHL", None),
        ("foo-1.0.tar", None),
        ("foo-1.0.rpm", None),
        ("foo-1.0.whl.metadata", None),
        (".whl", None),
        (".tar.gz", None),
        ("", None),
    ],
)
def test_classify(filename: str, kind: Kind | None) -> None:
    assert classify(filename) is kind


# -- every kind and format ----------------------------------------------------


def test_wheel(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "Foo.Bar_baz", "1.0.0", requires_python=">=3.8")
    assert path.name == "foo_bar_baz-1.0.0-py3-none-any.whl"
    result = read(path)
    dist = result.dist
    assert (dist.project, dist.name, dist.version) == ("foo-bar-baz", "Foo.Bar_baz", "1.0.0")
    assert dist.kind is Kind.WHEEL
    assert dist.requires_python == ">=3.8"
    assert dist.summary == "The Foo.Bar_baz test package"
    assert dist.build_requires is None
    with zipfile.ZipFile(path) as zf:
        expected = zf.read("foo_bar_baz-1.0.0.dist-info/METADATA")
    assert result.core_metadata == expected
    assert dist.metadata_sha256 == hashlib.sha256(expected).hexdigest()


@pytest.mark.parametrize("fmt", SDIST_FORMATS)
@pytest.mark.parametrize("pkg_info_last", [False, True])
def test_sdist(tmp_path: Path, fmt: str, pkg_info_last: bool) -> None:
    path = make_sdist(
        tmp_path,
        "Foo.Bar_baz",
        "2.0rc1",
        fmt,
        requires_python=">=3.9",
        build_requires=("tinybackend", "wheel>=0.40"),
        payload=RANDOM_PAYLOAD,
        pkg_info_last=pkg_info_last,
    )
    assert path.name == f"foo_bar_baz-2.0rc1.{fmt}"
    result = read(path)
    dist = result.dist
    assert (dist.project, dist.name, dist.version) == ("foo-bar-baz", "Foo.Bar_baz", "2.0rc1")
    assert dist.kind is Kind.SDIST
    assert dist.requires_python == ">=3.9"
    assert dist.build_requires == ("tinybackend", "wheel>=0.40")
    assert dist.metadata_sha256 is None
    assert result.core_metadata is None


def test_egg(tmp_path: Path) -> None:
    result = read(make_egg(tmp_path, "Foo.Bar", "3.1", requires_python=">=3.11"))
    dist = result.dist
    assert (dist.project, dist.name, dist.version, dist.kind) == (
        "foo-bar",
        "Foo.Bar",
        "3.1",
        Kind.EGG,
    )
    assert dist.requires_python == ">=3.11"
    assert dist.metadata_sha256 is None and dist.build_requires is None
    assert result.core_metadata is None


@pytest.mark.parametrize(
    ("version", "filename"),
    [
        ("1.0", "foo-1.0-py3.11-linux-x86_64.egg"),
        ("1.0", "foo-1.0.egg"),
        ("1.0-r1", "foo-1.0_r1-py3.11.egg"),  # setuptools' '-' -> '_' escape
        ("1.0.post1", "foo-1.0.post1-py3.12-macosx-11.0-arm64.egg"),
    ],
)
def test_egg_file_names(tmp_path: Path, version: str, filename: str) -> None:
    assert read(make_egg(tmp_path, "foo", version, filename=filename)).dist.version == version


def test_egg_file_name_needs_a_python_tag(tmp_path: Path) -> None:
    with pytest.raises(DistributionError, match="invalid python tag"):
        read_distribution(make_egg(tmp_path, "foo", "1.0", filename="foo-1.0-linux.egg"))


def test_no_requires_python_and_summary(tmp_path: Path) -> None:
    text = "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n\n"
    dist = read(make_sdist(tmp_path, "foo", "1.0", pkg_info=text)).dist
    assert dist.requires_python is None
    assert dist.summary == ""


def test_summary_with_html_characters_is_kept_as_written(tmp_path: Path) -> None:
    summary = """<script>alert("x")</script> & 'quotes'"""
    dist = read(make_wheel(tmp_path, "foo", "1.0", summary=summary)).dist
    assert dist.summary == summary


def test_utf8_bom_before_the_name(tmp_path: Path) -> None:
    data = "\ufeffName: foo\nVersion: 1.0\nSummary: \u00fcber\n\n".encode()
    members = replace_member(sdist_members("foo", "1.0"), "/PKG-INFO", data)
    dist = read(sdist_with(tmp_path, "foo-1.0.tar.gz", members)).dist
    assert (dist.name, dist.summary) == ("foo", "\u00fcber")


def test_folded_summary_is_one_line(tmp_path: Path) -> None:
    text = "Metadata-Version: 1.0\nName: foo\nVersion: 1.0\nSummary: one\n  two\n\n"
    assert read(make_sdist(tmp_path, "foo", "1.0", pkg_info=text)).dist.summary == "one two"


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_metadata_not_utf8(tmp_path: Path, kind: str) -> None:
    data = b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nSummary: Caf\xe9 cr\xe8me\n\n"
    if kind == "wheel":
        path = write_wheel_archive(
            tmp_path / "foo-1.0-py3-none-any.whl",
            {"foo-1.0.dist-info/METADATA": data},
            "foo-1.0.dist-info",
        )
    else:
        members = replace_member(sdist_members("foo", "1.0"), "/PKG-INFO", data)
        path = sdist_with(tmp_path, "foo-1.0.tar.gz", members)
    result = read(path)
    assert result.dist.summary == "Café crème"  # read as latin-1
    if kind == "wheel":
        assert result.core_metadata == data


# -- which part of the core metadata is parsed -------------------------------------


def used_fields(text: str) -> list[tuple[object, object]]:
    """What parse_email gives for the fields read, parsed or not."""
    raw, unparsed = parse_email(text)
    fields = dict(raw)
    return [(fields.get(f.replace("-", "_")), unparsed.get(f)) for f in USED_FIELDS]


HEADERS = "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nSummary: one\nRequires-Python: >=3\n"
MULTIPART = "Content-Type: multipart/mixed; boundary=b\nName: foo\n\n--b\n\nName: x\n--b--\n"


@pytest.mark.parametrize(
    ("text", "part"),
    [
        # the body and the fields not read are left out
        (f"{HEADERS}Classifier: x\n\nName: bar\nBody\n", HEADERS.partition("\n")[2]),
        ("Name: foo\nDescription-Content-Type: text/markdown\n\n# Foo\n", "Name: foo\n"),
        # folded lines, CRLF and lone CR line ends are kept as they are
        (
            "Name: foo\r\nSummary: one\r\n\ttwo\r\nLicense: x\r\n\r\nBody",
            "Name: foo\r\nSummary: one\r\n\ttwo\r\n",
        ),
        ("Name: foo\rVersion: 1.0\r\rBody\r", "Name: foo\rVersion: 1.0\r"),
        ("Name: foo\nVersion: 1.0\n\r\nBody", "Name: foo\nVersion: 1.0\n"),
        ("Name: foo\r\nVersion: 1.0\r\n\nBody", "Name: foo\r\nVersion: 1.0\r\n"),
        # names in any case, repeated, with empty values; X-Name is another field
        ("NAME: foo\nX-Name: bar\nname: baz\nversion:\n\nBody", "NAME: foo\nname: baz\nversion:\n"),
        # no blank line: no body, all of it
        ("Name: foo\nLicense: x\nVersion: 1.0", "Name: foo\nLicense: x\nVersion: 1.0"),
        ("Name: foo\r\n", "Name: foo\r\n"),
        ("", ""),
        # a blank first line: no headers at all
        ("\nName: foo\n\n", ""),
        ("\r\nName: foo\n\n", ""),
        # headers that are not all plain fields: the header block
        (
            "Name: foo\nnot a field\nSummary: late\n\nBody",
            "Name: foo\nnot a field\nSummary: late\n\n",
        ),
        ("From nobody\nName: foo\n\nBody", "From nobody\nName: foo\n\n"),
        (" folded\nName: foo\n\nBody", " folded\nName: foo\n\n"),
        ("Name: foo\nSummary : x\n\nBody", "Name: foo\nSummary : x\n\n"),
        # a Content-Type header (a body of parts): all of it
        (MULTIPART, MULTIPART),
        (
            "Name: foo\ncontent-TYPE: text/plain\n\nBody",
            "Name: foo\ncontent-TYPE: text/plain\n\nBody",
        ),
    ],
)
def test_used_part(text: str, part: str) -> None:
    assert used_part(text) == part
    assert used_fields(part) == used_fields(text)


def test_used_part_parses_like_the_whole_text() -> None:
    # random texts of the pieces that matter to the email parser
    pieces = [
        *("\r", "\n", "\r\n", " ", "\t", ":", "a", "From ", "\x0b", "\x85", "\u2028", "\u017f"),
        *("Name:", "name:", "Version:", "Summary:", "Requires-Python:", "X-Name:", "Name :"),
        *("Content-Type:", "multipart/mixed; boundary=b", "--b", "Description-Content-Type:"),
    ]
    rng = random.Random(3)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(30)))
        assert used_fields(used_part(text)) == used_fields(text), repr(text)


def write_core_metadata(tmp_path: Path, kind: str, data: bytes) -> Path:
    if kind == "wheel":
        return write_wheel_archive(
            tmp_path / "foo-1.0-py3-none-any.whl",
            {"foo-1.0.dist-info/METADATA": data},
            "foo-1.0.dist-info",
        )
    members = replace_member(sdist_members("foo", "1.0"), "/PKG-INFO", data)
    return sdist_with(tmp_path, "foo-1.0.tar.gz", members)


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_huge_description_body(tmp_path: Path, kind: str) -> None:
    body = "".join(f"Name: line{i}\nVersion: {i}\n\u00fcber {i}\n\n" for i in range(100_000))
    data = f"{HEADERS}Description-Content-Type: text/markdown\n\n{body}".encode()
    result = read(write_core_metadata(tmp_path, kind, data))
    dist = result.dist
    assert (dist.name, dist.version, dist.summary) == ("foo", "1.0", "one")
    assert dist.requires_python == ">=3"
    if kind == "wheel":
        assert result.core_metadata == data  # served whole


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # folded Summary, CRLF line ends, a BOM, a body
        (
            b"\xef\xbb\xbfName: foo\r\nVersion: 1.0\r\nSummary: one\r\n  two\r\n\r\nBody\r\n",
            "one two",
        ),
        # repeated fields: the first one counts
        (b"Name: foo\nVersion: 1.0\nSummary: first\nSummary: second\nName: bar\n\n", "first"),
        # headers only, no blank line, no line end
        (b"Name: foo\nVersion: 1.0\nSummary: last", "last"),
        # no longer a header after a line that is not one (the body starts there)
        (b"Name: foo\nVersion: 1.0\nnot a field\nSummary: late\n\n", ""),
        # the headers are UTF-8 but the body is not: all of it is read as latin-1
        (
            "Name: foo\nVersion: 1.0\nSummary: \u00fcber\n\n".encode() + b"caf\xe9\n",
            "\u00c3\u00bcber",
        ),
    ],
)
def test_core_metadata_text(tmp_path: Path, data: bytes, expected: str) -> None:
    for kind in ("wheel", "sdist"):
        (tmp_path / kind).mkdir()
        dist = read(write_core_metadata(tmp_path / kind, kind, data)).dist
        assert (dist.name, dist.version, dist.summary) == ("foo", "1.0", expected)


# -- build requirements ---------------------------------------------------------


@pytest.mark.parametrize("fmt", SDIST_FORMATS)
def test_build_requires_absent(tmp_path: Path, fmt: str) -> None:
    path = make_sdist(tmp_path, "foo", "1.0", fmt, build_requires=None)
    dist = read(path).dist
    assert dist.build_requires is None
    assert dist.effective_build_requires == ("setuptools>=40.8.0",)


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
@pytest.mark.parametrize(
    ("pyproject", "expected"),
    [
        (b'[build-system]\nrequires = []\nbuild-backend = "x"\n', ()),
        (
            b'[build-system]\nrequires = ["a", "b[c]>=1; python_version<\'3.12\'"]\n',
            ("a", "b[c]>=1; python_version<'3.12'"),
        ),
        (b'[project]\nname = "foo"\n', None),  # no [build-system]
        (b'[build-system]\nbuild-backend = "x"\n', None),  # no requires
        (b"[build-system]\nrequires = 'setuptools'\n", None),  # not a list
        (b"[build-system\nrequires = [", None),  # not TOML
        (b"[build-system]\nrequires = ['\xff']\n", None),  # not UTF-8
    ],
)
def test_build_requires_from_pyproject(
    tmp_path: Path, fmt: str, pyproject: bytes, expected: tuple[str, ...] | None
) -> None:
    members = replace_member(sdist_members("foo", "1.0"), "/pyproject.toml", pyproject)
    dist = read(sdist_with(tmp_path, f"foo-1.0.{fmt}", members)).dist
    assert dist.build_requires == expected


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_nested_pyproject_is_not_the_sdists(tmp_path: Path, fmt: str) -> None:
    members = replace_member(sdist_members("foo", "1.0"), "/pyproject.toml", None)
    members.append(("foo-1.0/vendored/pyproject.toml", b"[build-system]\nrequires = ['x']\n"))
    assert read(sdist_with(tmp_path, f"foo-1.0.{fmt}", members)).dist.build_requires is None


def test_tar_members_with_dot_slash(tmp_path: Path) -> None:
    members = [(f"./{name}", data) for name, data in sdist_members("foo", "1.0")]
    dist = read(sdist_with(tmp_path, "foo-1.0.tar.gz", members)).dist
    assert (dist.name, dist.build_requires) == ("foo", ("tinybackend",))


# -- names and versions ---------------------------------------------------------


@pytest.mark.parametrize(
    "filename",
    [
        "foo_bar_baz-1.0.tar.gz",
        "Foo.Bar_baz-1.0.tar.gz",
        "foo-bar-baz-1.0.tar.gz",
        "FOO_BAR.BAZ-1.0.tar.bz2",
        "foo_bar_baz-1.0.zip",
    ],
)
def test_name_normalization(tmp_path: Path, filename: str) -> None:
    fmt = filename[filename.index("-1.0.") + 5 :]
    dist = read(make_sdist(tmp_path, "Foo.Bar_baz", "1.0", fmt, filename=filename)).dist
    assert (dist.project, dist.name) == ("foo-bar-baz", "Foo.Bar_baz")


@pytest.mark.parametrize(
    ("meta_version", "file_version"),
    [
        ("1.0.0", "1.0.0"),
        ("1.0", "1.0.0"),
        ("1.0.0", "1"),
        ("1.0a1", "1.0.0alpha1"),
        ("2!1.0", "2!1"),
    ],
)
def test_versions_that_agree(tmp_path: Path, meta_version: str, file_version: str) -> None:
    # packaging's canonicalize_version strips trailing zeros (PEP 625), so
    # "1.0" and "1.0.0" name the same version; the metadata's spelling is kept.
    assert canonicalize_version(meta_version) == canonicalize_version(file_version)
    path = make_wheel(
        tmp_path, "foo", meta_version, filename=f"foo-{file_version}-py3-none-any.whl"
    )
    assert read(path).dist.version == meta_version


@pytest.mark.parametrize(
    ("meta", "filename", "words"),
    [
        (("other", "1.0"), "foo-1.0.tar.gz", ["'other'", "'foo'"]),
        (("foo", "1.1"), "foo-1.0.tar.gz", ["'1.1'", "'1.0'"]),
        (("foo", "1.0.post1"), "foo-1.0.tar.xz", ["'1.0.post1'", "'1.0'"]),
        (("foo", "1.0"), "foo-1.0.1.zip", ["'1.0'", "'1.0.1'"]),
        (("foo", "1.0"), "foo_bar-1.0-py3-none-any.whl", ["'foo'", "'foo-bar'"]),
        (("foo", "1.0"), "foo-2.0-py3.11.egg", ["'1.0'", "'2.0'"]),
    ],
)
def test_file_name_disagrees_with_metadata(
    tmp_path: Path, meta: tuple[str, str], filename: str, words: list[str]
) -> None:
    if filename.endswith(".whl"):  # a .dist-info named as pip wants, for the file
        dist_info = "-".join(filename.split("-")[:2]) + ".dist-info"
        files = {f"{dist_info}/METADATA": core_metadata(*meta).encode()}
        path = write_wheel_archive(tmp_path / filename, files, dist_info)
    elif filename.endswith(".egg"):
        path = make_egg(tmp_path, *meta, filename=filename)
    else:
        members = sdist_members(*meta)
        path = sdist_with(tmp_path, filename, members)
    with pytest.raises(DistributionError) as info:
        read_distribution(path)
    assert type(info.value) is DistributionError
    assert info.value.path == str(path)
    assert "metadata says name" in info.value.reason
    for word in words:
        assert word in info.value.reason


@pytest.mark.parametrize(
    "filename",
    ["foo.tar.gz", "foo-.tgz", "-1.0.tar.bz2", "foo-notaversion.zip", "foo-1.0.whl", "foo.egg"],
)
def test_invalid_file_name(tmp_path: Path, filename: str) -> None:
    if filename.endswith((".whl", ".egg")):
        path = write_wheel_archive(
            tmp_path / filename,
            {"foo-1.0.dist-info/METADATA": core_metadata("foo", "1.0").encode()},
            "foo-1.0.dist-info",
        )
        if filename.endswith(".egg"):
            path = make_egg(tmp_path, "foo", "1.0", filename=filename)
    else:
        path = sdist_with(tmp_path, filename, sdist_members("foo", "1.0"))
    with pytest.raises(DistributionError, match="invalid file name"):
        read_distribution(path)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Metadata-Version: 2.1\nName: foo\nVersion: not a version\n\n", "invalid version"),
        ("Metadata-Version: 2.1\nVersion: 1.0\n\n", "no Name"),
        ("Metadata-Version: 2.1\nName: foo\n\n", "no Version"),
        ("Metadata-Version: 2.1\nName:\nVersion:\n\n", "no Name and Version"),
        ("", "no Name and Version"),
        ("Name: foo bar\nVersion: 1.0\n\n", "invalid project name"),
        ("Name: ../etc\nVersion: 1.0\n\n", "invalid project name"),
    ],
)
def test_bad_metadata(tmp_path: Path, text: str, reason: str) -> None:
    path = make_sdist(tmp_path, "foo", "1.0", pkg_info=text)
    with pytest.raises(DistributionError, match=reason) as info:
        read_distribution(path)
    assert not isinstance(info.value, NotADistributionError)


@pytest.mark.parametrize(
    ("dist_infos", "reason"),
    [
        # pip: "multiple .dist-info directories found"
        (("foo-1.0", "other-9.0"), "more than one .dist-info directory: 'foo-1.0.dist-info', "),
        (("foo-1.0", "Foo-1.0"), "more than one .dist-info directory"),
        # pip: ".dist-info directory 'other-9.9.dist-info' does not start with 'mism'"
        (("other-9.9",), "the .dist-info directory 'other-9.9.dist-info' is not named for 'foo'"),
    ],
)
def test_wheel_dist_info_checked_as_pip_does(
    tmp_path: Path, dist_infos: tuple[str, ...], reason: str
) -> None:
    files = {
        f"{d}.dist-info/METADATA": core_metadata(d.split("-")[0], "1.0").encode()
        for d in dist_infos
    }
    path = write_wheel_archive(
        tmp_path / "foo-1.0-py3-none-any.whl", files, f"{dist_infos[0]}.dist-info"
    )
    with pytest.raises(DistributionError, match=re.escape(reason)):
        read_distribution(path)


def test_wheel_single_dist_info_with_unnormalized_name(tmp_path: Path) -> None:
    path = write_wheel_archive(
        tmp_path / "foo_bar-1.0-py3-none-any.whl",
        {"Foo.Bar-1.0.dist-info/METADATA": core_metadata("Foo.Bar", "1.0").encode()},
        "Foo.Bar-1.0.dist-info",
    )
    assert read(path).dist.project == "foo-bar"


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"foo/__init__.py": b""}, r"no \*\.dist-info/METADATA"),
        ({"foo-1.0.dist-info/WHEEL": b""}, r"no \*\.dist-info/METADATA"),
        ({"x/foo-1.0.dist-info/METADATA": b"Name: foo\n"}, r"no \*\.dist-info/METADATA"),
        (
            {"foo-1.0.dist-info/METADATA": b"", "Foo-1.0.dist-info/METADATA": b""},
            "more than one .dist-info directory",
        ),
    ],
)
def test_wheel_without_usable_metadata(
    tmp_path: Path, files: dict[str, bytes], reason: str
) -> None:
    path = write_wheel_archive(tmp_path / "foo-1.0-py3-none-any.whl", files, "foo-1.0.dist-info")
    with pytest.raises(DistributionError, match=reason) as info:
        read_distribution(path)
    assert not isinstance(info.value, NotADistributionError)


def test_egg_without_pkg_info(tmp_path: Path) -> None:
    path = tmp_path / "foo-1.0-py3.11.egg"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("foo/__init__.py", "")
    with pytest.raises(DistributionError, match="no EGG-INFO/PKG-INFO") as info:
        read_distribution(path)
    assert not isinstance(info.value, NotADistributionError)


# -- not a distribution ---------------------------------------------------------


@pytest.mark.parametrize("filename", ["nginx-1.2.3.tar.gz", "openssl-1.1.1w.tar.xz"])
def test_plain_tarball(tmp_path: Path, filename: str) -> None:
    path = make_plain_tarball(tmp_path, filename)
    with pytest.raises(NotADistributionError, match="no PKG-INFO"):
        read_distribution(path)


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_only_nested_pkg_info(tmp_path: Path, fmt: str) -> None:
    members = [("foo-1.0/foo.egg-info/PKG-INFO", core_metadata("foo", "1.0").encode())]
    with pytest.raises(NotADistributionError):
        read_distribution(sdist_with(tmp_path, f"foo-1.0.{fmt}", members))


def test_pkg_info_at_the_archive_root_is_not_an_sdists(tmp_path: Path) -> None:
    members = [("PKG-INFO", core_metadata("foo", "1.0").encode())]
    with pytest.raises(NotADistributionError):
        read_distribution(sdist_with(tmp_path, "foo-1.0.tar.gz", members))


def test_plain_zip(tmp_path: Path) -> None:
    path = sdist_with(tmp_path, "jquery-3.7.1.zip", [("jquery/jquery.js", b"//")])
    with pytest.raises(NotADistributionError, match="no PKG-INFO"):
        read_distribution(path)


@pytest.mark.parametrize("filename", ["foo-1.0.rpm", "foo-1.0.tar", "foo-1.0.TAR.GZ", "README"])
def test_unknown_suffix(tmp_path: Path, filename: str) -> None:
    path = tmp_path / filename
    path.write_bytes(b"whatever")
    with pytest.raises(NotADistributionError, match="unknown file type"):
        read_distribution(path)


# -- bad input --------------------------------------------------------------------

ALL_NAMES = [
    "foo-1.0-py3-none-any.whl",
    "foo-1.0-py3.11.egg",
    *(f"foo-1.0.{fmt}" for fmt in SDIST_FORMATS),
]


def assert_broken(path: Path, **kwargs: Any) -> DistributionError:
    """read_distribution raises DistributionError, but not NotADistributionError."""
    with pytest.raises(DistributionError) as info:
        read_distribution(path, **kwargs)
    assert not isinstance(info.value, NotADistributionError)
    assert info.value.path == str(path)
    return info.value


@pytest.mark.parametrize("filename", ALL_NAMES)
def test_empty_file(tmp_path: Path, filename: str) -> None:
    path = tmp_path / filename
    path.write_bytes(b"")
    assert_broken(path)


@pytest.mark.parametrize("filename", ALL_NAMES)
@pytest.mark.parametrize(
    "garbage",
    [b"<html><body>404 Not Found</body></html>\n", random.Random(1).randbytes(5000), b"\x1f"],
)
def test_garbage(tmp_path: Path, filename: str, garbage: bytes) -> None:
    path = tmp_path / filename
    path.write_bytes(garbage)
    assert_broken(path)


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.bz2", "tar.xz"])
def test_wrong_compression(tmp_path: Path, fmt: str) -> None:
    path = make_sdist(tmp_path, "foo", "1.0", "tgz" if fmt != "tar.gz" else "tar.xz")
    assert_broken(path.rename(tmp_path / f"foo-1.0.{fmt}"))


def make_any(directory: Path, filename: str, payload: bytes = b"") -> Path:
    if filename.endswith(".whl"):
        return make_wheel(directory, "foo", "1.0", extra_files={"foo/data.bin": payload})
    if filename.endswith(".egg"):
        path = make_egg(directory, "foo", "1.0", filename=filename)
        if payload:
            with zipfile.ZipFile(path, "a") as zf:
                zf.writestr("foo/data.bin", payload)
        return path
    fmt = filename.removeprefix("foo-1.0.")
    return make_sdist(directory, "foo", "1.0", fmt, payload=payload)


def truncate(good: Path, directory: Path, keep: float) -> Path:
    directory.mkdir()
    if keep == -1:  # just the last byte missing
        bad = directory / good.name
        bad.write_bytes(good.read_bytes()[:-1])
        return bad
    return make_truncated(good, directory, keep)


KEEPS = [0.1, 0.5, 0.9, 0.999, -1]


@pytest.mark.parametrize("filename", ALL_NAMES)
@pytest.mark.parametrize("keep", KEEPS)
def test_truncated(tmp_path: Path, filename: str, keep: float) -> None:
    good = make_any(tmp_path, filename, RANDOM_PAYLOAD)
    read(good)
    assert_broken(truncate(good, tmp_path / "bad", keep))


@pytest.mark.parametrize("fmt", TAR_FORMATS)
@pytest.mark.parametrize("keep", KEEPS)
def test_truncated_pkg_info_last(tmp_path: Path, fmt: str, keep: float) -> None:
    good = make_sdist(tmp_path, "foo", "1.0", fmt, payload=RANDOM_PAYLOAD, pkg_info_last=True)
    read(good)
    assert_broken(truncate(good, tmp_path / "bad", keep))


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz", "tar.bz2"])
def test_truncation_after_the_metadata_is_noticed(tmp_path: Path, fmt: str) -> None:
    # PKG-INFO and pyproject.toml come first, so reading stops early; the cut
    # end must still be noticed.
    good = make_sdist(tmp_path, "foo", "1.0", fmt, payload=RANDOM_PAYLOAD * 4)
    data = good.read_bytes()
    for cut in (1, 2, 4, 8, 100, len(data) // 3):
        good.write_bytes(data[:-cut])
        error = assert_broken(good)
        if fmt != "tar.bz2":  # bzip2 cannot decompress a partial block at all
            assert "does not end properly" in error.reason


def test_directory_named_like_a_distribution(tmp_path: Path) -> None:
    path = tmp_path / "foo-1.0.tar.gz"
    path.mkdir()
    assert "not a regular file" in assert_broken(path).reason
    # a caller's stat() saying "regular file" cannot fool it either
    regular = tmp_path / "regular"
    regular.write_bytes(b"")
    fake = regular.stat()
    assert "Is a directory" in assert_broken(path, stat=fake).reason


def test_missing_file(tmp_path: Path) -> None:
    assert "No such file" in assert_broken(tmp_path / "foo-1.0.tar.gz").reason


def test_fifo_is_not_opened(tmp_path: Path) -> None:
    path = tmp_path / "foo-1.0.tar.gz"
    os.mkfifo(path)
    assert "not a regular file" in assert_broken(path).reason


# -- stat, hashing, single pass ---------------------------------------------------


def fake_stat(path: Path, **changes: int) -> os.stat_result:
    st = path.stat()
    extra = {"st_mtime_ns": st.st_mtime_ns, **changes}
    fields = list(st[:10])
    if "st_size" in changes:
        fields[6] = changes.pop("st_size")
        extra.pop("st_size")
    return os.stat_result(fields, extra)


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_stat_argument_is_used(tmp_path: Path, fmt: str) -> None:
    path = make_sdist(tmp_path, "foo", "1.0", fmt)
    st = fake_stat(path, st_mtime_ns=1_234_567_890_123_456_789)
    dist = read_distribution(path, stat=st).dist
    assert dist.mtime_ns == 1_234_567_890_123_456_789
    assert dist.size == path.stat().st_size
    assert dist.sha256 == sha256_of(path)


@pytest.mark.parametrize("filename", ALL_NAMES)
def test_file_changed_since_stat(tmp_path: Path, filename: str) -> None:
    path = make_any(tmp_path, filename)
    st = fake_stat(path, st_size=path.stat().st_size + 10)
    assert "changed while it was read" in assert_broken(path, stat=st).reason


@pytest.mark.parametrize("filename", ALL_NAMES)
def test_file_grew_since_stat(tmp_path: Path, filename: str) -> None:
    # read to the end all the same, in more than one read
    path = make_any(tmp_path, filename, RANDOM_PAYLOAD)
    size = path.stat().st_size
    error = assert_broken(path, stat=fake_stat(path, st_size=10))
    assert f"(10 bytes listed, {size} read)" in error.reason


@pytest.mark.parametrize("filename", ALL_NAMES)
def test_sha256_of_a_bigger_file(tmp_path: Path, filename: str) -> None:
    # More than one hashing chunk (1 MiB), so chunking is exercised.
    path = make_any(tmp_path, filename, BIG_PAYLOAD)
    assert path.stat().st_size > metadata.CHUNK_SIZE
    read(path)


def _bytes_read() -> int:
    """What this process has read so far through read(2) (``rchar``, Linux)."""
    with open("/proc/self/io") as io_stats:
        return next(int(line.split()[1]) for line in io_stats if line.startswith("rchar:"))


@pytest.mark.parametrize("fmt", TAR_FORMATS)
@pytest.mark.parametrize("layout", ["pkg_info_first", "pkg_info_last", "no_pyproject"])
def test_tar_is_read_once(tmp_path: Path, fmt: str, layout: str) -> None:
    path = make_sdist(
        tmp_path,
        "foo",
        "1.0",
        fmt,
        payload=BIG_PAYLOAD,
        pkg_info_last=layout == "pkg_info_last",
        build_requires=None if layout == "no_pyproject" else ("tinybackend",),
    )
    size = path.stat().st_size
    before = _bytes_read()
    dist = read_distribution(path).dist
    read = _bytes_read() - before
    assert dist.sha256 == sha256_of(path)
    # Hashing and reading the metadata take one pass: each byte read once.
    assert size <= read < size + 64 * 1024, (size, read)
    assert dist.build_requires == (None if layout == "no_pyproject" else ("tinybackend",))


# -- parse_yank -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("foo==1.0", ("foo", "1", "")),
        ("Foo.Bar_baz==1.0.0", ("foo-bar-baz", "1", "")),
        ("foo==1.2.3: broken on Windows", ("foo", "1.2.3", "broken on Windows")),
        ("  foo  ==  2.0rc1  :  reason: with colon  ", ("foo", "2rc1", "reason: with colon")),
        ("foo==1.0:", ("foo", "1", "")),
        ("foo==1!2.0.post1+local.7", ("foo", "1!2.post1+local.7", "")),
        ("foo==1.0: <b>&</b>", ("foo", "1", "<b>&</b>")),
    ],
)
def test_parse_yank(spec: str, expected: tuple[str, str, str]) -> None:
    assert parse_yank(spec) == expected


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("", "expected NAME==VERSION"),
        ("foo", "expected NAME==VERSION"),
        ("foo=1.0", "expected NAME==VERSION"),
        ("foo>=1.0", "expected NAME==VERSION"),
        ("==1.0", "expected NAME==VERSION"),
        ("foo==", "expected NAME==VERSION"),
        (": reason", "expected NAME==VERSION"),
        ("foo===1.0", "invalid version"),
        ("foo==1.*", "invalid version"),
        ("foo==banana", "invalid version"),
        ("foo bar==1.0", "invalid project name"),
        ("-foo==1.0", "invalid project name"),
        ("foo/../x==1.0", "invalid project name"),
    ],
)
def test_parse_yank_rejects(spec: str, reason: str) -> None:
    with pytest.raises(YankSpecError, match=reason) as info:
        parse_yank(spec)
    assert info.value.spec == spec


@pytest.mark.parametrize(
    ("filename", "meta", "ok"),
    [
        ("basketweaver-0.1.3-r0.tar.gz", ("basketweaver", "0.1.3.post0"), True),
        ("basketweaver-0.1.3-r0.tar.gz", ("basketweaver", "0.1.3-r0"), True),
        ("zope.foo-1.0-1.zip", ("zope.foo", "1.0.post1"), True),
        ("basketweaver-0.1.3-r0.tar.gz", ("basketweaver", "0.1.3"), False),
        ("basketweaver-0.1.3-r0.tar.gz", ("basket", "0.1.3"), False),
        ("foo-1.0.tar.gz", ("foo-1", "0"), False),
    ],
)
def test_legacy_sdist_names_pip_accepts(
    tmp_path: Path, filename: str, meta: tuple[str, str], ok: bool
) -> None:
    path = sdist_with(tmp_path, filename, sdist_members(*meta))
    if ok:
        dist = read(path).dist
        assert (dist.name, dist.version) == meta
    else:
        with pytest.raises(DistributionError, match=r"invalid file name|metadata says"):
            read_distribution(path)
