"""The pages for people: the landing page's rows and the project pages.

Rendered directly here (escaping, order, sizes, the Content-Security-Policy)
and through real builds (written, rewritten and removed with the project's
simple pages).  tests/test_browser.py loads them in a real browser.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import re
from html import escape
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index
from buildout.privateindex.engine.landing import BLOCK, landing_html, landing_row, project_page
from buildout.privateindex.engine.render import PageFile, humanize_size
from buildout.privateindex.engine.state import IndexState
from buildout.privateindex.engine.verify import verify_index
from distfactory import make_sdist, make_tinybackend_wheel, make_wheel
from indexcheck import check_index, hrefs, page_bytes
from test_render import NASTY, make_dist, parse_html, sample_files

SCRIPT = """<script>alert("x&y")</script> 'it'"""
ESCAPED = "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt; &#x27;it&#x27;"
OLD = 1_000_000_000


def rows(content: str) -> list[list[str]]:
    """The landing page's table rows: the text of each cell."""
    body = "".join(re.findall(r"<tbody>(.*?)</tbody>", content, re.DOTALL))
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)
    ]


def inline(content: str, tag: str) -> str:
    return content.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# -- rendering -----------------------------------------------------------------------


def test_landing_page_is_one_row_per_project() -> None:
    evil = make_dist("evil-2.0.tar.gz", "2.0", project="evil", name="Evil", summary=SCRIPT, size=5)
    files = sample_files()
    content = landing_html({"Foo.Bar": files, "evil": [PageFile(evil, evil.filename)]})
    total = sum(f.dist.size for f in files) + 5
    assert f"2 projects, 5 files, {humanize_size(total)} in total." in content
    assert rows(content) == [
        ["Evil", "2.0", "1", "5 B", ESCAPED],
        # 1.0 is yanked (the sdist of it), but its wheel is not: 1.0 is the latest.
        ["Foo.Bar", "1.0", "4", humanize_size(total - 5), escape(NASTY)],
    ]
    assert content.count("<script") == 1 and ESCAPED in content
    assert NASTY not in content
    parsed = parse_html(content)
    assert parsed.title == "Private package index"
    assert [a["href"] for a, _ in parsed.anchors] == [
        "simple/",
        "projects/evil.html",
        "projects/foo-bar.html",
    ]
    assert '<tr id="evil">' in content and '<tr id="foo-bar">' in content
    # The filter box is hidden until the script shows it: without JavaScript
    # the page is a plain table.
    assert re.search(r'<input type="search" id="filter"[^>]* hidden>', content)


def test_latest_version_prefers_final_releases_that_are_not_yanked() -> None:
    def latest(*specs: tuple[str, str | None]) -> str:
        files = [PageFile(make_dist(f"f-{v}.tar.gz", v), f"f-{v}.tar.gz", y) for v, y in specs]
        return rows(f"<tbody>{landing_row('foo-bar', files)}</tbody>")[0][1]

    assert latest(("1.0", None), ("2.0rc1", None)) == "1.0"
    assert latest(("1.0", None), ("1.1", "")) == "1.0"
    assert latest(("1.0", "broken"), ("2.0b1", None)) == "2.0b1"  # nothing final: newest
    assert latest(("1.0", None), ("1.10", None), ("1.9", None)) == "1.10"
    assert latest(("banana", None), ("0.1", None)) == "0.1"


def test_project_page_lists_versions_and_files() -> None:
    content = project_page("foo-bar", sample_files())
    parsed = parse_html(content)
    assert parsed.title == "Foo.Bar - Private package index"
    assert not [m for m in parsed.meta if m.get("name") == "pypi:repository-version"]
    assert content.count("<script") == 0
    # Newest version first; the files of a version by name, under one version cell.
    table = rows(content)
    assert table == [
        [
            "1.0",
            "foo_bar-1.0-py3-none-any.whl",
            "2.0 KiB",
            "&lt;4,&gt;=3.8",
            "2023-11-14 22:13:20",
            "",
        ],
        [
            "foo_bar-1.0.tar.gz",
            "1.2 KiB",
            "&gt;=3.8",
            "2023-11-14 22:13:20",
            "yanked: " + escape(NASTY),
        ],
        ["0.9", "Foo.Bar-0.9-py3.11.egg", "1.2 KiB", "", "2023-11-14 22:13:20", ""],
        ["0.1", "foo_bar-0.1.zip", "1.2 KiB", "", "1970-01-01 00:00:00", "yanked"],
    ]
    assert '<td rowspan="2">1.0</td>' in content
    assert '<time datetime="2023-11-14T22:13:20.123456Z">' in content
    assert [a["href"] for a, _ in parsed.anchors] == [
        "../simple/foo-bar/",
        "../simple/foo-bar/foo_bar-1.0-py3-none-any.whl",
        "../simple/foo-bar/foo_bar-1.0.tar.gz",
        "../simple/foo-bar/Foo.Bar-0.9-py3.11.egg",
        "../simple/foo-bar/foo_bar-0.1.zip",
    ]
    assert "Latest version 1.0; 3 versions, 4 files, 5.6 KiB." in content
    assert NASTY not in content


