"""What a Python environment has installed, for ``privateindex add --from-installed``.

:func:`installed_projects` runs a small script with the environment's own
interpreter (``python -I``: its site-packages, not the current directory nor
``PYTHONPATH``) that lists every distribution ``importlib.metadata`` finds,
the first of each name only (the one that is imported), with its version
and its PEP 610 ``direct_url.json``.  A project installed from a local
directory (editable or not) is on no index: :func:`build_wheel` builds a
wheel of it with ``uv build`` for that interpreter, in an isolated build
environment whose build requirements come from the upstream index.  Pure: it
never imports zc.buildout.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from buildout.privateindex.closure.add import AddError
from buildout.privateindex.closure.complete import local_source
from buildout.privateindex.closure.resolve import Resolver
from buildout.privateindex.closure.targets import host_target
from buildout.privateindex.sharing.location import redact

__all__ = ["Environment", "Installed", "build_wheel", "indexed_wheels", "installed_projects"]

logger = logging.getLogger(__name__)

_SCRIPT = """
import importlib.metadata, json, sys
seen, found = set(), []
for dist in importlib.metadata.distributions():
    name = dist.metadata["Name"]
    key = (name or "").lower().replace("_", "-").replace(".", "-")
    if not name or key in seen:
        continue
    seen.add(key)
    found.append([name, dist.version, dist.read_text("direct_url.json")])
json.dump({"python": "%d.%d.%d" % sys.version_info[:3], "projects": found}, sys.stdout)
"""


@dataclass(frozen=True)
class Installed:
    """One installed project: its name, version, and its local source directory if any."""

    name: str
    version: str
    source: Path | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The normalized name and version."""
        return canonicalize_name(self.name), _normalized(self.version)

    @property
    def pin(self) -> str:
        """The requirement of exactly this version (``===`` for a non-PEP 440 one)."""
        try:
            Version(self.version)
        except InvalidVersion:
            return f"{self.name}==={self.version}"
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Environment:
    """An environment's interpreter, its Python version, and what it has installed."""

    python: str
    version: str
    projects: tuple[Installed, ...]


def installed_projects(python: str) -> Environment:
    """What the environment of interpreter ``python`` has installed.

    :raises AddError: ``python`` cannot be run, or its answer cannot be read.
    """
    try:
        proc = subprocess.run(
            [python, "-I", "-c", _SCRIPT], capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise AddError("--python", f"cannot run it ({exc.strerror or exc})", python) from None
    try:
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        lines = [line for line in redact(proc.stderr).splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit status {proc.returncode}"
        raise AddError("--python", f"cannot list what it has installed ({reason})", python)
    projects = tuple(
        Installed(str(name), str(version), local_source(text))
        for name, version, text in data.get("projects", [])
    )
    return Environment(python, str(data.get("python", "")), projects)


def _normalized(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def indexed_wheels(output: str | os.PathLike[str]) -> set[tuple[str, str]]:
    """The (normalized name, version) of every wheel the index in ``output`` holds
    (none when it is no index yet)."""
    from buildout.privateindex.dists.model import Kind
    from buildout.privateindex.engine.build import load_index
    from buildout.privateindex.errors import IndexStateError

    try:
        dists = load_index(output)
    except IndexStateError:
        return set()
    return {(d.project, _normalized(d.version)) for d in dists if d.kind is Kind.WHEEL}


def build_wheel(project: Installed, dest: Path, python: str, index_url: str) -> str:
    """Build a wheel of a locally installed project into ``dest``; its pin.

    ``uv build --wheel`` for ``python``, building in isolation with build
    requirements from ``index_url`` (which may carry credentials: they reach
    uv through its environment only).

    :raises AddError: the build fails (naming the project and uv's reason).
    """
    assert project.source is not None
    resolver = Resolver([index_url], python)
    before = {path.name for path in dest.iterdir()}
    args: Sequence[str] = [resolver.uv, "build", "--wheel", "--quiet", "--python", python]
    args = [*args, "--out-dir", str(dest), str(project.source)]
    proc = subprocess.run(
        args,
        env=resolver.environment(host_target()),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    built = sorted(p.name for p in dest.glob("*.whl") if p.name not in before)
    if proc.returncode != 0 or not built:
        lines = [line.strip() for line in redact(proc.stdout).splitlines() if line.strip()]
        reason = lines[-1] if lines else f"uv build failed (exit status {proc.returncode})"
        raise AddError(project.name, f"cannot build a wheel of {project.source}: {reason}")
    name, version, _, _ = parse_wheel_filename(built[0])
    if canonicalize_name(project.name) != name:
        logger.warning("%s built a wheel of %s", project.source, name)
    logger.info("built %s from %s", built[0], project.source)
    return f"{name}=={version}"
