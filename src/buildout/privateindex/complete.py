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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from buildout.privateindex.location import redact
from buildout.privateindex.model import DistFile

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


@dataclass
class FetchResult:
    """Files ``pip download`` wrote, and the requirements it could not get."""

    files: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def parse_requirements(lines: Iterable[str], *, origin: str) -> list[Requirement]:
    """Parse requirement strings, skipping those whose markers exclude this Python.

    Raises ``InvalidRequirement`` naming ``origin`` for a malformed one.
    """
    env = default_environment()
    result = []
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise InvalidRequirement(f"{origin}: {text!r}: {exc}") from None
        if req.marker is None or req.marker.evaluate(env):  # type: ignore[arg-type]
            result.append(req)
    return result


def build_requirements(dists: Iterable[DistFile]) -> list[Requirement]:
    """The PEP 517 build requirements of every sdist among ``dists``."""
    seen: dict[str, Requirement] = {}
    for dist in dists:
        for req in parse_requirements(dist.effective_build_requires, origin=dist.filename):
            seen.setdefault(str(req), req)
    return [seen[key] for key in sorted(seen)]


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
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    url = data.get("url", "") if isinstance(data, dict) else ""
    if not url.startswith("file://") or "dir_info" not in data:
        return None
    path = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    return path if path.is_dir() else None


def satisfied(req: Requirement, dists: Iterable[DistFile]) -> bool:
    """Whether some file among ``dists`` satisfies ``req`` (extras are not checked)."""
    project = canonicalize_name(req.name)
    for dist in dists:
        if dist.project != project:
            continue
        try:
            version = Version(dist.version)
        except InvalidVersion:
            continue
        if req.specifier.contains(version, prereleases=True):
            return True
    return False


def missing(reqs: Iterable[Requirement], dists: Sequence[DistFile]) -> list[Requirement]:
    """The requirements no file in ``dists`` satisfies, deduplicated and sorted."""
    by_text = {str(req): req for req in reqs if not satisfied(req, dists)}
    return [by_text[key] for key in sorted(by_text)]


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


def fetch(
    reqs: Sequence[Requirement],
    dest: Path,
    *,
    index_url: str,
    pythonpath: Sequence[str] = (),
) -> FetchResult:
    """``pip download`` ``reqs`` with their dependencies from ``index_url`` into ``dest``.

    All at once first; when that fails, one at a time, so that every
    requirement that cannot be had is named with pip's reason.
    """
    result = FetchResult()
    if not reqs:
        return result
    env = pip_environment(index_url, pythonpath)
    base = ["download", "--dest", str(dest), "--prefer-binary", "--quiet"]
    base += ["--retries", "1", "--timeout", "15"]
    texts = [str(req) for req in reqs]
    ok, output = _run_pip([*base, *texts], env)
    if not ok:
        for text in texts:
            ok, output = _run_pip([*base, text], env)
            if not ok:
                result.failed[text] = _last_error(output)
    result.files = sorted(path for path in dest.iterdir() if path.is_file())
    return result


def build_local_wheel(source: Path, dest: Path, pythonpath: Sequence[str] = ()) -> str | None:
    """Build a wheel of a locally installed project into ``dest``; an error text or None."""
    env = pip_environment("", pythonpath)
    del env["PIP_INDEX_URL"]
    env["PIP_NO_INDEX"] = "1"
    args = ["wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dest), str(source)]
    ok, output = _run_pip([*args, "--quiet"], env)
    return None if ok else _last_error(output)