def test_project_page_shows_the_upstream_upload_time_when_known() -> None:
    dist = make_dist("foo_bar-1.0.tar.gz", "1.0")
    content = project_page("foo-bar", [PageFile(dist, dist.filename, upload_time_ns=10**18)])
    assert '<time datetime="2001-09-09T01:46:40.000000Z">2001-09-09 01:46:40</time>' in content


def test_project_page_keeps_absolute_links_and_escapes_urls() -> None:
    base = "https://files.example.invalid/simple/foo-bar/"
    content = project_page("foo-bar", sample_files(base))
    assert f'href="{base}foo_bar-0.1.zip"' in content
    odd = make_dist("foo_bar-1.0+a&b.tar.gz", "1.0+a&b", summary="x\x1b[31my\x00z")
    content = project_page("foo-bar", [PageFile(odd, "foo_bar-1.0%2Ba%26b.tar.gz")])
    assert 'href="../simple/foo-bar/foo_bar-1.0%2Ba%26b.tar.gz"' in content
    assert ">foo_bar-1.0+a&amp;b.tar.gz</a>" in content
    assert "x[31myz" in content and "\x1b" not in content and "\x00" not in content


def test_pages_need_nothing_from_the_network() -> None:
    """Inline style and script only, each allowed by its hash and nothing else."""
    landing = landing_html({"foo-bar": sample_files()})
    project = project_page("foo-bar", sample_files())
    for content, script in ((landing, True), (project, False)):
        assert "<link" not in content and " src=" not in content and "@import" not in content
        assert (
            "http:" not in content
            and "https:" not in content
            and "//" not in inline(content, "style")
        )
        policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', content)
        assert policy is not None
        directives = dict(d.strip().split(" ", 1) for d in policy.group(1).split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["style-src"] == csp_hash(inline(content, "style"))
        if script:
            assert directives["script-src"] == csp_hash(inline(content, "script"))
        else:
            assert "script-src" not in directives
        # The policy comes before what it allows.
        assert content.index("Content-Security-Policy") < content.index("<style>")


def test_output_does_not_depend_on_input_order() -> None:
    files = sample_files()
    other = make_dist("zope.interface-5.0.tar.gz", "5.0", project="zope-interface")
    zope = [PageFile(other, other.filename)]
    first = (
        landing_html({"foo-bar": files, "zope-interface": zope}),
        project_page("foo-bar", files),
    )
    rng = random.Random(10)
    for _ in range(5):
        shuffled = rng.sample(files, len(files))
        again = (
            landing_html({"zope-interface": zope, "Foo.Bar": shuffled}),
            project_page("foo-bar", shuffled),
        )
        assert again == first


@pytest.mark.parametrize("n", [0, 1, BLOCK, BLOCK + 1, 2 * BLOCK + 50])
def test_rows_go_in_blocks_laid_out_when_seen(n: int) -> None:
    files = {
        f"p{i:03d}": [PageFile(d, d.filename)]
        for i in range(n)
        for d in [make_dist(f"p{i:03d}-1.0.tar.gz", "1.0", project=f"p{i:03d}", name=f"p{i:03d}")]
    }
    content = landing_html(files)
    blocks = re.findall(
        r'<div class="b"><table><tbody>\n(.*?)</tbody></table></div>\n', content, re.DOTALL
    )
    assert [block.count("<tr ") for block in blocks] == [
        min(BLOCK, n - start) for start in range(0, n, BLOCK)
    ]
    assert [row[0] for row in rows(content)] == sorted(files)
    assert content.count("<table") == 1 + len(blocks)  # the heading's own table
    assert ".b{content-visibility:auto;" in content


def test_empty_landing_page() -> None:
    content = landing_html({})
    assert "0 projects, 0 files, 0 B in total." in content
    assert rows(content) == []


def test_landing_page_of_5000_projects_stays_small() -> None:
    """About 200 bytes per project (plus its summary): 5,000 projects in ~1.2 MB."""
    projects = {}
    for i in range(5000):
        dist = make_dist(
            f"project_{i:04d}-1.{i % 7}-py3-none-any.whl",
            f"1.{i % 7}",
            project=f"project-{i:04d}",
            name=f"project_{i:04d}",
            summary=f"Summary number {i} of a project in a rather large index",
            size=1500 + i,
        )
        projects[dist.project] = [PageFile(dist, dist.filename)]
    content = landing_html(projects)
    size = len(content.encode("utf-8"))
    assert len(rows(content)) == 5000
    assert 800_000 < size < 1_300_000, size


# -- through builds ------------------------------------------------------------------


def build(sources: list[Path], out: Path, **kwargs: object) -> None:
    report = build_index(sources, out, jobs=1, **kwargs)  # type: ignore[arg-type]
    assert report.ok, report.problems


def test_project_pages_follow_their_project(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "index"
    src.mkdir()
    make_wheel(src, "Foo", "1.0", summary="Foo <1>")
    make_sdist(src, "bar", "2.0")
    make_tinybackend_wheel(src)  # bar's build backend (verify checks it is there)
    build([src], out)
    pages = ["bar.html", "foo.html", "tinybackend.html"]
    assert sorted(p.name for p in (out / "projects").iterdir()) == pages
    assert hrefs(out / "index.html") == ["simple/", *(f"projects/{page}" for page in pages)]
    foo = out / "projects" / "foo.html"
    assert "../simple/foo/foo-1.0-py3-none-any.whl" in hrefs(foo)
    check_index(out)
    assert verify_index(out) == []  # projects/ is no stray project of simple/
    # A new file rewrites its project's page; the other stays as it was.
    for page in page_bytes(out):
        os.utime(out / page, ns=(OLD * 10**9, OLD * 10**9))
    make_wheel(src, "foo", "1.1")
    build([src], out)
    assert "foo-1.1-py3-none-any.whl" in foo.read_text()
    assert foo.stat().st_mtime_ns != OLD * 10**9
    assert (out / "projects" / "bar.html").stat().st_mtime_ns == OLD * 10**9
    # A project pruned away takes its page along; a pruned file leaves its page.
    (src / "bar-2.0.tar.gz").unlink()
    (src / "foo-1.0-py3-none-any.whl").unlink()
    build([src], out, prune=True)
    assert not (out / "projects" / "bar.html").exists()
    assert "foo-1.0-py3-none-any.whl" not in foo.read_text()
    assert hrefs(out / "index.html") == [
        "simple/",
        "projects/foo.html",
        "projects/tinybackend.html",
    ]
    check_index(out)
    assert verify_index(out) == []
    # A page that went missing is written again.
    foo.unlink()
    build([src], out)
    assert foo.is_file()
    fresh = tmp_path / "fresh"
    build([src], fresh)
    assert page_bytes(out) == page_bytes(fresh)


def test_recovery_removes_pages_of_projects_the_index_lacks(tmp_path: Path) -> None:
    """A killed build may leave the page of a project it was adding: the next
    build, which re-renders everything, removes it."""
    src, out = tmp_path / "src", tmp_path / "index"
    src.mkdir()
    make_wheel(src, "foo", "1.0")
    build([src], out)
    stray = out / "projects" / "ghost.html"
    stray.write_text("left by a killed build")
    unrelated = out / "projects" / "notes.txt"
    unrelated.write_text("not ours")
    with IndexState.open(str(out)) as state:
        state.set_dirty(True)
    build([src], out)
    assert not stray.exists() and unrelated.exists()
    assert (out / "projects" / "foo.html").is_file()
    # A clean build leaves such a page alone: only a recovery looks for strays.
    stray.write_text("someone's")
    build([src], out)
    assert stray.exists()
