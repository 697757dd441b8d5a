"""The architecture the folders show: a pure core in layers, thin adapters on top.

Read from the source (no import): every module of the core's four layers
imports only its own layer and the layers below, and none imports
zc.buildout; only the adapters (the recipe, the extension and their
helpers, the command line) stand above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "buildout" / "privateindex"
#: The core's layers, lowest first; ``errors`` sits below them all.
LAYERS = ["dists", "engine", "sharing", "closure"]
MAX_LINES = 300


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _core_modules() -> list[tuple[str, Path]]:
    return [(layer, p) for layer in LAYERS for p in sorted((PACKAGE / layer).glob("*.py"))]


@pytest.mark.parametrize(("layer", "path"), _core_modules(), ids=lambda v: str(v)[-40:])
def test_the_core_imports_downwards_only(layer: str, path: Path) -> None:
    above = LAYERS[LAYERS.index(layer) + 1 :]
    imports = _imports(path)
    assert not any(name.split(".")[0] == "zc" for name in imports), path
    adapters = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "errors"}
    for name in imports:
        parts = name.split(".")
        if parts[:2] != ["buildout", "privateindex"] or len(parts) < 3:
            continue
        assert parts[2] not in above, f"{path.name} imports {name} (a layer above)"
        assert parts[2] not in adapters, f"{path.name} imports {name} (an adapter)"


def test_every_module_is_short() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
