"""The pages of the index, read back the way installers and browsers read them."""

from __future__ import annotations

import json
import random
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from buildout.privateindex.dists.model import DistFile, Kind
from buildout.privateindex.engine.render import (
    HTML_TYPE,
    HTML_V1_TYPE,
    JSON_TYPE,
    PageFile,
    humanize_size,
    project_html,
    project_json,
    root_html,
    root_json,
    upload_time,
)

PAGE_URL = "https://index.example.invalid/simple/foo-bar/"
NASTY = """bad <build> & "double" 'single'"""
MTIME_NS = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456789Z


def sha(char: str) -> str:
    return char * 64


def make_dist(filename: str, version: str, **kwargs: Any) -> DistFile:
    values: dict[str, Any] = {
        "filename": filename,
        "project": "foo-bar",
        "name": "Foo.Bar",
        "version": version,
        "kind": Kind.SDIST,
        "size": 1234,
        "sha256": sha("a"),
        "mtime_ns": MTIME_NS,
    }
    values.update(kwargs)
    return DistFile(**values)


def sample_files(base: str = "") -> list[PageFile]:
    """A wheel with metadata, a yanked sdist, an egg, and a yanked-without-reason sdist."""
    wheel = make_dist(
        "foo_bar-1.0-py3-none-any.whl",
        "1.0",
        kind=Kind.WHEEL,
        sha256=sha("b"),
        requires_python="<4,>=3.8",
        metadata_sha256=sha("c"),
        summary=NASTY,
        size=2048,
    )
    sdist = make_dist("foo_bar-1.0.tar.gz", "1.0", sha256=sha("d"), requires_python=">=3.8")
    egg = make_dist("Foo.Bar-0.9-py3.11.egg", "0.9", kind=Kind.EGG, sha256=sha("e"))
    old = make_dist("foo_bar-0.1.zip", "0.1", sha256=sha("f"), mtime_ns=0)
    return [
        PageFile(wheel, base + wheel.filename),
        PageFile(sdist, base + sdist.filename, yanked=NASTY),
        PageFile(egg, base + egg.filename),
        PageFile(old, base + old.filename, yanked=""),
    ]


def pip_links(content: str, content_type: str, url: str = PAGE_URL) -> list[Any]:
    """The links pip 26's own collector finds on a page."""
    from pip._internal.index.collector import IndexContent, parse_links

    page = IndexContent(
        content.encode("utf-8"), content_type, "utf-8", url, cache_link_parsing=False
    )
    return list(parse_links(page))


class AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.meta: list[dict[str, str | None]] = []
        self.title = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append((dict(attrs), ""))
        elif tag == "meta":
            self.meta.append(dict(attrs))
        self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "a":
            attrs, text = self.anchors[-1]
            self.anchors[-1] = (attrs, text + data)
        elif self._in == "title":
            self.title += data


def parse_html(content: str) -> AnchorParser:
    parser = AnchorParser()
    parser.feed(content)
    parser.close()
    return parser


@pytest.mark.parametrize("base", ["", "https://files.example.invalid/simple/foo-bar/"])
def test_project_html_as_pip_reads_it(base: str) -> None:
    files = sample_files(base)
    links = pip_links(project_html("Foo.Bar", files), HTML_TYPE)
    expected = sorted(files, key=lambda f: f.dist.filename)
    assert [link.filename for link in links] == [f.dist.filename for f in expected]
    for link, page_file in zip(links, expected, strict=True):
        dist = page_file.dist
        absolute = (base or PAGE_URL) + dist.filename
        assert link.url == f"{absolute}#sha256={dist.sha256}"
        assert link.url_without_fragment == absolute
        assert (link.hash_name, link.hash) == ("sha256", dist.sha256)
        assert link.requires_python == dist.requires_python
        assert link.yanked_reason == page_file.yanked
        assert link.is_yanked is (page_file.yanked is not None)
        if dist.metadata_sha256 is None:
            assert link.metadata_file_data is None
            assert link.metadata_link() is None
        else:
            assert link.metadata_file_data.hashes == {"sha256": dist.metadata_sha256}
            assert link.metadata_link().url == absolute + ".metadata"


def test_project_html_attributes_unescape_to_the_original() -> None:
    files = sample_files()
    content = project_html("Foo<&>Bar", files)
    parsed = parse_html(content)
    assert parsed.title == "Links for Foo<&>Bar"
    assert {"name": "pypi:repository-version", "content": "1.1"} in parsed.meta
    assert content.startswith("<!DOCTYPE html>")
    assert "Foo<&>Bar" not in content
    assert 'data-requires-python="&lt;4,&gt;=3.8"' in content
    assert NASTY not in content
    by_name = {text: attrs for attrs, text in parsed.anchors}
    assert set(by_name) == {f.dist.filename for f in files}
    for page_file in files:
        dist = page_file.dist
        attrs = by_name[dist.filename]
        expected: dict[str, str | None] = {"href": f"{page_file.url}#sha256={dist.sha256}"}
        if dist.requires_python:
            expected["data-requires-python"] = dist.requires_python
        if dist.metadata_sha256:
            expected["data-core-metadata"] = f"sha256={dist.metadata_sha256}"
            expected["data-dist-info-metadata"] = f"sha256={dist.metadata_sha256}"
        if page_file.yanked is not None:
            expected["data-yanked"] = page_file.yanked
        assert attrs == expected


def test_project_html_escapes_urls() -> None:
    dist = make_dist("foo_bar-1.0.tar.gz", "1.0")
    url = """https://h.invalid/p?a=1&b="2"&c='3'<x>"""
    parsed = parse_html(project_html("foo-bar", [PageFile(dist, url)]))
    assert parsed.anchors == [({"href": f"{url}#sha256={dist.sha256}"}, dist.filename)]


