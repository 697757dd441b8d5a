"""Fetch the real wheels of the bootstrap closure, for the bootstrap test.

``make test`` runs this before the suite (the suite itself stays offline):
it downloads, from the package registry, the wheels of zc.buildout,
zc.recipe.egg, pip, setuptools, wheel and every requirement of
buildout.privateindex, at the versions installed in this environment, into
the directory named on the command line (git-ignored).  Idempotent: files
already there are not fetched again.  pip runs isolated from the machine's
configuration.

    python tests/wheelhouse.py build/wheelhouse
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOTS = ("zc.buildout", "zc.recipe.egg", "pip", "setuptools", "wheel", "buildout.privateindex")


def closure() -> dict[str, str]:
    """Normalized project -> installed version, for ROOTS and their requirements."""
    found: dict[str, str] = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        key = canonicalize_name(name)
        if key in found:
            continue
        found[key] = importlib.metadata.version(name)
        for line in importlib.metadata.requires(name) or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    del found["buildout-privateindex"]  # built from this checkout by the recipe
    return found


def main(dest: str) -> int:
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    have = set()
    for path in out.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(path.name)
        have.add((name, str(version)))
    wanted = [f"{name}=={version}" for name, version in sorted(closure().items())]
    missing = [pin for pin in wanted if tuple(pin.split("==")) not in have]
    if not missing:
        return 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    command += ["--only-binary", ":all:", "--dest", str(out), *missing]
    print(f"wheelhouse: fetching {len(missing)} wheels into {out}")
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/wheelhouse"))
