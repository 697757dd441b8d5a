"""Resolution for any target, by uv, and fetching what it names.

pip cannot resolve for another machine: ``pip download --platform`` still
evaluates environment markers against the running interpreter (pip issues
6117, 10050, 11664, 13442).  uv can: ``uv pip compile --python-platform P
--python-version V --format pylock.toml`` resolves with the target's markers,
tags and Requires-Python, downloads nothing, and lists exactly the files that
target can install, each with its URL and sha256.  This module runs it with
an environment of its own (no uv or pip configuration of the machine), reads
the lock, and fetches the listed files, checking every sha256.  It never
imports zc.buildout.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildout.privateindex.closure.targets import Target
from buildout.privateindex.errors import PrivateIndexError
from buildout.privateindex.sharing.location import redact

logger = logging.getLogger(__name__)

#: uv settings that survive into uv's environment; every other UV_* (indexes,
#: constraints, find-links...) would change what is resolved.
UV_KEPT = ("UV_CACHE_DIR", "UV_NATIVE_TLS", "UV_HTTP_TIMEOUT", "UV_CONCURRENT_DOWNLOADS")
#: uv's words for "the requirements cannot be satisfied" (as opposed to an
#: index that cannot be reached).
UNSATISFIABLE = "No solution found"


class ResolverError(PrivateIndexError, RuntimeError):
    """uv is missing or failed in a way that is not about the requirements."""


@dataclass(frozen=True)
class LockedFile:
    """One file a lock lists: where it is and what its content must hash to."""

    url: str
    sha256: str | None

    @property
    def filename(self) -> str:
        path = urllib.parse.urlsplit(self.url).path
        return urllib.parse.unquote(path.rsplit("/", 1)[-1])


@dataclass(frozen=True)
class LockedPackage:
    """A project a target installs: its version and the files it may use."""

    name: str
    version: str
    wheels: tuple[LockedFile, ...]
    sdist: LockedFile | None

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def from_source(self) -> bool:
        """Whether the target must build this project (no wheel for it)."""
        return not self.wheels

    @property
    def needed(self) -> tuple[LockedFile, ...]:
        """The files an offline run of the target needs: its wheels, else the sdist."""
        if self.wheels:
            return self.wheels
        return (self.sdist,) if self.sdist is not None else ()


@dataclass
class Resolution:
    """What uv answered for one target: packages, or why there are none."""

    packages: list[LockedPackage] = field(default_factory=list)
    #: uv's reason when it found no solution or failed, else None.
    error: str | None = None

    @property
    def unsatisfiable(self) -> bool:
        return self.error is not None and UNSATISFIABLE in self.error


def find_uv() -> str:
    """The uv executable: the one of the ``uv`` package, else one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise ResolverError("uv is not installed: pip install uv") from None
        return found


def parse_lock(text: str) -> list[LockedPackage]:
    """The packages of a ``pylock.toml`` (PEP 751) text."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

    data = tomllib.loads(text)
    packages = []
    for entry in data.get("packages", []):
        wheels = tuple(_locked_file(item) for item in entry.get("wheels", []))
        sdist = entry.get("sdist")
        packages.append(
            LockedPackage(
                name=str(entry["name"]),
                version=str(entry.get("version", "")),
                wheels=tuple(item for item in wheels if item is not None),
                sdist=_locked_file(sdist) if isinstance(sdist, dict) else None,
            )
        )
    return packages


def _locked_file(item: Mapping[str, Any]) -> LockedFile | None:
    url = item.get("url")
    if not isinstance(url, str):
        return None
    hashes = item.get("hashes") or {}
    sha = hashes.get("sha256") if isinstance(hashes, dict) else None
    return LockedFile(url, sha if isinstance(sha, str) else None)


@dataclass
class Resolver:
    """``uv pip compile`` against a fixed list of indexes.

    ``indexes`` go first to last in priority (uv's ``first-index`` strategy:
    a project is taken from the first index that has it); they may carry
    credentials, which reach uv through its environment only.
    """

    indexes: Sequence[str]
    host_python: str
    find_links: Sequence[str] = ()
    offline: bool = False
    uv: str = field(default_factory=find_uv)
    base_environ: Mapping[str, str] | None = None

    def environment(self, target: Target) -> dict[str, str]:
        base = os.environ if self.base_environ is None else self.base_environ
        env = {k: v for k, v in base.items() if not k.startswith(("UV_", "PIP_"))}
        env.update({k: base[k] for k in UV_KEPT if k in base})
        env["UV_NO_CONFIG"] = "1"
        env["UV_PYTHON_DOWNLOADS"] = "never"
        env.setdefault("UV_HTTP_RETRIES", "1")
        *first, default = self.indexes
        env["UV_DEFAULT_INDEX"] = default
        if first:
            env["UV_INDEX"] = " ".join(first)
        if self.find_links:
            env["UV_FIND_LINKS"] = " ".join(self.find_links)
        env.update(target.uv_environment())
        return env

    def compile(
        self,
        target: Target,
        requirements: Sequence[str],
        constraints: Sequence[str] = (),
        *,
        no_binary: Sequence[str] = (),
        only_binary: bool = False,
        no_deps: bool = False,
    ) -> Resolution:
        """Resolve ``requirements`` under ``constraints`` for ``target``
        (with ``no_deps``, ``requirements`` alone, not their dependencies)."""
        if not requirements:
            return Resolution()
        with tempfile.TemporaryDirectory(prefix="privateindex-uv-") as tmp:
            work = Path(tmp)
            (work / "requirements.in").write_text("\n".join(requirements) + "\n", "utf-8")
            (work / "constraints.txt").write_text("\n".join(constraints) + "\n", "utf-8")
            args = [self.uv, "pip", "compile", "--quiet", "--format", "pylock.toml"]
            args += ["--output-file", str(work / "pylock.toml"), "--no-header"]
            args += ["--constraints", str(work / "constraints.txt")]
            args += target.uv_arguments(self.host_python)
            if self.offline:
                args.append("--offline")
            if only_binary:
                args += ["--only-binary", ":all:"]
            for name in no_binary:
                args += ["--no-binary", name]
            if no_deps:
                args.append("--no-deps")
            args.append(str(work / "requirements.in"))
            proc = subprocess.run(
                args,
                env=self.environment(target),
                cwd=work,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                return Resolution(error=_reason(proc.stdout))
            return Resolution(parse_lock((work / "pylock.toml").read_text("utf-8")))


def _reason(output: str) -> str:
    """uv's error, on one line, with every URL's credentials hidden."""
    lines = [line.strip() for line in redact(output).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("hint:")] or lines
    text = " ".join(lines) or "uv failed"
    return text.removeprefix("error: ").replace("  ", " ")