def test_project_json_is_pep_691_with_pep_700_fields() -> None:
    data = json.loads(project_json("Foo.Bar", sample_files()))
    assert data["meta"] == {"api-version": "1.1"}
    assert data["name"] == "foo-bar"
    assert data["versions"] == ["0.1", "0.9", "1.0"]
    files = {entry["filename"]: entry for entry in data["files"]}
    assert [entry["filename"] for entry in data["files"]] == sorted(files)
    wheel = files["foo_bar-1.0-py3-none-any.whl"]
    assert wheel == {
        "filename": "foo_bar-1.0-py3-none-any.whl",
        "url": "foo_bar-1.0-py3-none-any.whl",
        "hashes": {"sha256": sha("b")},
        "requires-python": "<4,>=3.8",
        "core-metadata": {"sha256": sha("c")},
        "dist-info-metadata": {"sha256": sha("c")},
        "yanked": False,
        "size": 2048,
        "upload-time": "2023-11-14T22:13:20.123456Z",
    }
    assert files["foo_bar-1.0.tar.gz"]["yanked"] == NASTY
    assert files["foo_bar-1.0.tar.gz"]["core-metadata"] is False
    assert files["foo_bar-1.0.tar.gz"]["dist-info-metadata"] is False
    assert files["foo_bar-0.1.zip"]["yanked"] is True
    assert files["foo_bar-0.1.zip"]["upload-time"] == "1970-01-01T00:00:00.000000Z"
    assert "requires-python" not in files["Foo.Bar-0.9-py3.11.egg"]
    for entry in data["files"]:
        assert "#" not in entry["url"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["upload-time"])


def test_project_json_matches_html_as_pip_reads_them() -> None:
    files = sample_files()
    from_html = pip_links(project_html("foo-bar", files), HTML_TYPE)
    from_json = pip_links(project_json("foo-bar", files), JSON_TYPE)

    def seen(link: Any) -> tuple[Any, ...]:
        return (
            link.filename,
            link.url_without_fragment,
            link.hash_name,
            link.hash,
            link.requires_python,
            link.yanked_reason,
            link.metadata_file_data,
        )

    assert [seen(link) for link in from_json] == [seen(link) for link in from_html]
    times = {link.filename: link.upload_time for link in from_json}
    moment = times["foo_bar-1.0.tar.gz"]
    assert moment.isoformat() == "2023-11-14T22:13:20.123456+00:00"


def test_json_versions_are_distinct_and_in_pep_440_order() -> None:
    versions = ["1.10", "1.9", "2.0rc1", "2.0", "1.0.0", "1.0", "1.9", "2.0.post1"]
    files = [
        PageFile(make_dist(f"foo_bar-{v}-{i}.tar.gz", v), f"f{i}") for i, v in enumerate(versions)
    ]
    data = json.loads(project_json("foo-bar", files))
    assert data["versions"] == ["1.0", "1.9", "1.10", "2.0rc1", "2.0", "2.0.post1"]
    assert len(data["files"]) == len(versions)


def test_output_does_not_depend_on_input_order() -> None:
    files = sample_files()
    names = ["Zope.Interface", "foo-bar", "a_b", "A.B"]
    rng = random.Random(4)
    first = (
        project_html("foo-bar", files),
        project_json("foo-bar", files),
        root_html(names),
        root_json(names),
    )
    for _ in range(5):
        rng.shuffle(files)
        rng.shuffle(names)
        again = (
            project_html("foo-bar", files),
            project_json("foo-bar", files),
            root_html(names),
            root_json(names),
        )
        assert [page.encode("utf-8") for page in again] == [page.encode("utf-8") for page in first]


def test_root_pages_list_normalized_names_sorted() -> None:
    names = ["Zope.Interface", "foo_bar", "Foo.Bar", "A", "a-b"]
    parsed = parse_html(root_html(names))
    expected = ["a", "a-b", "foo-bar", "zope-interface"]
    assert parsed.anchors == [({"href": f"{n}/"}, n) for n in expected]
    assert {"name": "pypi:repository-version", "content": "1.1"} in parsed.meta
    data = json.loads(root_json(names))
    assert data == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": name} for name in expected],
    }
    links = pip_links(root_html(names), HTML_TYPE, "https://h.invalid/simple/")
    assert [link.url for link in links] == [f"https://h.invalid/simple/{n}/" for n in expected]


def test_empty_pages() -> None:
    assert parse_html(project_html("foo", [])).anchors == []
    assert json.loads(project_json("foo", []))["files"] == []
    assert json.loads(project_json("foo", []))["versions"] == []
    assert json.loads(root_json([]))["projects"] == []


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (12_600, "12.3 KiB"),
        (1024 * 1024 - 1, "1.0 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (2 * 1024**7, "2048.0 EiB"),
    ],
)
def test_humanize_size(size: int, text: str) -> None:
    assert humanize_size(size) == text


def test_upload_time() -> None:
    assert upload_time(MTIME_NS) == "2023-11-14T22:13:20.123456Z"
    assert upload_time(0) == "1970-01-01T00:00:00.000000Z"
    assert upload_time(-1) == "1969-12-31T23:59:59.999999Z"


def test_media_types() -> None:
    assert HTML_TYPE == "text/html"
    assert JSON_TYPE == "application/vnd.pypi.simple.v1+json"
    assert HTML_V1_TYPE == "application/vnd.pypi.simple.v1+html"
    # pip parses the v1 HTML media type as HTML.
    files = sample_files()
    links = pip_links(project_html("foo-bar", files), HTML_V1_TYPE)
    assert len(links) == len(files)
