"""Real installs from a built index with pip and uv, over file:// and over HTTP.

One index is built per module: ``whlpkg`` wheels (2.0 yanked), one sdist per
archive format (each built by ``tinybackend``, which the index also holds, so
build isolation works offline), served by ``privateindex serve``'s server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index
from distfactory import SDIST_FORMATS, make_sdist, make_tinybackend_wheel, make_wheel
from servers import serve_index

#: Project name of the sdist in each format.
SDISTS = {fmt: "sd-" + fmt.replace(".", "") for fmt in SDIST_FORMATS}
#: Formats uv refuses since it enforces PEP 625 (only .tar.gz and .zip).
LEGACY_FORMATS = ("tgz", "tar.bz2", "tar.xz")
UV_FORMATS = tuple(f for f in SDIST_FORMATS if f not in LEGACY_FORMATS)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("dists")
    make_tinybackend_wheel(src)
    make_wheel(src, "whlpkg", "1.0")
    make_wheel(src, "whlpkg", "2.0")
    for fmt, name in SDISTS.items():
        make_sdist(src, name, "3.0", fmt)
    # A name older tools wrote: version "0.1.3-r0" (PEP 440: 0.1.3.post0).
    make_sdist(src, "oldname", "0.1.3.post0", filename="oldname-0.1.3-r0.tar.gz")
    out = tmp_path_factory.mktemp("installable") / "index"
    report = build_index([src], out, yanks=["whlpkg==2.0: do not use"])
    assert report.ok and report.files == 4 + len(SDISTS), report.problems
    return out


@pytest.fixture(scope="module")
def http_url(index: Path) -> Iterator[str]:
    with serve_index(index) as url:
        yield url


@pytest.fixture(scope="module")
def urls(index: Path, http_url: str) -> dict[str, str]:
    return {"file": (index / "simple").as_uri() + "/", "http": http_url}


@pytest.fixture(params=["file", "http"])
def url(request: pytest.FixtureRequest, urls: dict[str, str]) -> str:
    return urls[request.param]


@pytest.fixture
def env(pip_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """pip and uv isolated from this machine, with throw-away caches."""
    return {
        **pip_env,
        "PIP_NO_CACHE_DIR": "1",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
    }


def run(
    argv: Sequence[str | os.PathLike[str]], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in argv], env=env, capture_output=True, text=True, timeout=300
    )


def check(argv: Sequence[str | os.PathLike[str]], env: dict[str, str]) -> str:
    proc = run(argv, env)
    assert proc.returncode == 0, f"{argv}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def pip(*args: str | os.PathLike[str]) -> list[str | os.PathLike[str]]:
    return [sys.executable, "-m", "pip", *args]


def uv(*args: str | os.PathLike[str]) -> list[str | os.PathLike[str]]:
    return [sys.executable, "-m", "uv", *args]


def uv_install(
    python: str | os.PathLike[str], url: str, *args: str | os.PathLike[str]
) -> list[str | os.PathLike[str]]:
    """``uv pip install`` for ``python`` from the index at ``url``."""
    return uv("pip", "install", "--python", python, "--index-url", url, *args)


def version_in(target: Path, project: str) -> str:
    module = project.replace("-", "_")
    text = (target / module / "__init__.py").read_text()
    return text.split("=", 1)[1].strip().strip("'\"")


def test_pip_installs_the_newest_wheel_not_yanked(
    url: str, env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "t"
    check(pip("install", "--no-deps", "--target", target, "--index-url", url, "whlpkg"), env)
    assert version_in(target, "whlpkg") == "1.0"
    pinned = tmp_path / "pinned"
    out = check(
        pip("install", "--no-deps", "--target", pinned, "--index-url", url, "whlpkg==2.0"), env
    )
    assert version_in(pinned, "whlpkg") == "2.0"
    assert "do not use" in out  # pip shows the yank reason


def test_pip_installs_a_legacy_sdist_name(url: str, env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "t"
    check(pip("install", "--target", target, "--index-url", url, "oldname==0.1.3.post0"), env)
    assert version_in(target, "oldname") == "0.1.3.post0"


@pytest.mark.parametrize(
    ("transport", "fmt"),
    # Every format from files; over HTTP (slower) a modern and a legacy one.
    [*(("file", fmt) for fmt in SDIST_FORMATS), ("http", "tar.gz"), ("http", "tar.xz")],
)
def test_pip_builds_sdists_of_every_format(
    transport: str, fmt: str, urls: dict[str, str], env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "t"
    # Build isolation on: pip fetches tinybackend from the index to build.
    check(pip("install", "--target", target, "--index-url", urls[transport], SDISTS[fmt]), env)
    assert version_in(target, SDISTS[fmt]) == "3.0"


def test_pip_download(url: str, env: dict[str, str], index: Path, tmp_path: Path) -> None:
    dest = tmp_path / "d"
    names = ["whlpkg==2.0", SDISTS["tar.xz"], SDISTS["zip"]]
    check(pip("download", "--no-deps", "-d", dest, "--index-url", url, *names), env)
    got = sorted(p.name for p in dest.iterdir())
    assert got == ["sd_tarxz-3.0.tar.xz", "sd_zip-3.0.zip", "whlpkg-2.0-py3-none-any.whl"]
    for path in dest.iterdir():
        project = "whlpkg" if path.suffix == ".whl" else path.name.split("-")[0].replace("_", "-")
        assert path.read_bytes() == (index / "simple" / project / path.name).read_bytes()


def test_uv_installs_into_a_target(url: str, env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "t"
    names = ["whlpkg", *(SDISTS[fmt] for fmt in UV_FORMATS)]
    check(uv_install(sys.executable, url, "--target", target, *names), env)
    assert version_in(target, "whlpkg") == "1.0"  # 2.0 is yanked
    for fmt in UV_FORMATS:
        assert version_in(target, SDISTS[fmt]) == "3.0"


def test_uv_installs_into_a_venv(url: str, env: dict[str, str], tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    check(uv("venv", "--python", sys.executable, venv), env)
    python = venv / "bin" / "python"
    check(uv_install(python, url, "whlpkg==2.0", SDISTS["tar.gz"]), env)
    code = "import whlpkg, sd_targz; print(whlpkg.VERSION, sd_targz.VERSION)"
    assert check([python, "-c", code], env).strip() == "2.0 3.0"


@pytest.mark.parametrize("fmt", LEGACY_FORMATS)
def test_uv_and_legacy_sdist_formats(
    fmt: str, index: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """Newer uv refuses sdists that are neither .tar.gz nor .zip (PEP 625)."""
    target = tmp_path / "t"
    url = (index / "simple").as_uri() + "/"
    proc = run(uv_install(sys.executable, url, "--target", target, SDISTS[fmt]), env)
    if proc.returncode == 0:  # older uv
        assert version_in(target, SDISTS[fmt]) == "3.0"
    else:
        assert "PEP 625" in proc.stderr, proc.stderr
        assert not (target / SDISTS[fmt].replace("-", "_")).exists()
