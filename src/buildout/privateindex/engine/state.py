"""The private state of an index: ``DIR/.privateindex/state.sqlite``.

Five tables:

``files``
    every file the index holds (``filename`` is the key), with all the fields
    of its :class:`~buildout.privateindex.dists.model.DistFile` and the source path
    it was copied from;
``scan``
    the scan cache: per source path, the ``(size, mtime_ns)`` it had when it
    was last read and what reading it gave: the ``filename`` and ``sha256``
    of its DistFile record and whether the index holds exactly that content
    under that name (``indexed``; if not, the file conflicts with the indexed
    one), or the reason it is not indexable (``error``, ``skipped`` when it
    is no distribution at all);
``sections``
    each project's rendered section of the landing page, with its number of
    files and bytes, so that a build re-renders only the projects it changes;
``provenance``
    where each file's upload time and yank come from (see
    :mod:`.provenancestate`);
``meta``
    ``schema`` (the layout version of this database), ``settings`` (the
    fingerprint of the render settings the pages were written with) and
    ``dirty`` (set while a build writes to the index, so that the next build
    knows it must clean up after a killed one).

A build reads the scan cache compactly (size, mtime and whether the file is
indexed as is: that settles every unchanged source file) and everything else
by query, so its memory does not grow with the index.  Its changes go into
one transaction, opened by the first change and committed at the end, and
the pages are rendered from inside it; SQLite makes the transaction atomic,
even when the process is killed.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from buildout.privateindex.dists.model import DistFile
from buildout.privateindex.engine import schema
from buildout.privateindex.engine.fsutil import STATE_FILE_MODE
from buildout.privateindex.engine.provenancestate import ProvenanceRecords
from buildout.privateindex.engine.rows import FileRow, dist_to_row, row_to_dist
from buildout.privateindex.engine.schema import CachedScan, ScanEntry
from buildout.privateindex.errors import IndexStateError

__all__ = [
    "STATE_DIR",
    "CachedScan",
    "FileRow",
    "IndexState",
    "ScanEntry",
    "dist_to_row",
    "row_to_dist",
    "state_path",
]

logger = logging.getLogger(__name__)

#: The private directory inside the index directory.
STATE_DIR = ".privateindex"
_STATE_FILE = "state.sqlite"


def state_path(directory: str) -> str:
    """Where the state database of the index in ``directory`` lives."""
    return os.path.join(directory, STATE_DIR, _STATE_FILE)


def _private(path: str, create: bool) -> None:
    """Make the database the owner's alone (SQLite gives its journal the same mode)."""
    try:
        if create:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, STATE_FILE_MODE))
        if stat.S_IMODE(os.stat(path).st_mode) != STATE_FILE_MODE:
            os.chmod(path, STATE_FILE_MODE)
    except PermissionError:
        pass  # another user's index (a verify, a publish): theirs to set
    except OSError as exc:
        raise IndexStateError(path, f"cannot open the state database: {exc.strerror}") from None


