"""Independent checks of a built index, for the tests of the build engine.

They read the index as an installer would: every link of every page must
resolve to an existing file, every file's sha256 must match what its
project pages say, every announced ``.metadata`` file must exist, and the
root pages must list only projects that have pages.
"""

from __future__ import annotations

import hashlib
import json
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


def anchors(page: Path) -> list[dict[str, str | None]]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    return parser.anchors


def hrefs(page: Path) -> list[str]:
    return [a["href"] or "" for a in anchors(page)]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def html_pages(out: Path) -> list[Path]:
    pages = [out / "index.html", out / "simple" / "index.html"]
    pages += sorted((out / "simple").glob("*/index.html"))
    pages += sorted((out / "projects").glob("*.html"))
    return [page for page in pages if page.exists()]


def page_bytes(out: Path) -> dict[str, bytes]:
    """Every page (HTML and JSON) of the index by relative path."""
    found = sorted(out.glob("index.html")) + sorted((out / "simple").rglob("index.*"))
    found += sorted((out / "projects").glob("*.html"))
    return {str(p.relative_to(out)): p.read_bytes() for p in found}


def _whole_html(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    assert text.rstrip().endswith("</html>"), f"{page}: not a whole page"
    return text


def _json(page: Path) -> dict[str, object]:
    text = page.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise AssertionError(f"{page}: not a whole JSON page: {exc}") from None
    assert isinstance(data, dict), f"{page}: not a JSON object"
    return data


def _json_files(page: Path) -> list[dict[str, Any]]:
    files = _json(page.with_name("index.json"))["files"]
    assert isinstance(files, list), f"{page}: no file list"
    return files


def _check_metadata(page: Path, target: Path, announced: object) -> None:
    """An announced ``.metadata`` file (``sha256=...`` or {"sha256": ...}) exists and matches."""
    if announced is None or announced is False:
        return
    meta = target.with_name(target.name + ".metadata")
    assert meta.is_file(), f"{page}: announces a missing {meta.name}"
    if isinstance(announced, dict):
        announced = f"sha256={announced.get('sha256')}"
    if announced is not True:
        assert announced == f"sha256={sha256(meta)}", f"{page}: bad hash of {meta.name}"


def _check_root(out: Path) -> None:
    """The root pages list only projects that have both pages."""
    simple = out / "simple"
    names: list[str] = []
    if (simple / "index.html").exists():
        names += [(a["href"] or "").rstrip("/") for a in anchors(simple / "index.html")]
    if (simple / "index.json").exists():
        projects = _json(simple / "index.json")["projects"]
        assert isinstance(projects, list)
        names += [project["name"] for project in projects]
    for name in names:
        for page in ("index.html", "index.json"):
            assert (simple / name / page).is_file(), f"the root lists {name}, which has no {page}"


def check_index(out: Path, *, interrupted: bool = False) -> dict[str, str]:
    """Assert that the index in ``out`` is consistent; return {filename: sha256}.

    Every page is whole (HTML ends with ``</html>``, JSON parses); every link
    of every HTML page resolves to an existing file or project directory
    (with its pages); every file a project page lists has the sha256 the page
    (HTML and JSON) says, and so has every ``.metadata`` file it announces
    (``data-core-metadata``, ``data-dist-info-metadata``, ``core-metadata``,
    ``dist-info-metadata``); the root pages (HTML and JSON) list only
    projects with both pages.  The HTML and JSON pages of a project list the
    same files, unless the build was ``interrupted`` between writing the two
    (each is then either the old or the new page, and every link of both
    resolves).  Each project directory has its page for people,
    ``projects/<project>.html``, and no other project has one (an
    ``interrupted`` build may leave one too many or too few, whose links
    resolve).
    """
    _check_root(out)
    listed: dict[str, str] = {}
    for page in html_pages(out):
        _whole_html(page)
        for anchor in anchors(page):
            href = anchor["href"] or ""
            assert not urlsplit(href).scheme, f"{page}: absolute link {href}"
            url, fragment = urldefrag(href)
            target = (page.parent / unquote(url)).resolve()
            assert target.exists(), f"{page}: link {href} to a missing file"
            if target.is_dir():
                assert (target / "index.html").is_file(), f"{page}: {href} has no page"
                assert (target / "index.json").is_file(), f"{page}: {href} has no JSON page"
            if page.parent.parent == out / "simple":  # a project page
                algo, _, digest = fragment.partition("=")
                assert algo == "sha256", f"{page}: {href} has no sha256"
                assert sha256(target) == digest, f"{page}: {href} does not match its hash"
                listed[target.name] = digest
                _check_metadata(page, target, anchor.get("data-core-metadata"))
                _check_metadata(page, target, anchor.get("data-dist-info-metadata"))
        if page.parent.parent == out / "simple" and page.with_name("index.json").exists():
            json_files = {f["filename"]: f["hashes"]["sha256"] for f in _json_files(page)}
            html_files = {
                unquote(urldefrag(a["href"] or "")[0]): (a["href"] or "").rpartition("=")[2]
                for a in anchors(page)
            }
            assert interrupted or json_files == html_files, f"{page}: HTML and JSON disagree"
    for page in sorted((out / "simple").glob("*/index.json")):
        assert interrupted or page.with_name("index.html").is_file(), f"{page}: no HTML page"
        for entry in _json_files(page):
            target = page.parent / unquote(entry["url"])
            assert target.is_file(), f"{page}: JSON links a missing {entry['url']}"
            assert sha256(target) == entry["hashes"]["sha256"], f"{page}: bad hash in JSON"
            _check_metadata(page, target, entry.get("core-metadata"))
            _check_metadata(page, target, entry.get("dist-info-metadata"))
    if not interrupted:
        people = {page.stem for page in (out / "projects").glob("*.html")}
        simple = {d.name for d in (out / "simple").glob("*") if d.is_dir()}
        assert people == simple, f"project pages for people {people} but projects {simple}"
    return listed


def temp_files(out: Path) -> list[str]:
    return sorted(
        os.path.join(root, name)
        for root, _dirs, names in os.walk(out)
        for name in names
        if name.startswith(".~privateindex-")
    )
