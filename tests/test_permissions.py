"""Who may read what: the served tree by all, the private state by its owner.

The index is built with ``umask 077`` from a download cache holding a 0600
file, in a directory every user can enter, and read back as ``nobody``: a
web server running as another user reads every served file and no state.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from distfactory import make_sdist, make_wheel


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory under /tmp that every user may enter (pytest's are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="privateindex-perm-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def as_nobody(*command: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["runuser", "-u", "nobody", "--", *command], capture_output=True)


def test_the_served_tree_is_public_and_the_state_private(shared: Path) -> None:
    cache = shared / "cache"
    cache.mkdir()
    private = make_wheel(cache, "secretive", "1.0")
    private.chmod(0o600)  # as a download cache may keep it
    public = make_sdist(cache, "open", "1.0")
    public.chmod(0o644)
    out = shared / "index"
    build = f"umask 077 && exec {sys.executable} -m buildout.privateindex build -q {cache} -o {out}"
    subprocess.run(["sh", "-c", build], check=True)

    served = [p for p in (out / "simple").rglob("*")] + [out / "index.html"]
    served += [out / "projects", *(out / "projects").iterdir()]  # the pages for people
    assert len([p for p in served if p.is_file()]) >= 10
    for path in served:
        assert mode(path) == (0o755 if path.is_dir() else 0o644), path
    assert mode(out) == 0o755
    state = out / ".privateindex"
    assert mode(state) == 0o711
    assert mode(state / "state.sqlite") == 0o600
    assert mode(state / "lock") == 0o664
    # The cache's private file was copied, not linked (a link shares its mode).
    copy = out / "simple" / "secretive" / private.name
    assert mode(private) == 0o600 and copy.stat().st_ino != private.stat().st_ino
    assert (out / "simple" / "open" / public.name).stat().st_ino == public.stat().st_ino
    # Another user reads every served file, and neither the state nor its listing.
    for path in served:
        if path.is_file():
            assert as_nobody("cat", str(path)).returncode == 0, path
    assert as_nobody("cat", str(state / "state.sqlite")).returncode != 0
    assert as_nobody("ls", str(state)).returncode != 0


def test_an_existing_state_becomes_private(shared: Path) -> None:
    src = shared / "src"
    src.mkdir()
    make_wheel(src, "x", "1.0")
    out = shared / "index"
    from buildout.privateindex.engine.build import build_index

    build_index([src], out)
    (out / ".privateindex" / "state.sqlite").chmod(0o644)  # as 0.1.0's first builds left it
    build_index([src], out)
    assert mode(out / ".privateindex" / "state.sqlite") == 0o600
    assert os.access(out / ".privateindex" / "state.sqlite", os.R_OK)