class IndexState(ProvenanceRecords):
    """The state of one index: queries, and the build's transaction."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self.path = path
        self._open = False  # whether the build's transaction is open
        try:
            meta = dict(self._query("SELECT key, value FROM meta"))
        except IndexStateError:
            self._db.close()
            raise
        if meta.get("schema") != schema.SCHEMA:
            self._db.close()
            raise IndexStateError(
                path, f"state schema {meta.get('schema')!r} is not {schema.SCHEMA!r}"
            )
        self.settings: str | None = meta.get("settings")
        self.dirty = meta.get("dirty") == "1"

    @classmethod
    def open(cls, directory: str, *, create: bool = True) -> IndexState:
        """Load the state of the index in ``directory`` (creating it if allowed)."""
        path = state_path(directory)
        if not create and not os.path.isfile(path):
            raise IndexStateError(directory, "not an index (it has no state)")
        _private(path, create)
        try:
            connection = sqlite3.connect(path, timeout=60, isolation_level=None)
            if create:
                connection.executescript(f"BEGIN; {schema.CREATE} COMMIT;")  # one transaction
                found = connection.execute("SELECT value FROM meta WHERE key = 'schema'")
                if found.fetchone() == ("1",):
                    logger.info("%s: upgrading the state; every page is rewritten", directory)
                    connection.executescript(f"BEGIN; {schema.MIGRATE_FROM_1} COMMIT;")
        except sqlite3.Error as exc:
            raise IndexStateError(path, f"cannot open the state database: {exc}") from None
        return cls(connection, path)

    def close(self) -> None:
        """Close the database; an uncommitted transaction is rolled back."""
        self._db.close()

    def __enter__(self) -> IndexState:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------

    def _query(self, sql: str, *args: object) -> list[Any]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexStateError(self.path, f"broken state database: {exc}") from None

    def _iterate(self, sql: str, *args: object) -> Iterator[Any]:
        # A plain loop, not ``yield from``: a generator left unfinished (when
        # writing a page fails) is closed after the database, and ``yield
        # from`` would then close the cursor too, which raises there.
        try:
            cursor = self._db.execute(sql, args)
            for row in cursor:  # noqa: UP028 (see above)
                yield row
        except sqlite3.DatabaseError as exc:
            raise IndexStateError(self.path, f"broken state database: {exc}") from None

    def load_scan_cache(self) -> dict[str, CachedScan]:
        """The scan cache, compactly: ``(size, mtime_ns, indexed)`` by source path."""
        rows = self._iterate("SELECT source, size, mtime_ns, indexed FROM scan")
        # One row at a time: no copy of the table.
        return {schema.path_from_db(row[0]): row[1:] for row in rows}

    def scan_entry(self, source: str) -> ScanEntry | None:
        """Everything the scan cache knows about ``source``."""
        sql = f"SELECT {schema.SCAN_COLUMNS} FROM scan WHERE source = ?"
        rows = self._query(sql, schema.path_to_db(source))
        return ScanEntry(*rows[0]) if rows else None

    def file_row(self, filename: str) -> FileRow | None:
        """The ``files`` row of ``filename``, if the index holds it."""
        rows = self._query(f"SELECT {schema.FILE_COLUMNS} FROM files WHERE filename = ?", filename)
        if not rows:
            return None
        row = FileRow(*rows[0])
        return row._replace(source=schema.path_from_db(row.source))

    def project_dists(self, project: str) -> list[DistFile]:
        """The files of ``project``, by file name."""
        sql = f"SELECT {schema.FILE_COLUMNS} FROM files WHERE project = ? ORDER BY filename"
        return [row_to_dist(FileRow(*row)) for row in self._query(sql, project)]

    def iter_projects(self) -> Iterator[tuple[str, list[DistFile]]]:
        """Every project with its files, by project and file name, one at a time."""
        rows = self._iterate(f"SELECT {schema.FILE_COLUMNS} FROM files ORDER BY project, filename")
        for project, group in itertools.groupby(rows, key=lambda row: row[1]):
            yield project, [row_to_dist(FileRow(*row)) for row in group]

    def iter_file_sizes(self) -> Iterator[tuple[str, str, int, bool]]:
        """``(filename, project, size, has_metadata)`` of every file, one at a time."""
        sql = "SELECT filename, project, size, metadata_sha256 IS NOT NULL FROM files"
        for filename, project, size, has_metadata in self._iterate(sql):
            yield filename, project, size, bool(has_metadata)

    def projects(self) -> set[str]:
        """The projects the index holds."""
        return {row[0] for row in self._query("SELECT DISTINCT project FROM files")}

    def file_projects(self) -> dict[str, str]:
        """The file names the index holds, with their projects."""
        return dict(self._query("SELECT filename, project FROM files"))

    def count_files(self) -> int:
        """How many files the index holds."""
        return int(self._query("SELECT COUNT(*) FROM files")[0][0])

    def sections(self) -> Iterator[str]:
        """The landing page sections, by project."""
        for row in self._iterate("SELECT html FROM sections ORDER BY project"):
            yield row[0]

    def totals(self) -> tuple[int, int, int]:
        """Projects, files and bytes the landing page sections list."""
        row = self._query("SELECT COUNT(*), TOTAL(files), TOTAL(size) FROM sections")[0]
        return int(row[0]), int(row[1]), int(row[2])

    # -- changes ---------------------------------------------------------------

    def _write(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        try:
            if not self._open:
                self._db.execute("BEGIN IMMEDIATE")
                self._open = True
            self._db.executemany(sql, args)
        except sqlite3.Error as exc:
            raise IndexStateError(self.path, f"cannot save the state: {exc}") from exc

    def add_file(self, row: FileRow) -> None:
        """Record a file added to the index (replacing a row of the same name)."""
        self.add_files([row], None)

    def add_files(self, rows: Sequence[FileRow], now_ns: int | None) -> None:
        """Record files added to the index (replacing rows of the same names),
        and, with ``now_ns``, that the index holds them since then (if not known)."""
        # ``source`` is the last column (schema.FILE_COLUMNS).
        self._write(schema.ADD_FILE, ((*row[:-1], schema.path_to_db(row.source)) for row in rows))
        if now_ns is not None:
            self.note_first_seen([row.filename for row in rows], now_ns)

    def remove_files(self, filenames: Iterable[str]) -> None:
        """Forget files removed from the index."""
        names = list(filenames)
        self._write("DELETE FROM files WHERE filename = ?", ((name,) for name in names))
        self.forget_provenance(names)

    def record_scan(self, source: str, entry: ScanEntry) -> None:
        """Remember what reading ``source`` gave."""
        self.record_scans([(source, entry)])

    def record_scans(self, entries: Iterable[tuple[str, ScanEntry]]) -> None:
        """Remember what reading each source gave (one statement for all)."""
        rows = [(schema.path_to_db(source), *entry) for source, entry in entries]
        if rows:
            self._write(schema.ADD_SCAN, rows)

    def forget_scans(self, sources: Iterable[str]) -> None:
        """Drop source paths from the scan cache."""
        self._write("DELETE FROM scan WHERE source = ?", ((schema.path_to_db(s),) for s in sources))

    def set_section(self, project: str, html: str | None, files: int = 0, size: int = 0) -> None:
        """Store (or, with ``html`` None, drop) a project's landing page section."""
        if html is None:
            self._write("DELETE FROM sections WHERE project = ?", [(project,)])
        else:
            self._write(schema.SET_SECTION, [(project, files, size, html)])

    def clear_sections(self) -> None:
        self._write("DELETE FROM sections", [()])

    def set_settings(self, settings: str) -> None:
        """Record the fingerprint of the settings the pages are written with."""
        if settings != self.settings:
            self._write(schema.SET_META, [("settings", settings)])
            self.settings = settings

    def commit(self) -> None:
        """Commit the changes made so far (nothing to do if there are none)."""
        if not self._open:
            return
        self._open = False
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                self._db.execute("ROLLBACK")
            raise IndexStateError(self.path, f"cannot save the state: {exc}") from exc

    def set_dirty(self, dirty: bool) -> None:
        """Record durably that a build is, or no longer is, changing the index's files.

        This commits the changes made so far: they are facts about the sources
        and the files already in place.
        """
        if dirty == self.dirty:
            return
        self._write(schema.SET_META, [("dirty", "1" if dirty else "0")])
        self.commit()
        self.dirty = dirty
