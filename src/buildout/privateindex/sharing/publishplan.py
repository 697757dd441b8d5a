"""What a publish uploads: the local objects, their hashes, the manifest.

The local side is the index tree without dot-files and without anything that
resolves outside the index (a symbolic link leading out of it, or into its
private state, is skipped with a warning: never uploaded).  Distribution
files take their sha256 from the index state when their size and mtime are
still the ones recorded there; pages and ``.metadata`` files (small, not in
the state) are hashed.

The remote side is the manifest ``<prefix>/.privateindex-manifest.json``:
for every key this index published and that may still exist, the sha256
uploaded and the ETag S3 answered.  It is what makes a key *ours*: deletion
only ever removes keys the manifest lists.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from buildout.privateindex.engine.fsutil import is_within
from buildout.privateindex.engine.mediatypes import media_type
from buildout.privateindex.engine.paths import PROJECTS_DIR
from buildout.privateindex.errors import IndexStateError

__all__ = ["MANIFEST_NAME", "Item", "Manifest", "content_type", "scan"]

log = logging.getLogger(__name__)

#: The manifest object, below the prefix.  Never part of the local tree.
MANIFEST_NAME = ".privateindex-manifest.json"
MANIFEST_VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Item:
    """One object to publish: ``rel`` is its key below the prefix."""

    rel: str
    path: Path
    size: int
    sha256: str
    stage: int


@dataclass
class Scan:
    """The objects to publish, and what finding their hashes cost."""

    items: list[Item]
    hashed_files: int = 0
    hashed_bytes: int = 0


def stage(rel: str) -> int:
    """0 files, 1 project pages (and pages for people), 2 root pages, 3 landing page."""
    parts = rel.split("/")
    if parts == ["index.html"]:
        return 3
    if len(parts) == 2 and parts[0] == PROJECTS_DIR and parts[1].endswith(".html"):
        return 1  # links files, is linked by the landing page; changes with builds
    if len(parts) == 2 and parts[0] == "simple" and parts[1] in ("index.html", "index.json"):
        return 2
    if len(parts) == 3 and parts[0] == "simple" and parts[2] in ("index.html", "index.json"):
        return 1
    return 0


def content_type(rel: str) -> str:
    """The Content-Type an object is stored with."""
    name = rel.rsplit("/", 1)[-1]
    return media_type(name or "index.html")  # a directory key is a page


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                sha.update(chunk)
    except OSError as exc:
        raise IndexStateError(path, f"cannot read: {exc.strerror or exc}") from exc
    return sha.hexdigest()


def _known_hashes(root: Path) -> dict[str, tuple[int, int, str]]:
    """``{rel: (size, mtime_ns, sha256)}`` of the distribution files in the state."""
    from buildout.privateindex.engine.build import load_index

    try:
        dists = load_index(root)
    except IndexStateError:  # no state (a tree copied by hand): hash everything
        return {}
    return {f"simple/{d.project}/{d.filename}": (d.size, d.mtime_ns, d.sha256) for d in dists}


def _inside(root: str, path: Path, rel: str) -> Path | None:
    """The real path of ``path`` if it is a regular file of the index, else None."""
    real = os.path.realpath(path)
    inner = os.path.relpath(real, root) if is_within(real, root) else None
    if inner is None or any(p.startswith(".") for p in Path(inner).parts):
        log.warning("not publishing %s: it leads outside the index (%s)", rel, real)
        return None
    if not os.path.isfile(real):
        log.warning("not publishing %s: not a regular file", rel)
        return None
    return Path(real)


def scan(root: Path, has_prefix: bool, directory_keys: bool, pool: ThreadPoolExecutor) -> Scan:
    """Every object to publish, directory keys included, sorted by stage and key."""
    real_root = os.path.realpath(root)
    if not os.path.isfile(os.path.join(real_root, "simple", "index.html")):
        raise IndexStateError(root, "not a built index (no simple/index.html)")
    known = _known_hashes(Path(real_root))
    found: list[tuple[str, Path, os.stat_result]] = []
    for dirpath, dirnames, filenames in os.walk(real_root):  # skips the state, dotfiles
        for name in sorted(dirnames):
            if Path(dirpath, name).is_symlink() and not name.startswith("."):
                rel = Path(dirpath, name).relative_to(real_root).as_posix()
                log.warning("not publishing %s: a symbolic link to a directory", rel)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath, name)
            rel = path.relative_to(real_root).as_posix()
            real = _inside(real_root, path, rel) if path.is_symlink() else path
            if real is not None and real.is_file():
                found.append((rel, real, real.stat()))
    result = Scan([])
    todo = []
    for rel, path, st in found:
        size_mtime_sha = known.get(rel)
        if size_mtime_sha is None or size_mtime_sha[:2] != (st.st_size, st.st_mtime_ns):
            todo.append(path)
            result.hashed_files += 1
            result.hashed_bytes += st.st_size
    computed = dict(zip(todo, pool.map(sha256_of, todo), strict=True))
    for rel, path, st in found:
        sha = computed.get(path) or known[rel][2]
        result.items.append(Item(rel, path, st.st_size, sha, stage(rel)))
        if directory_keys and rel.rsplit("/", 1)[-1] == "index.html":
            alias = rel[: -len("index.html")]
            if alias or has_prefix:
                result.items.append(Item(alias, path, st.st_size, sha, stage(rel)))
    result.items.sort(key=lambda item: (item.stage, item.rel))
    return result


@dataclass
class Manifest:
    """``objects``: ``{rel: {"sha256": ..., "etag": ...}}``; ``raw`` as stored."""

    objects: dict[str, dict[str, str]]
    raw: bytes = b""
    found: bool = False

    @classmethod
    def parse(cls, raw: bytes, where: str) -> Manifest:
        try:
            data = json.loads(raw)
            objects = data["objects"] if data.get("version") == MANIFEST_VERSION else None
        except (ValueError, TypeError, AttributeError, KeyError):
            objects = None
        if not isinstance(objects, dict):
            log.warning("ignoring unreadable manifest %s", where)
            return cls({}, raw, found=False)
        good = {
            rel: entry
            for rel, entry in objects.items()
            if isinstance(entry, dict)
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("etag"), str)
        }
        return cls(good, raw, found=True)

    def is_current(self, item: Item, remote: tuple[str, int] | None) -> bool | None:
        """True/False when the manifest decides; None when it has no word on it."""
        if remote is None or remote[1] != item.size:
            return False
        recorded = self.objects.get(item.rel)
        if recorded is None:
            return None
        return recorded["etag"] == remote[0] and recorded["sha256"] == item.sha256

    def dump(self, objects: dict[str, dict[str, str]]) -> bytes:
        document = {"version": MANIFEST_VERSION, "objects": dict(sorted(objects.items()))}
        return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()

    def ours(self, rel: str, remote: tuple[str, int] | None) -> bool:
        """Whether the object at ``rel`` is still the one this index published."""
        recorded = self.objects.get(rel)
        return recorded is not None and remote is not None and recorded["etag"] == remote[0]


def entry(sha256: str, etag: str) -> dict[str, str]:
    return {"sha256": sha256, "etag": etag}
