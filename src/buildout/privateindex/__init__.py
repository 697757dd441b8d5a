"""A pinned, private, static Python package index for zc.buildout.

The core (scanning, metadata reading, rendering, writing) lives in modules that
never import zc.buildout; ``recipe``, ``extension`` and ``cli`` are thin
adapters over it.
"""

__all__ = ["__version__"]

__version__ = "0.1.0.dev0"
