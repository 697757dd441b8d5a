"""Targets: one online run fills the index for every teammate's platform and Python.

The upstream is a test index on 127.0.0.1 whose tiny wheels carry real
platform tags; each target then resolves against the built index with no
network and empty caches, with pip (``--platform``) and with uv.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildout.privateindex.closure.resolve import find_uv
from buildout.privateindex.closure.targets import (
    TargetError,
    host_target,
    make_targets,
    parse_platform,
    parse_python_version,
)
from buildout.privateindex.engine.build import build_index, load_index
from buildoutenv import SampleBuildout, empty_caches, run_offline
from conftest import isolated_pip_environ
from distfactory import (
    make_bootstrap_standins,
    make_sdist,
    make_tinybackend_wheel,
    make_wheel,
)
from servers import StaticServer, serve_directory

PLATFORMS = ("manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "macosx_11_0_arm64", "win_amd64")
PYTHONS = ("3.10", "3.12")
#: The one target the upstream has no ``lib`` wheel for.
SOURCE_ONLY = ("win_amd64", "3.10")


# -- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "uv_name", "sys_platform", "machine"),
    [
        ("manylinux_2_17_x86_64", "x86_64-manylinux_2_17", "linux", "x86_64"),
        ("manylinux_2_28_aarch64", "aarch64-manylinux_2_28", "linux", "aarch64"),
        ("manylinux2014_x86_64", "x86_64-manylinux2014", "linux", "x86_64"),
        ("musllinux_1_2_x86_64", "x86_64-unknown-linux-musl", "linux", "x86_64"),
        ("macosx_11_0_arm64", "aarch64-apple-darwin", "darwin", "arm64"),
        ("macosx_10_12_x86_64", "x86_64-apple-darwin", "darwin", "x86_64"),
        ("win_amd64", "x86_64-pc-windows-msvc", "win32", "AMD64"),
        ("win32", "i686-pc-windows-msvc", "win32", "x86"),
        ("win_arm64", "aarch64-pc-windows-msvc", "win32", "ARM64"),
    ],
)
def test_platform_tags(tag: str, uv_name: str, sys_platform: str, machine: str) -> None:
    plat = parse_platform(tag)
    assert (plat.uv_name, plat.sys_platform, plat.platform_machine) == (
        uv_name,
        sys_platform,
        machine,
    )


def test_macos_deployment_target_goes_to_uv() -> None:
    (target,) = [t for t in make_targets(["macosx_11_0_arm64"], ["3.12"]) if not t.host]
    assert target.uv_environment() == {"MACOSX_DEPLOYMENT_TARGET": "11.0"}
    assert target.uv_arguments("/py")[-4:] == [
        "--python-platform",
        "aarch64-apple-darwin",
        "--python-version",
        "3.12",
    ]


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("manylinux_2_5_x86_64", "manylinux_2_17 and manylinux_2_28 to manylinux_2_40 only"),
        ("manylinux_2_17_ppc64le", "x86_64 and aarch64 only"),
        ("macosx_11_0_universal2", "arm64 or x86_64"),
        ("any", "not a wheel platform tag"),
    ],
)
def test_bad_platform_tags_are_named(tag: str, message: str) -> None:
    with pytest.raises(TargetError, match=message) as info:
        parse_platform(tag)
    assert repr(tag) in str(info.value)


@pytest.mark.parametrize("text", ["3", "2.7", "3.7", "three", "3.12.x", "3.12-dev"])
def test_bad_python_versions(text: str) -> None:
    with pytest.raises(TargetError, match="not a Python version"):
        parse_python_version(text)


def test_targets_are_the_host_plus_the_product() -> None:
    host = host_target()
    targets = make_targets(["win_amd64", "macosx_11_0_arm64"], ["3.10", "3.12"])
    assert targets[0] == host and targets[0].host
    assert [str(t) for t in targets[1:]] == [
        "win_amd64 / Python 3.10",
        "win_amd64 / Python 3.12",
        "macosx_11_0_arm64 / Python 3.10",
        "macosx_11_0_arm64 / Python 3.12",
    ]
    # Only one list given: the other is this machine's.
    assert [str(t) for t in make_targets([], ["3.10"])[1:]] == [
        f"{host.platform.tag} / Python 3.10"
    ]
    assert make_targets([], [host.short_python]) == [host]


def test_marker_environment_of_a_target() -> None:
    (win,) = [t for t in make_targets(["win_amd64"], ["3.12"]) if not t.host]
    env = win.marker_environment()
    assert env["sys_platform"] == "win32"
    assert env["platform_system"] == "Windows"
    assert env["os_name"] == "nt"
    assert env["python_version"] == "3.12"
    assert env["python_full_version"] == "3.12.0"
    assert env["implementation_name"] == "cpython"


# -- a real buildout filling eight targets ------------------------------------------------


def tag_of(platform: str, python: str) -> str:
    py = "cp" + python.replace(".", "")
    return f"{py}-{py}-{platform}"


@pytest.fixture(scope="module")
def tagged_upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dists = tmp_path_factory.mktemp("tagged-dists")
    make_wheel(
        dists,
        "demo-app",
        "1.0",
        requires_dist=[
            "demo-lib",
            'onlywin; sys_platform == "win32"',
            'backport; python_version < "3.11"',
        ],
    )
    host = host_target()
    for platform in PLATFORMS:
        for python in PYTHONS:
            if (platform, python) != SOURCE_ONLY:
                make_wheel(dists, "demo-lib", "2.0", tag=tag_of(platform, python))
    make_wheel(dists, "demo-lib", "2.0", tag=tag_of("manylinux_2_17_x86_64", host.short_python))
    make_wheel(dists, "demo-lib", "2.0", tag="cp313-cp313-musllinux_1_2_x86_64")  # nobody's
    make_sdist(dists, "demo-lib", "2.0", build_requires=["tinybackend"])
    make_wheel(dists, "demo-lib", "3.0")  # newer, but [versions] pins 2.0
    make_wheel(dists, "onlywin", "1.0")
    make_wheel(dists, "backport", "1.0")
    make_wheel(dists, "backport", "2.0")  # [versions:python310] pins 1.0
    make_tinybackend_wheel(dists)
    make_bootstrap_standins(dists)
    out = tmp_path_factory.mktemp("tagged") / "index"
    assert build_index([dists], out).ok
    return out


@pytest.fixture
def tagged(tagged_upstream: Path) -> Iterator[StaticServer]:
    with serve_directory(tagged_upstream) as server:
        yield server


TARGETS_CONFIG = """
[buildout]
extensions = buildout.privateindex
download-cache = ${{buildout:directory}}/downloads
index = {index}
newest = false
parts = app private-index

