"""``verify`` names every sdist whose build requirements the index cannot satisfy."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from buildout.privateindex.cli import main
from buildout.privateindex.dists.model import DistFile, Kind
from buildout.privateindex.engine.build import build_index
from buildout.privateindex.engine.buildreqs import unbuildable_sdists
from buildout.privateindex.engine.verify import verify_index
from distfactory import make_sdist, make_tinybackend_wheel, make_wheel


def dist(
    name: str, version: str, build: tuple[str, ...] | None = None, sdist: bool = True
) -> DistFile:
    return DistFile(
        filename=f"{name}-{version}.tar.gz" if sdist else f"{name}-{version}-py3-none-any.whl",
        project=name,
        name=name,
        version=version,
        kind=Kind.SDIST if sdist else Kind.WHEEL,
        size=1,
        sha256="0" * 64,
        mtime_ns=0,
        build_requires=build,
    )


def test_each_missing_requirement_is_named() -> None:
    other = "win32" if sys.platform != "win32" else "linux"
    dists = [
        dist("legacy", "1.0"),  # no [build-system]: setuptools>=40.8.0
        dist(
            "modern",
            "1.0",
            ("hatchling>=1.10", "setuptools>=61", f'pywin; sys_platform == "{other}"'),
        ),
        dist("fine", "1.0", ("flit_core>=3,<4",)),
        dist("setuptools", "60.0", sdist=False),
        dist("flit-core", "3.9", sdist=False),
        dist("hatchling", "1.9", sdist=False),  # too old
    ]
    assert unbuildable_sdists(dists) == [
        "simple/modern/modern-1.0.tar.gz: cannot be built from the index: build requirement 'hatchling>=1.10' matches no file in it",
        "simple/modern/modern-1.0.tar.gz: cannot be built from the index: build requirement 'setuptools>=61' matches no file in it",
    ]
    # Without setuptools, the default requirement of a legacy sdist is named as such.
    assert unbuildable_sdists(dists[:1]) == [
        "simple/legacy/legacy-1.0.tar.gz: cannot be built from the index: build requirement "
        "'setuptools>=40.8.0' (PEP 517's default) matches no file in it"
    ]


def test_verify_reports_an_unbuildable_sdist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_sdist(src, "needy", "1.0", build_requires=["tinybackend>=2"])
    make_sdist(src, "happy", "1.0", build_requires=["tinybackend"])
    make_tinybackend_wheel(src)
    make_wheel(src, "plain", "1.0")
    out = tmp_path / "index"
    assert build_index([src], out).ok
    line = (
        "simple/needy/needy-1.0.tar.gz: cannot be built from the index: "
        "build requirement 'tinybackend>=2' matches no file in it"
    )
    assert verify_index(out) == [line]
    assert main(["verify", str(out)]) == 1
    printed, err = capsys.readouterr()
    assert printed == line + "\n"
    assert err == f"privateindex: error: 1 problem in {out}\n"
    # With the backend it needs, the index is clean.
    make_tinybackend_wheel(src, "2.0")
    assert build_index([src], out).ok
    assert verify_index(out) == []
