"""A pinned, private, static Python package index for zc.buildout.

The core lives in four layers that never import zc.buildout (``dists``,
``engine``, ``sharing``, ``closure``, each importing only those before it);
``recipe``, ``extension`` and ``cli`` (with their helpers) are thin adapters
over it.
"""

__all__ = ["__version__"]

__version__ = "0.1.0.dev0"
