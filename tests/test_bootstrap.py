"""A new teammate bootstraps a checkout from the team's index, with no network at all.

The upstream holds the real wheels of the bootstrap closure (fetched by
``make test`` into ``build/wheelhouse`` before the suite runs); the recipe
adds buildout.privateindex itself, built from this checkout.  Then a fresh
virtual environment, with no network and empty caches, installs zc.buildout,
zc.recipe.egg and buildout.privateindex from the index and runs a consumer
buildout from it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index, load_index
from buildoutenv import CONSUMER, SampleBuildout, empty_caches, run_offline
from conftest import isolated_pip_environ
from distfactory import make_sdist, make_tinybackend_wheel, make_wheel
from servers import serve_directory

WHEELHOUSE = Path(__file__).resolve().parent.parent / "build" / "wheelhouse"

CONFIG = """
[buildout]
extensions = buildout.privateindex
download-cache = ${{buildout:directory}}/downloads
index = {index}
newest = false
parts = app private-index

[app]
recipe = zc.recipe.egg
eggs = demo-app

[private-index]
recipe = buildout.privateindex
"""


@pytest.fixture(scope="module")
def real_upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = sorted(WHEELHOUSE.glob("*.whl"))
    assert wheels, f"no wheels in {WHEELHOUSE}: run `make test` (python tests/wheelhouse.py)"
    dists = tmp_path_factory.mktemp("real-dists")
    make_wheel(dists, "demo-app", "1.0", requires_dist=["demo-lib"])
    make_sdist(dists, "demo-lib", "2.0", build_requires=["tinybackend"])
    make_tinybackend_wheel(dists)
    out = tmp_path_factory.mktemp("real-upstream") / "index"
    assert build_index([dists, *wheels], out).ok
    return out


def test_fresh_checkout_bootstraps_from_the_index_offline(
    sample: SampleBuildout, real_upstream: Path, tmp_path: Path
) -> None:
    with serve_directory(real_upstream) as upstream:
        sample.write(CONFIG.format(index=upstream.url + "simple/"))
        built = sample.run(env={"PIP_INDEX_URL": upstream.url + "simple/"})
    assert built.returncode == 0, built
    index = sample.directory / "private-index"
    projects = {d.project for d in load_index(index)}
    assert {"zc-buildout", "zc-recipe-egg", "buildout-privateindex", "packaging", "pkginfo"} <= (
        projects
    )

    # A new teammate: a fresh venv, no network, empty caches, no pip configuration.
    env = isolated_pip_environ()
    env.update(empty_caches(tmp_path))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    url = (index / "simple").as_uri() + "/"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--isolated"]
    installed = run_offline(
        [*pip, "--index-url", url, "zc.buildout", "zc.recipe.egg", "buildout.privateindex"],
        env,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "buildout.cfg").write_text(CONSUMER.format(private_index=index))
    consumer = run_offline([str(venv / "bin" / "buildout")], env, cwd=checkout)
    output = consumer.stdout + consumer.stderr
    assert consumer.returncode == 0, output
    assert f"installing only from {url}" in output
    proc = subprocess.run(
        [str(checkout / "bin" / "py"), "-c", "import demo_app, demo_lib; print('ok')"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.strip() == "ok", proc.stderr
