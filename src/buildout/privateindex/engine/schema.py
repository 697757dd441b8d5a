"""The state database's tables and statements, and the scan cache's records."""

from __future__ import annotations

import os
from typing import NamedTuple

from buildout.privateindex.engine.provenancestate import CREATE_PROVENANCE

__all__ = ["CREATE", "CachedScan", "ScanEntry", "path_from_db", "path_to_db"]

SCHEMA = "2"

FILE_COLUMNS = (
    "filename, project, name, version, kind, size, sha256, mtime_ns,"
    " requires_python, summary, metadata_sha256, build_requires, source"
)
SCAN_COLUMNS = "size, mtime_ns, filename, sha256, error, skipped, indexed"
CREATE = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    filename TEXT PRIMARY KEY, project TEXT NOT NULL, name TEXT NOT NULL,
    version TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL,
    sha256 TEXT NOT NULL, mtime_ns INTEGER NOT NULL, requires_python TEXT,
    summary TEXT NOT NULL, metadata_sha256 TEXT, build_requires TEXT,
    source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS files_project ON files (project);
CREATE TABLE IF NOT EXISTS scan (
    source TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    filename TEXT, sha256 TEXT, error TEXT, skipped INTEGER NOT NULL,
    indexed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sections (
    project TEXT PRIMARY KEY, files INTEGER NOT NULL, size INTEGER NOT NULL,
    html TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '{SCHEMA}');
{CREATE_PROVENANCE}"""
ADD_FILE = f"INSERT OR REPLACE INTO files ({FILE_COLUMNS}) VALUES ({', '.join('?' * 13)})"
ADD_SCAN = f"INSERT OR REPLACE INTO scan (source, {SCAN_COLUMNS}) VALUES ({', '.join('?' * 8)})"
SET_META = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"
SET_SECTION = "INSERT OR REPLACE INTO sections (project, files, size, html) VALUES (?, ?, ?, ?)"
#: Schema 1 lacked ``sections``: forgetting the settings re-renders every page.
MIGRATE_FROM_1 = "DELETE FROM meta WHERE key = 'settings';" + CREATE.replace(
    "INSERT OR IGNORE", "INSERT OR REPLACE"
)

#: The scan cache as a build loads it: ``(size, mtime_ns, indexed)`` by source path.
CachedScan = tuple[int, int, int]


class ScanEntry(NamedTuple):
    """What the scan cache knows about one source path.

    Either ``filename`` and ``sha256`` (a good distribution; ``indexed`` if
    the index holds that very content, else it is a conflict) or ``error``
    (why it is not indexable; ``skipped`` when it is no distribution at all).
    """

    size: int
    mtime_ns: int
    filename: str | None = None
    sha256: str | None = None
    error: str | None = None
    skipped: int = 0
    indexed: int = 0


def path_to_db(path: str) -> str | bytes:
    """A source path as the state stores it: text, or (a path that is not
    UTF-8, as a file system may hold) its bytes; SQLite text must be UTF-8."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def path_from_db(value: str | bytes) -> str:
    """A source path as :func:`path_to_db` stored it."""
    return value if isinstance(value, str) else os.fsdecode(value)
