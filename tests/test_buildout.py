"""Real ``bin/buildout`` runs: populate the private index, then install from it offline."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index, load_index
from buildoutenv import CONSUMER, SampleBuildout, can_cut_network
from distfactory import make_bootstrap_standins, make_sdist, make_tinybackend_wheel, make_wheel
from servers import StaticServer, serve_directory

OFFLINE = can_cut_network()

CONFIG = """
[buildout]
extensions = buildout.privateindex
download-cache = ${{buildout:directory}}/downloads
index = {index}
newest = false
parts = app private-index
{extra}

[app]
recipe = zc.recipe.egg
eggs = {eggs}
interpreter = py

[private-index]
recipe = buildout.privateindex
directory = ${{buildout:directory}}/private-index
{part_extra}
"""


def config(index: str, *, eggs: str = "demo-app", extra: str = "", part_extra: str = "") -> str:
    return CONFIG.format(index=index, eggs=eggs, extra=extra, part_extra=part_extra)


@pytest.fixture(scope="module")
def upstream_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An upstream index: an app wheel, an sdist needing a build backend, the
    backend, and stand-ins for the bootstrap projects at the versions in use."""
    dists = tmp_path_factory.mktemp("upstream-dists")
    make_wheel(dists, "demo-app", "1.0", requires_dist=["demo-lib"])
    make_sdist(dists, "demo-lib", "2.0", "tar.gz", build_requires=["tinybackend"])
    make_wheel(dists, "extra-tool", "3.0")
    make_tinybackend_wheel(dists)
    make_bootstrap_standins(dists)
    out = tmp_path_factory.mktemp("upstream") / "index"
    assert build_index([dists], out).ok
    return out


@pytest.fixture
def upstream(upstream_index: Path) -> Iterator[StaticServer]:
    with serve_directory(upstream_index) as server:
        yield server


def populate(sample: SampleBuildout, upstream: StaticServer, **kwargs: str) -> str:
    index = upstream.url + "simple/"
    sample.write(config(index, **kwargs))
    run = sample.run(env={"PIP_INDEX_URL": index})
    assert run.returncode == 0, run
    return run.output


def forget_installed(sample: SampleBuildout) -> None:
    """Empty the eggs directory and the download cache."""
    for path in (sample.directory / "eggs" / "v5").iterdir():
        if path.suffix == ".egg":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.rmtree(sample.directory / "downloads" / "dist")


