"""Check a built index against its own pages: every link, hash and listing.

``verify_index`` re-reads what an installer would: the root and project pages
(HTML and JSON), re-hashes every distribution file and core metadata file they
link, checks that every sdist's build requirements are in the index (see
:mod:`.buildreqs`), and reports every disagreement as one line naming the
path (relative to the index directory).  It never changes anything.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

from packaging.utils import canonicalize_name

from buildout.privateindex.engine import locking
from buildout.privateindex.engine.buildreqs import check_index
from buildout.privateindex.engine.fsutil import LOCK_MODE
from buildout.privateindex.engine.pageread import (
    Unreadable,
    anchors,
    hash_value,
    is_absolute,
    objects,
    sha256,
)
from buildout.privateindex.engine.state import STATE_DIR

__all__ = ["verify_index"]


@dataclass(frozen=True, slots=True)
class _Link:
    """One file a project page links: what the page says about it."""

    filename: str
    url: str
    sha256: str | None
    metadata_sha256: str | None  # None: not announced; "" announced without hash
    yanked: bool


class _Verifier:
    def __init__(self, directory: Path, notes: list[str] | None) -> None:
        self.root = directory
        self.simple = directory / "simple"
        self.problems: list[str] = []
        self.notes = notes if notes is not None else []
        self.absolute = 0
        #: file -> (expected sha256, where that expectation comes from)
        self.to_hash: dict[Path, tuple[str, str]] = {}

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def problem(self, where: Path, text: str) -> None:
        self.problems.append(f"{self.rel(where)}: {text}")

    def resolve(self, base: Path, url: str) -> Path | None:
        """The file a relative ``url`` on a page in ``base`` names, inside the index."""
        parts = PurePosixPath(unquote(urlsplit(url).path)).parts
        target = Path(os.path.normpath(base.joinpath(*parts))) if parts else base
        if target != self.root and self.root not in target.parents:
            return None
        return target

    def run(self) -> list[str]:
        page = self.simple / "index.html"
        if not page.is_file():
            self.problem(page, "missing: not a package index")
            return self.problems
        listed = self.check_root(page)
        on_disk = {
            entry.name
            for entry in self.simple.iterdir()
            if entry.is_dir() and not entry.name.startswith(".")
        }
        for name in sorted(on_disk - listed):
            self.problem(self.simple / name, "project directory not listed on simple/index.html")
        for name in sorted(listed | on_disk):
            project_page = self.simple / name / "index.html"
            if project_page.is_file():
                self.check_project(name, project_page)
            elif name in listed:
                self.problem(
                    page, f"lists project {name!r} but {self.rel(project_page)} is missing"
                )
        self.check_hashes()
        self.problems += check_index(self.root, self.notes)
        if self.absolute:
            self.notes.append(f"{self.absolute} absolute link(s) not checked")
        return self.problems

    def anchors(self, page: Path) -> list[tuple[dict[str, str | None], str]] | None:
        try:
            return anchors(page)
        except Unreadable as exc:
            self.problem(page, str(exc))
            return None

    def check_root(self, page: Path) -> set[str]:
        listed: set[str] = set()
        for attrs, text in self.anchors(page) or ():
            href = attrs.get("href") or ""
            if is_absolute(href):
                self.absolute += 1
                listed.add(canonicalize_name(text))
                continue
            target = self.resolve(self.simple, href)
            if target is None or target.parent != self.simple:
                self.problem(page, f"link {href!r} does not point to a project directory")
                continue
            listed.add(target.name)
            if canonicalize_name(text) != target.name:
                self.problem(page, f"link {href!r} is labelled {text!r}")
        data = self.load_json(self.simple / "index.json")
        projects = None if data is None else objects(data.get("projects", []))
        if data is not None and projects is None:
            self.problem(self.simple / "index.json", "'projects' is not a list of objects")
        elif projects is not None:
            names = {canonicalize_name(str(p.get("name", ""))) for p in projects}
            for name in sorted(names ^ listed):
                where = "index.json" if name in names else "index.html"
                self.problem(
                    self.simple / "index.json",
                    f"disagrees with index.html: only {where} lists {name!r}",
                )
        return listed

    def load_json(self, path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            self.problem(path, "missing")
            return None
        except (OSError, ValueError) as exc:
            self.problem(path, f"unreadable JSON: {exc}")
            return None
        if not isinstance(data, dict):
            self.problem(path, "not a JSON object")
            return None
        return data

    def check_project(self, name: str, page: Path) -> None:
        base = page.parent
        html_links: dict[str, _Link] = {}
        anchors = self.anchors(page)
        if anchors is None:
            return
        for attrs, _text in anchors:
            url, fragment = urldefrag(attrs.get("href") or "")
            link = _Link(
                filename=unquote(url.rstrip("/").rsplit("/", 1)[-1]),
                url=url,
                sha256=hash_value(fragment) if fragment else None,
                metadata_sha256=hash_value(
                    attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
                ),
                yanked="data-yanked" in attrs,
            )
            html_links[link.filename] = link
            self.check_link(page, base, link)
        data = self.load_json(base / "index.json")
        if data is not None:
            self.compare_json(base / "index.json", data, html_links)

    def check_link(self, page: Path, base: Path, link: _Link) -> None:
        if not link.sha256:
            self.problem(page, f"link to {link.filename!r} has no sha256 hash")
        if is_absolute(link.url):
            # <base-url>/<project>/<file> is checked against the local copy.
            tail = [unquote(s) for s in urlsplit(link.url).path.split("/")[-2:]]
            if tail != [base.name, link.filename]:
                self.absolute += 1
                return
            target: Path | None = base / link.filename
        else:
            target = self.resolve(base, link.url)
        if target is None:
            self.problem(page, f"link {link.url!r} points outside the index")
            return
        if not target.is_file():
            self.problem(target, f"missing (linked from {self.rel(page)})")
            return
        if link.sha256:
            self.to_hash[target] = (link.sha256, f"linked from {self.rel(page)}")
        if link.metadata_sha256 is None:
            return
        metadata = target.with_name(target.name + ".metadata")
        if not metadata.is_file():
            self.problem(metadata, f"missing (announced by {self.rel(page)})")
        elif link.metadata_sha256:
            self.to_hash[metadata] = (link.metadata_sha256, f"announced by {self.rel(page)}")

    def compare_json(self, path: Path, data: dict[str, Any], html_links: dict[str, _Link]) -> None:
        json_links: dict[str, _Link] = {}
        files = objects(data.get("files", []))
        if files is None:
            self.problem(path, "'files' is not a list of objects")
            return
        for entry in files:
            meta = entry.get("core-metadata", entry.get("dist-info-metadata", False))
            hashes = entry.get("hashes")
            if not isinstance(hashes, dict):
                self.problem(path, f"{entry.get('filename')!r}: 'hashes' is not an object")
                hashes = {}
            link = _Link(
                filename=str(entry.get("filename", "")),
                url=str(entry.get("url", "")),
                sha256=hashes.get("sha256"),
                metadata_sha256=(
                    meta.get("sha256", "") if isinstance(meta, dict) else ("" if meta else None)
                ),
                yanked=entry.get("yanked", False) is not False,
            )
            json_links[link.filename] = link
        for filename in sorted(json_links.keys() ^ html_links.keys()):
            where = "index.json" if filename in json_links else "index.html"
            self.problem(path, f"disagrees with index.html: only {where} lists {filename!r}")
        for filename in sorted(json_links.keys() & html_links.keys()):
            mine, theirs = json_links[filename], html_links[filename]
            for field in ("url", "sha256", "metadata_sha256", "yanked"):
                if getattr(mine, field) != getattr(theirs, field):
                    self.problem(
                        path,
                        f"disagrees with index.html about {filename!r}: {field} is "
                        f"{getattr(mine, field)!r} here, {getattr(theirs, field)!r} there",
                    )

    def check_hashes(self) -> None:
        jobs = sorted(self.to_hash.items())
        with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 2)) as pool:
            digests = pool.map(_safe_sha256, (path for path, _ in jobs))
            for (path, (expected, origin)), actual in zip(jobs, digests, strict=True):
                if isinstance(actual, OSError):
                    self.problem(path, f"unreadable: {actual.strerror or actual}")
                elif actual != expected:
                    self.problem(path, f"sha256 mismatch: {actual} but {expected} {origin}")


def _safe_sha256(path: Path) -> str | OSError:
    try:
        return sha256(path)
    except OSError as exc:
        return exc


def verify_index(
    directory: str | os.PathLike[str],
    *,
    notes: list[str] | None = None,
    lock_timeout: float = 600,
) -> list[str]:
    """Every problem of the index in ``directory``, one line each (empty: clean).

    Informational remarks (e.g. absolute links that were not checked) are
    appended to ``notes`` when given; they are not problems.

    A build may be changing the index meanwhile, and a page and the files it
    links are then briefly out of step.  So the index is checked without
    blocking anyone first; only when that finds a problem is it checked
    again holding the index's lock (waiting up to ``lock_timeout`` seconds
    for a running build), so that what is reported is a state the index
    really was in between builds.
    """
    root = Path(os.path.abspath(directory))
    first_notes: list[str] = []
    problems = _Verifier(root, first_notes).run()
    lock_path = root / STATE_DIR / "lock"
    if not problems or not lock_path.exists():
        if notes is not None:
            notes.extend(first_notes)
        return problems
    lock = locking.held(lock_path, lock_timeout, LOCK_MODE)
    try:
        lock.__enter__()
    except locking.LockTimeout:
        remark = f"a build held the lock for {lock_timeout:g} s: problems may be a build's"
    except OSError as exc:
        remark = f"cannot take the lock ({exc.strerror or exc}): problems may be a build's"
    else:
        try:
            return _Verifier(root, notes).run()
        finally:
            lock.__exit__(None, None, None)
    if notes is not None:
        notes.extend([*first_notes, remark])
    return problems
