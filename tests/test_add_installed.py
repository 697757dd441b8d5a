"""``privateindex add --from-installed``: what an environment has installed, at its versions.

The environment is a throwaway venv holding a wheel from the test upstream
(at an older version than the upstream's newest) and an editable install of
a local project, whose wheel ``add`` builds.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildout.privateindex.cli import main
from buildout.privateindex.closure.installed import installed_projects
from buildout.privateindex.closure.resolve import find_uv
from buildout.privateindex.engine.build import build_index, load_index
from buildoutenv import empty_caches, run_offline
from conftest import isolated_pip_environ
from distfactory import TINYBACKEND, core_metadata, make_wheel
from servers import StaticServer, serve_directory

#: ``tinybackend`` with PEP 660 editable installs: a ``.pth`` naming ``src``.
EDITABLE_BACKEND = TINYBACKEND + textwrap.dedent(
    """
    def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
        mod, _version = _module()
        return _write_wheel(wheel_directory, {mod + ".pth": (os.path.abspath("src") + "\\n").encode()})
    """
)


def local_project(root: Path) -> Path:
    """A checkout of ``localproj`` 0.1 (needing ``helper``) with an in-tree backend."""
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "tinybackend"\nbackend-path = ["."]\n'
    )
    (root / "PKG-INFO").write_text(core_metadata("localproj", "0.1", requires_dist=["helper"]))
    (root / "tinybackend.py").write_text(EDITABLE_BACKEND)
    (root / "src" / "localproj").mkdir(parents=True)
    (root / "src" / "localproj" / "__init__.py").write_text("VERSION = '0.1'\n")
    return root


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[StaticServer]:
    dists = tmp_path / "dists"
    dists.mkdir()
    make_wheel(dists, "helper", "1.0")
    make_wheel(dists, "helper", "2.0")
    make_wheel(dists, "unrelated", "1.0")
    assert build_index([dists], tmp_path / "upstream").ok
    with serve_directory(tmp_path / "upstream") as server:
        yield server


def uv_install(python: Path, url: str, *args: str, tmp: Path) -> None:
    env = isolated_pip_environ()
    env.update(empty_caches(tmp))
    command = [find_uv(), "pip", "install", "--python", str(python), "--index-url", url, *args]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_from_installed(
    upstream: StaticServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    url = upstream.url + "simple/"
    uv_install(python, url, "helper==1.0", tmp=tmp_path)
    checkout = local_project(tmp_path / "checkout")
    uv_install(python, url, "-e", str(checkout), tmp=tmp_path)

    env = installed_projects(str(python))
    assert {(p.name, p.version, p.source) for p in env.projects} == {
        ("helper", "1.0", None),
        ("localproj", "0.1", checkout),
    }

    idx = tmp_path / "idx"
    code = main(
        ["add", "-o", str(idx), "--index-url", url, "--from-installed", "--python", str(python)]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    # The installed version (not the newest), and a wheel built from the checkout.
    files = {dist.filename for dist in load_index(idx)}
    assert files == {"helper-1.0-py3-none-any.whl", "localproj-0.1-py3-none-any.whl"}
    assert "(this machine, 2 projects): wheels for everything" in out.splitlines()[0]
    assert "built localproj-0.1-py3-none-any.whl" not in out  # a log line, not output

    # What was installed installs again from the index alone.
    offline_env = isolated_pip_environ()
    offline_env.update(empty_caches(tmp_path))
    index = (idx / "simple").as_uri() + "/"
    target = tmp_path / "t"
    proc = run_offline(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--index-url",
            index,
            "--target",
            str(target),
            "localproj",
        ],
        offline_env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "localproj" / "__init__.py").is_file()
    assert (target / "helper-1.0.dist-info").is_dir()

    # Something installed that the upstream lacks (here, from a wheel file)
    # does not stop the rest from being added; the error names it.
    orphan = make_wheel(tmp_path, "orphan", "1.0")
    uv_install(python, url, str(orphan), tmp=tmp_path)
    make_wheel(tmp_path / "dists", "newcomer", "1.0")
    assert build_index([tmp_path / "dists"], tmp_path / "upstream").ok
    uv_install(python, url, "newcomer", tmp=tmp_path)
    code = main(
        ["add", "-o", str(idx), "--index-url", url, "--from-installed", "--python", str(python)]
    )
    out, err = capsys.readouterr()
    assert code == 1
    last = err.splitlines()[-1]
    assert last.startswith("privateindex: error: target ") and "orphan==1.0" in last, err
    assert "(this machine, " in err.splitlines()[0] and "cannot install everything offline" in err
    assert "newcomer-1.0-py3-none-any.whl" in {dist.filename for dist in load_index(idx)}


def test_an_interpreter_that_does_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope" / "python"
    code = main(["add", "-o", str(tmp_path / "idx"), "--from-installed", "--python", str(missing)])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(
        "privateindex: error: --python: cannot run it (No such file or directory)"
    )
    assert str(missing) in err and err.count("\n") == 1
