"""Completeness: what an offline run needs that a download cache lacks.

A download cache holds what buildout downloaded, but an offline run also needs
what pip fetched by itself (the build requirements of every sdist), what
buildout found already installed, and what a fresh checkout bootstraps with.
This module decides which requirements the index cannot satisfy yet and
fetches them from an upstream index with ``pip download``.  It never imports
zc.buildout.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from buildout.privateindex.sharing.location import redact

logger = logging.getLogger(__name__)

#: What a fresh checkout needs to bootstrap a buildout from the index.
BOOTSTRAP_PROJECTS: tuple[str, ...] = (
    "zc.buildout",
    "setuptools",
    "pip",
    "wheel",
    "zc.recipe.egg",
    "buildout.privateindex",
)


def installed_version(project: str) -> str | None:
    """The version of ``project`` installed in this Python, or None."""
    try:
        return importlib.metadata.version(project)
    except importlib.metadata.PackageNotFoundError:
        return None


def bootstrap_requirements(used: Mapping[str, str]) -> list[Requirement]:
    """Pins for the bootstrap set: the version this run uses, else the installed one."""
    reqs = []
    for project in BOOTSTRAP_PROJECTS:
        version = used.get(canonicalize_name(project)) or installed_version(project)
        if version:
            reqs.append(Requirement(f"{project}=={version}"))
    return reqs


def local_source_dir(project: str) -> Path | None:
    """The source directory of a project installed from a local directory (PEP 610)."""
    try:
        text = importlib.metadata.distribution(project).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    return local_source(text)


def local_source(direct_url: str | None) -> Path | None:
    """The directory a PEP 610 ``direct_url.json`` names, if it names a local one."""
    if not direct_url:
        return None
    try:
        data = json.loads(direct_url)
    except ValueError:
        return None
    if not isinstance(data, dict) or "dir_info" not in data:
        return None
    url = data.get("url", "")
    if not isinstance(url, str) or not url.startswith("file://"):
        return None
    path = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    return path if path.is_dir() else None


def pip_environment(
    index_url: str, pythonpath: Sequence[str] = (), base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """An environment in which pip uses ``index_url`` only, and no config file."""
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith("PIP_")
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_INDEX_URL"] = index_url
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([*pythonpath, env.get("PYTHONPATH", "")])
    return env


def _run_pip(args: Sequence[str], env: Mapping[str, str]) -> tuple[bool, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    return proc.returncode == 0, redact(proc.stdout)


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["pip failed"])[-1]


def version_constraints(versions: Mapping[str, str]) -> list[str]:
    """Constraint lines for a buildout ``[versions]`` mapping, as buildout reads it.

    A value starting with ``<`` or ``>`` (or another operator) is a specifier,
    anything else an exact version.  Values that make no requirement (a
    ``${...}`` left unexpanded, an empty one) are left out.
    """
    lines = []
    for name, value in sorted(versions.items()):
        value = value.strip()
        spec = value if value[:1] in "<>=!~" else f"=={value}"
        try:
            lines.append(str(Requirement(f"{name}{spec}")))
        except InvalidRequirement:
            logger.debug("ignoring [versions] %s = %s: not a version", name, value)
    return lines


def develop_requirements(location: str, project: str, fallback: Sequence[str]) -> list[str]:
    """The requirements of a develop egg, with their markers (read with pkginfo).

    ``fallback`` (the requirements as evaluated for this machine) serves when
    the egg's metadata lists none.
    """
    import pkginfo

    base = Path(location)
    try:
        candidates = [base, *sorted(p for p in base.iterdir() if p.suffix == ".egg-info")]
    except OSError:
        return list(fallback)
    for candidate in candidates:
        if not (candidate / "PKG-INFO").is_file():
            continue
        meta = pkginfo.Develop(str(candidate))
        if canonicalize_name(meta.name or "") == project and meta.requires_dist:
            return [str(req) for req in meta.requires_dist]
    return list(fallback)


def build_local_wheel(source: Path, dest: Path, pythonpath: Sequence[str] = ()) -> str | None:
    """Build a wheel of a locally installed project into ``dest``; an error text or None."""
    env = pip_environment("", pythonpath)
    del env["PIP_INDEX_URL"]
    env["PIP_NO_INDEX"] = "1"
    args = ["wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dest), str(source)]
    ok, output = _run_pip([*args, "--quiet"], env)
    return None if ok else _last_error(output)
