"""Shared fixtures.  Every test runs with pip isolated from the machine."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def isolated_pip_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: os.environ) without PIP_*/UV_* settings and with no pip config file."""
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith(("PIP_", "UV_"))
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["UV_NO_CONFIG"] = "1"
    return env


@pytest.fixture(autouse=True, scope="session")
def _isolate_pip() -> Iterator[None]:
    """The machine's pip configuration must neither help nor disturb a test."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(isolated_pip_environ(saved))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def pip_env() -> dict[str, str]:
    """An environment for pip/uv subprocesses, isolated from the machine."""
    return isolated_pip_environ()


@pytest.fixture
def sample() -> Iterator[Any]:
    """A bootstrapped buildout (``zc.buildout.testing``) with its own ``bin/buildout``."""
    from buildoutenv import setup_buildout, teardown_buildout

    buildout, test = setup_buildout()
    try:
        yield buildout
    finally:
        teardown_buildout(test)