[versions]
demo-lib = 2.0

[versions:python310]
backport = 1.0

[app]
recipe = zc.recipe.egg
eggs = demo-app
interpreter = py

[private-index]
recipe = buildout.privateindex
platforms = {platforms}
python-versions = {pythons}
"""


def fill(sample: SampleBuildout, server: StaticServer) -> str:
    index = server.url + "simple/"
    sample.write(
        TARGETS_CONFIG.format(index=index, platforms=" ".join(PLATFORMS), pythons=" ".join(PYTHONS))
    )
    run = sample.run(env={"PIP_INDEX_URL": index})
    assert run.returncode == 0, run
    return run.output


def offline(command: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with no network (when possible) and empty pip and uv caches."""
    env = isolated_pip_environ()
    env.update(empty_caches(tmp))
    return run_offline(command, env)


def test_one_online_run_fills_every_target(
    sample: SampleBuildout, tagged: StaticServer, tmp_path: Path
) -> None:
    output = fill(sample, tagged)
    index = sample.directory / "private-index"
    files = {d.filename for d in load_index(index)}
    projects = {d.project for d in load_index(index)}
    # Every target's wheel of the pinned lib, and the sdist with its backend
    # for the target that has no wheel ...
    for platform in PLATFORMS:
        for python in PYTHONS:
            if (platform, python) != SOURCE_ONLY:
                assert f"demo_lib-2.0-{tag_of(platform, python)}.whl" in files
    assert "demo_lib-2.0.tar.gz" in files and "tinybackend" in projects
    # ... marker-only dependencies of the targets that need them, with the
    # conditional [versions] section evaluated for the target ...
    assert {"onlywin-1.0-py3-none-any.whl", "backport-1.0-py3-none-any.whl"} <= files
    assert "backport-2.0-py3-none-any.whl" not in files
    # ... and nothing no target needs.
    assert "demo_lib-3.0-py3-none-any.whl" not in files
    assert "demo_lib-2.0-cp313-cp313-musllinux_1_2_x86_64.whl" not in files
    assert {"zc-buildout", "pip", "setuptools", "buildout-privateindex"} <= projects

    # One summary line per target, naming what it builds from source.
    summaries = [line for line in output.splitlines() if "] target " in line]
    assert len(summaries) == 1 + len(PLATFORMS) * len(PYTHONS), output
    assert (
        "target win_amd64 / Python 3.10 (" in output
        and "projects): builds from source: demo-lib==2.0" in output
    )
    for platform in PLATFORMS:
        for python in PYTHONS:
            if (platform, python) != SOURCE_ONLY:
                line = next(s for s in summaries if f"target {platform} / Python {python} (" in s)
                assert line.endswith("wheels for everything"), line

    # Each target, offline against the built index: pip takes a wheel of every
    # pinned project (but the one the summary names) ...
    url = (index / "simple").as_uri() + "/"
    for platform in PLATFORMS:
        for python in PYTHONS:
            pins = ["demo-app==1.0", "demo-lib==2.0"]
            pins += ["onlywin==1.0"] if platform.startswith("win") else []
            pins += ["backport==1.0"] if python == "3.10" else []
            for pin in pins:
                proc = offline(pip_download(url, platform, python, pin, tmp_path), tmp_path)
                expect_wheel = not (pin == "demo-lib==2.0" and (platform, python) == SOURCE_ONLY)
                assert (proc.returncode == 0) is expect_wheel, (platform, python, pin, proc.stderr)
            # ... and uv resolves the target, wheel-only but for what is named.
            no_binary = ["demo-lib"] if (platform, python) == SOURCE_ONLY else []
            proc = offline(uv_compile(url, platform, python, no_binary, tmp_path), tmp_path)
            assert proc.returncode == 0, (platform, python, proc.stderr)