def python_says(sample: SampleBuildout, code: str) -> str:
    proc = subprocess.run(
        [str(sample.directory / "bin" / "py"), "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def test_first_run_populates_and_the_next_installs_offline(
    sample: SampleBuildout, upstream: StaticServer
) -> None:
    output = populate(sample, upstream)
    assert "does not exist yet" in output
    assert "Unused option" not in output
    simple = sample.directory / "private-index" / "simple"
    projects = {d.project for d in load_index(simple.parent)}
    # From the download cache ...
    assert {"demo-app", "demo-lib"} <= projects
    assert (simple / "demo-lib" / "demo_lib-2.0.tar.gz").is_file()
    # ... the sdist's build backend, which pip fetched itself ...
    assert "tinybackend" in projects
    # ... and the bootstrap set, at the versions in use.
    assert {
        "zc-buildout",
        "setuptools",
        "pip",
        "zc-recipe-egg",
        "buildout-privateindex",
    } <= projects
    assert "extra-tool" not in projects

    forget_installed(sample)
    upstream.stop()
    run = sample.run(offline=OFFLINE)
    assert run.returncode == 0, run
    assert f"installing only from {simple.as_uri()}/" in run.output
    assert "Installed from the private index" in run.output
    assert "demo-lib 2.0" in run.output
    versions = python_says(
        sample, "import demo_app, demo_lib; print(demo_app.VERSION, demo_lib.VERSION)"
    )
    assert versions == "1.0 2.0"
    assert "Unused option" not in run.output
    # The finder goes straight to each project's directory: no whole-index scan.
    assert "Scanning index of all packages" not in run.output
    assert "Couldn't retrieve index page" not in run.output


def test_include_fetches_extra_requirements(sample: SampleBuildout, upstream: StaticServer) -> None:
    populate(sample, upstream, part_extra="include = extra-tool>=2")
    projects = {d.project for d in load_index(sample.directory / "private-index")}
    assert "extra-tool" in projects


def test_pinned_run_names_a_missing_requirement(
    sample: SampleBuildout, upstream: StaticServer
) -> None:
    populate(sample, upstream)
    upstream.stop()
    sample.write(config(upstream.url + "simple/", eggs="demo-app\n    not-in-the-index"))
    run = sample.run(offline=OFFLINE)
    assert run.returncode != 0
    simple = (sample.directory / "private-index" / "simple").as_uri()
    assert f"The private index {simple}/ has no distribution for 'not-in-the-index'" in run.output
    assert "Traceback" not in run.output


def test_pin_mode_needs_an_existing_index(sample: SampleBuildout, upstream: StaticServer) -> None:
    sample.write(config(upstream.url + "simple/", extra="private-index-mode = pin"))
    run = sample.run()
    assert run.returncode != 0
    assert "private-index-mode = pin, but the private index" in run.output
    assert "does not exist yet" in run.output


def test_mode_off_leaves_the_index_alone(sample: SampleBuildout, upstream: StaticServer) -> None:
    populate(sample, upstream)
    sample.write(config(upstream.url + "simple/", extra="private-index-mode = off"))
    run = sample.run(env={"PIP_INDEX_URL": upstream.url + "simple/"})
    assert run.returncode == 0, run
    assert "installing only from" not in run.output
    assert "Private index: off" in run.output


def test_bad_mode_is_a_clear_error(sample: SampleBuildout, upstream: StaticServer) -> None:
    sample.write(config(upstream.url + "simple/", extra="private-index-mode = sometimes"))
    run = sample.run()
    assert run.returncode != 0
    assert (
        "[buildout] option 'private-index-mode': expected one of auto, pin, off: 'sometimes'"
        in run.output
    )


def test_option_changes_and_uninstall_never_delete_the_index(
    sample: SampleBuildout, upstream: StaticServer
) -> None:
    populate(sample, upstream)
    index = sample.directory / "private-index"
    before = sorted(p.name for p in (index / "simple").iterdir())
    # Reconfigure the part (a reinstall for buildout) ...
    sample.write(config(upstream.url + "simple/", part_extra="yank = demo-lib==2.0: broken"))
    run = sample.run()
    assert run.returncode == 0, run
    assert 'data-yanked="broken"' in (index / "simple" / "demo-lib" / "index.html").read_text()
    # ... then drop the part (an uninstall) and the extension.
    sample.write(
        f"""
        [buildout]
        index = {upstream.url}simple/
        newest = false
        parts =
        """
    )
    run = sample.run()
    assert run.returncode == 0, run
    assert sorted(p.name for p in (index / "simple").iterdir()) == before
    assert (index / "simple" / "demo-lib" / "demo_lib-2.0.tar.gz").is_file()


def test_versions_file_pins_every_project(sample: SampleBuildout, upstream: StaticServer) -> None:
    populate(sample, upstream, part_extra="versions-file = ${buildout:directory}/versions.cfg")
    text = (sample.directory / "versions.cfg").read_text()
    assert "[versions]" in text
    assert "demo-app = 1.0" in text
    assert "demo-lib = 2.0" in text
    assert "tinybackend = 1.0" in text


def test_recipe_errors_name_part_option_and_value(
    sample: SampleBuildout, upstream: StaticServer
) -> None:
    sample.write(config(upstream.url + "simple/", part_extra="sources = /no/such/dir"))
    run = sample.run()
    assert run.returncode != 0
    assert (
        "[private-index] option 'sources': no such file or directory: '/no/such/dir'" in run.output
    )
    sample.write(config(upstream.url + "simple/", part_extra="complete = maybe"))
    run = sample.run()
    assert "[private-index] option 'complete': expected true or false: 'maybe'" in run.output
    sample.write(config(upstream.url + "simple/", part_extra="yank = demo-lib"))
    run = sample.run()
    assert "[private-index] option 'yank':" in run.output
    assert "'demo-lib'" in run.output
    sample.write(config(upstream.url + "simple/", part_extra="include = not a req!"))
    run = sample.run()
    assert "[private-index] option 'include': not a requirement (" in run.output
    assert "'not a req!'" in run.output
    sample.write(config(upstream.url + "simple/", part_extra="platforms = win_amd64 macosx_11"))
    run = sample.run()
    assert (
        "[private-index] option 'platforms': not a wheel platform tag this package can "
        "resolve for (examples: " in run.output
    )
    assert "'macosx_11'" in run.output
    sample.write(config(upstream.url + "simple/", part_extra="python-versions = 3.12 2.7"))
    run = sample.run()
    assert (
        "[private-index] option 'python-versions': not a Python version 3.8 or later "
        "(such as 3.12 or 3.12.4): '2.7'" in run.output
    )


@pytest.mark.parametrize(
    ("part_extra", "message"),
    [
        (
            "directory = ${buildout:directory}/downloads/index",
            "[private-index] option 'directory': lies inside the download cache "
            "'{d}/downloads': '{d}/downloads/index'",
        ),
        (
            "sources = ${buildout:directory}/private-index/own",
            "[private-index] option 'sources': overlaps the index directory "
            "'{d}/private-index': '{d}/private-index/own'",
        ),
        (
            "directory = ${buildout:directory}/buildout.cfg/index",
            "[private-index] option 'directory': '{d}/buildout.cfg' is not a directory: "
            "'{d}/buildout.cfg/index'",
        ),
    ],
)
def test_directory_is_checked_before_any_part_runs(
    sample: SampleBuildout, upstream: StaticServer, part_extra: str, message: str
) -> None:
    (sample.directory / "downloads").mkdir(exist_ok=True)
    (sample.directory / "private-index" / "own").mkdir(parents=True, exist_ok=True)
    sample.write(config(upstream.url + "simple/", part_extra=part_extra))
    run = sample.run()
    assert run.returncode != 0
    assert message.format(d=sample.directory) in run.output
    assert "Installing app" not in run.output
    assert upstream.requests == []


def test_consumer_over_http_with_basic_auth(
    sample: SampleBuildout, upstream: StaticServer, tmp_path: Path
) -> None:
    populate(sample, upstream)
    upstream.stop()
    password = "s3cr3t-p4ss"
    with serve_directory(sample.directory / "private-index", {"team": password}) as server:
        consumer = sample.directory / "consumer"
        consumer.mkdir()
        port = server.url.rsplit(":", 1)[1]
        private_index = f"http://team:{password}@127.0.0.1:{port}simple/"
        (consumer / "buildout.cfg").write_text(CONSUMER.format(private_index=private_index))
        run = sample.run("-c", str(consumer / "buildout.cfg"))
        assert run.returncode == 0, run
        assert any(path.endswith(".tar.gz") for path in server.requests)
    assert password not in run.output
    assert "installing only from http://127.0.0.1" in run.output
    assert sample.files_containing(password) == [consumer / "buildout.cfg"]


def test_already_installed_distributions_are_completed(
    sample: SampleBuildout, upstream: StaticServer
) -> None:
    """A shared eggs directory: what the run picks but never downloads is indexed too."""
    populate(sample, upstream)
    index = upstream.url + "simple/"
    text = config(index).replace("/downloads", "/downloads-2").replace("/private-index", "/second")
    sample.write(text)
    (sample.directory / "downloads-2").mkdir()
    run = sample.run(env={"PIP_INDEX_URL": index})
    assert run.returncode == 0, run
    assert not any((sample.directory / "downloads-2" / "dist").iterdir())  # nothing downloaded
    projects = {d.project for d in load_index(sample.directory / "second")}
    assert {"demo-app", "demo-lib", "tinybackend"} <= projects


def test_an_unwritable_versions_file_is_one_clear_error(
    sample: SampleBuildout, upstream: StaticServer
) -> None:
    (sample.directory / "pins.cfg").mkdir()  # a directory where the file should go
    sample.write(config(upstream.url + "simple/", part_extra="versions-file = pins.cfg"))
    run = sample.run()
    assert run.returncode != 0
    assert f"[private-index] {sample.directory}/pins.cfg: Is a directory" in run.output
    assert "Traceback" not in run.output


def test_a_run_builds_and_warns_once(sample: SampleBuildout, upstream: StaticServer) -> None:
    extra = sample.directory / "extra"
    extra.mkdir()
    (extra / "broken-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 no zip")
    output = populate(sample, upstream, part_extra=f"sources = {extra}")
    assert output.count("broken-1.0-py3-none-any.whl: ") == 1, output
    assert output.count(" files of ") == 1, output
    # Again, with the index in place: still once.
    run = sample.run("-v")
    assert run.returncode == 0, run
    assert run.output.count("broken-1.0-py3-none-any.whl: ") == 1, run.output
    assert run.output.count("page(s) written in") == 1, run.output  # one build
