"""Real ``bin/buildout`` runs for the tests, around ``zc.buildout.testing``.

``zc.buildout.testing.buildoutSetUp`` bootstraps a sample buildout (with its
own ``bin/buildout``) in a temporary directory; this module wraps it in a
small object with methods to write the configuration and run buildout, online
or with no network at all (``unshare -n``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path

import zc.buildout.testing

from conftest import isolated_pip_environ

#: A team member's buildout that installs ``demo-app`` from a shared index.
CONSUMER = """\
[buildout]
extensions = buildout.privateindex
private-index = {private_index}
newest = false
parts = app

[app]
recipe = zc.recipe.egg
eggs = demo-app
interpreter = py
"""


@functools.cache
def can_cut_network() -> bool:
    """Whether ``unshare -n`` works here (it needs root, or user namespaces)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-n", "sh", "-c", "ip link set lo up"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def offline_command(command: list[str]) -> list[str]:
    """``command`` in a new network namespace holding nothing but loopback."""
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]


def run_offline(
    command: list[str], env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with no network but loopback (where ``unshare -n`` is permitted)."""
    if can_cut_network():
        command = offline_command(command)
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def empty_caches(base: Path) -> dict[str, str]:
    """A fresh, empty pip cache, uv cache and HOME (no ~/.buildout/default.cfg)."""
    import tempfile

    env = {}
    for name in ("PIP_CACHE_DIR", "UV_CACHE_DIR", "HOME"):
        env[name] = tempfile.mkdtemp(prefix=f"{name.lower()}-", dir=base)
    return env


@dataclass
class Run:
    returncode: int
    output: str

    def __str__(self) -> str:
        return f"exit {self.returncode}\n{self.output}"


@dataclass
class SampleBuildout:
    """A bootstrapped buildout directory with ``bin/buildout``."""

    directory: Path
    env: dict[str, str] = field(default_factory=dict)
    _globs: dict[str, object] = field(default_factory=dict, repr=False)

    def write(self, text: str, name: str = "buildout.cfg") -> Path:
        path = self.directory / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def run(self, *args: str, offline: bool = False, env: dict[str, str] | None = None) -> Run:
        """Run ``bin/buildout``; ``offline``: in a network namespace with loopback only
        (where permitted), with empty pip and uv caches and a clean HOME."""
        command = [str(self.directory / "bin" / "buildout"), *args]
        full_env = dict(self.env)
        if offline:
            if can_cut_network():
                command = offline_command(command)
            full_env.update(empty_caches(self.directory.parent))
        full_env.update(env or {})
        proc = subprocess.run(
            command,
            cwd=self.directory,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
            check=False,
        )
        return Run(proc.returncode, proc.stdout)

    def files_containing(self, needle: str) -> list[Path]:
        """Every file under the buildout whose bytes contain ``needle``."""
        data = needle.encode()
        found = []
        for path in self.directory.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    if data in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
        return found


def setup_buildout() -> tuple[SampleBuildout, types.SimpleNamespace]:
    test = types.SimpleNamespace(globs={})
    zc.buildout.testing.buildoutSetUp(test)
    directory = Path(str(test.globs["sample_buildout"]))
    env = isolated_pip_environ()
    env["HOME"] = os.environ["HOME"]  # buildoutSetUp's own, empty home
    env.pop("buildout_testing_index_url", None)
    return SampleBuildout(directory, env, test.globs), test


def teardown_buildout(test: types.SimpleNamespace) -> None:
    zc.buildout.testing.buildoutTearDown(test)