def pip_download(url: str, platform: str, python: str, pin: str, tmp: Path) -> list[str]:
    return [
        *python_m_pip(),
        "download",
        "--index-url",
        url,
        "--only-binary",
        ":all:",
        "--platform",
        platform,
        "--python-version",
        python,
        "--implementation",
        "cp",
        "--no-deps",
        "--dest",
        str(tmp / "downloaded"),
        pin,
    ]


def uv_compile(url: str, platform: str, python: str, no_binary: list[str], tmp: Path) -> list[str]:
    uv_name = parse_platform(platform)
    requirements = tmp / "requirements.in"
    requirements.write_text("demo-app\ndemo-lib==2.0\n")
    command = [find_uv(), "pip", "compile", "--no-config", "--offline", "--quiet"]
    command += ["--default-index", url, "--python-platform", uv_name.uv_name]
    command += ["--python-version", python, "--only-binary", ":all:"]
    for name in no_binary:
        command += ["--no-binary", name]
    return [*command, "-o", str(tmp / "requirements.txt"), str(requirements)]


def python_m_pip() -> list[str]:
    import sys

    return [sys.executable, "-m", "pip"]


def test_a_pin_a_target_cannot_install_is_reported(sample: SampleBuildout, tmp_path: Path) -> None:
    dists = tmp_path / "dists"
    dists.mkdir()
    make_wheel(dists, "demo-app", "1.0", requires_python=">=3.11")
    make_bootstrap_standins(dists)
    upstream = tmp_path / "upstream"
    assert build_index([dists], upstream).ok
    with serve_directory(upstream) as server:
        index = server.url + "simple/"
        text = TARGETS_CONFIG.format(index=index, platforms="win_amd64", pythons="3.10")
        sample.write(text.replace("[versions:python310]\nbackport = 1.0\n", ""))
        run = sample.run(env={"PIP_INDEX_URL": index})
    assert run.returncode == 0, run
    line = next(s for s in run.output.splitlines() if "target win_amd64 / Python 3.10 (" in s)
    assert "cannot install everything offline: demo-app" in line
    assert "Python>=3.11" in line
    host = next(s for s in run.output.splitlines() if "this machine" in s)
    assert host.endswith("wheels for everything")
