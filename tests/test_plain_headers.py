"""Plain core metadata headers are read without the email parser, to the same values.

``used_values`` gives the fields read (Name, Version, Requires-Python,
Summary) of a plain header block itself; it must give what
``packaging.metadata.parse_email`` gives (the first value of a field given
twice) and, whitespace aside, what ``pkginfo`` gives: two independent
parsers as oracles, on many varied header blocks.
"""

from __future__ import annotations

import random
from pathlib import Path

import pkginfo
import pytest
from packaging.metadata import parse_email

from buildout.privateindex.dists.coreheaders import USED_FIELDS, used_part, used_values
from buildout.privateindex.dists.metadata import read_distribution
from buildout.privateindex.dists.safetext import without_controls
from buildout.privateindex.errors import DistributionError
from distfactory import write_wheel_archive

NAMES = {"name": "Name", "version": "Version", "requires-python": "Requires-Python"}
NAMES["summary"] = "Summary"
OTHER_FIELDS = ["Classifier", "X-Name", "License", "Description-Content-Type", "Requires-Dist"]
VALUES = [
    "foo", "1.0", ">=3.8", "", " ", "\t", "  lead and trail  ", "one: two", "\u00fcber caf\u00e9",
    "\u65e5\u672c", "x" * 300, "a\x0bb", "a\x85b", "a\u2028b", "tab\tinside", "UNKNOWN2",
]  # fmt: skip
LINE_ENDS = ["\n", "\r\n", "\r"]
FOLDS = [" ", "\t", "   ", " \t"]


def first_values(text: str) -> dict[str, str]:
    """The used fields parse_email gives, the first of each (as read_distribution takes it)."""
    raw, unparsed = parse_email(text)
    fields = dict(raw)
    out = {}
    for field in USED_FIELDS:
        value = fields.get(field.replace("-", "_"))
        if isinstance(value, str):
            out[field] = value
        elif unparsed.get(field):
            out[field] = unparsed[field][0]
    return out


def random_block(rng: random.Random, metadata_version: bool) -> str:
    """A header block of plain fields, a blank line and a body, in random shapes."""
    nl = rng.choice(LINE_ENDS)

    def end() -> str:
        return rng.choice(LINE_ENDS) if rng.random() < 0.2 else nl

    lines = [f"Metadata-Version: 2.1{end()}"] if metadata_version else []
    for _ in range(rng.randrange(12)):
        if rng.random() < 0.7:
            name = NAMES[rng.choice(USED_FIELDS)]
            name = rng.choice([name, name.lower(), name.upper(), name.swapcase()])
        else:
            name = rng.choice(OTHER_FIELDS)
        sep = rng.choice([":", ": ", ":\t", ":  \t "])
        line = f"{name}{sep}{rng.choice(VALUES)}{end()}"
        for _ in range(rng.choice([0, 0, 0, 1, 2])):  # folded lines
            line += rng.choice(FOLDS) + rng.choice(VALUES) + end()
        lines.append(line)
    body = rng.choice(["", "Name: evil\nVersion: 9\n", "A long description.\n" * 200])
    return "".join(lines) + end() + body


def normalized(value: str | None) -> str | None:
    return None if value is None else " ".join(value.split())


def test_plain_values_are_the_email_parsers_and_pkginfos() -> None:
    rng = random.Random(5)
    plain = 0
    for i in range(3000):
        text = random_block(rng, metadata_version=i % 2 == 0)
        part, values = used_values(text)
        assert part == used_part(text)
        assert first_values(part) == first_values(text), repr(text)
        if values is None:
            continue
        plain += 1
        assert values == first_values(text), repr(text)
        if text.startswith("Metadata-Version: 2.1"):
            dist = pkginfo.Distribution()
            dist.parse(text)
            attrs = ("name", "version", "requires_python", "summary")
            for field, attr in zip(USED_FIELDS, attrs, strict=True):
                assert normalized(values.get(field)) == normalized(getattr(dist, attr)), repr(text)
    assert plain > 2000  # most of them are plain


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Name: foo\nVersion: 1.0\n\nBody", {"name": "foo", "version": "1.0"}),
        ("Name:\tfoo \nSummary: one\r\n\ttwo\r\n  three\r\n\r\n", {"name": "foo ", "summary": "one\r\n\ttwo\r\n  three"}),
        ("NAME: a\nname: b\nSummary:\n\n", {"name": "a", "summary": ""}),
        ("Summary:\n two\n\n", {"summary": "\n two"}),
        ("Name: foo\rVersion: 1\r\r", {"name": "foo", "version": "1"}),
        ("\ufeffName: foo\n\n", None),  # a BOM not taken off: not a plain field
        ("Name: foo\nVersion: 1.0\n", None),  # no blank line
        ("Name: foo\nContent-Type: text/plain\n\n", None),
        ("Name: foo\nSummary : x\n\n", None),
        ("Name: foo\nnot a field\n\n", None),
        ("From nobody\nName: foo\n\n", None),
    ],
)  # fmt: skip
def test_used_values(text: str, values: dict[str, str] | None) -> None:
    assert used_values(text)[1] == values
    if values is not None:
        assert values == first_values(text)


def _one_line(value: str | None) -> str:
    return " ".join(without_controls(" ".join((value or "").split())).split())


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_read_distribution_gives_the_email_parsers_values(
    tmp_path: Path, bom: bytes, encoding: str
) -> None:
    rng = random.Random(f"{bom!r}{encoding}")
    for i in range(60):
        nl = rng.choice(LINE_ENDS)
        head = rng.choice(["Name: foo", "name:\tfoo ", "NAME:  foo"]) + nl
        head += rng.choice(["Version: 1.0", "version:1.0", "VERSION: \t1.0"]) + nl
        head += random_block(rng, metadata_version=False)
        data = bom + head.encode(encoding, "replace")
        (tmp_path / str(i)).mkdir()
        path = write_wheel_archive(
            tmp_path / str(i) / "foo-1.0-py3-none-any.whl",
            {"foo-1.0.dist-info/METADATA": data},
            "foo-1.0.dist-info",
        )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        expected = first_values(text)
        if expected.get("name", "").strip() != "foo":  # a BOM read as latin-1
            with pytest.raises(DistributionError, match="no Name"):
                read_distribution(path)
            continue
        if len(_one_line(expected.get("requires-python"))) > 1000:
            continue
        dist = read_distribution(path).dist
        assert (dist.name, dist.version) == ("foo", "1.0")
        assert dist.requires_python == (_one_line(expected.get("requires-python")) or None)
        summary = _one_line(expected.get("summary"))
        assert dist.summary == (summary if len(summary) <= 512 else dist.summary), repr(text)
        assert len(dist.summary) <= 512
