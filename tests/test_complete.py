"""Which requirements the index cannot satisfy, and the [versions] file."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement

from buildout.privateindex.closure import complete
from buildout.privateindex.closure.versionsfile import render_versions, write_versions_file
from buildout.privateindex.dists.model import DistFile, Kind
from buildout.privateindex.engine.buildreqs import satisfied


def dist(
    name: str, version: str, kind: Kind = Kind.WHEEL, build: tuple[str, ...] | None = None
) -> DistFile:
    return DistFile(
        filename=f"{name}-{version}.{'tar.gz' if kind is Kind.SDIST else 'whl'}",
        project=name.lower().replace("_", "-").replace(".", "-"),
        name=name,
        version=version,
        kind=kind,
        size=1,
        sha256="0" * 64,
        mtime_ns=0,
        build_requires=build,
    )


def test_build_requirements_default_and_declared() -> None:
    assert dist("legacy", "1", Kind.SDIST, None).effective_build_requires == ("setuptools>=40.8.0",)
    modern = dist("modern", "1", Kind.SDIST, ("hatchling>=1.10", "setuptools>=40.8.0"))
    assert modern.effective_build_requires == ("hatchling>=1.10", "setuptools>=40.8.0")
    assert dist("wheel_only", "1").effective_build_requires == ()


def test_satisfied_compares_normalized_names_and_specifiers() -> None:
    dists = [dist("Zope.Interface", "6.0"), dist("setuptools", "69.0")]
    assert satisfied(Requirement("zope-interface>=5"), dists)
    assert not satisfied(Requirement("setuptools>=70"), dists)
    assert not satisfied(Requirement("hatchling"), dists)


def test_prereleases_count_when_they_are_all_there_is() -> None:
    assert satisfied(Requirement("x>=1"), [dist("x", "2.0b1")])


def test_bootstrap_requirements_prefer_what_the_run_used() -> None:
    reqs = {
        r.name: str(r.specifier) for r in complete.bootstrap_requirements({"zc-recipe-egg": "9.9"})
    }
    assert reqs["zc.recipe.egg"] == "==9.9"
    assert reqs["setuptools"] == f"=={complete.installed_version('setuptools')}"


def test_pip_environment_ignores_pip_configuration() -> None:
    env = complete.pip_environment(
        "https://u/simple/", ["/p"], {"PIP_FIND_LINKS": "/x", "PATH": "/bin", "PYTHONPATH": "/q"}
    )
    assert env["PIP_INDEX_URL"] == "https://u/simple/"
    assert "PIP_FIND_LINKS" not in env
    assert env["PIP_CONFIG_FILE"] == __import__("os").devnull
    assert env["PYTHONPATH"].startswith("/p")


def test_versions_file(tmp_path: Path) -> None:
    dists = [
        dist("Demo.App", "1.0"),
        dist("Demo.App", "2.0"),
        dist("lib", "0.9"),
        dist("lib", "0.10"),
    ]
    text = render_versions(dists, {"demo-app": "1.0"}, source="/srv/idx")
    assert text.splitlines()[2:] == ["[versions]", "Demo.App = 1.0", "lib = 0.10"]
    path = tmp_path / "versions.cfg"
    assert write_versions_file(path, dists, {}, source="/srv/idx")
    assert "Demo.App = 2.0" in path.read_text()
    assert not write_versions_file(path, dists, {}, source="/srv/idx")  # unchanged: not rewritten
