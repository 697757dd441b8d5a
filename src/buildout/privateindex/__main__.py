"""The ``privateindex`` command's entry point, also ``python -m buildout.privateindex``."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

from buildout.privateindex.cli import main

__all__ = ["run"]


def run() -> NoReturn:
    """Run :func:`~buildout.privateindex.cli.main`, then end the process at once.

    A normal exit clears every module and object before the process ends:
    about 10 ms after a build, a tenth of a rebuild with nothing to do (goal 3
    in ``benchmarks/README.rst``), spent on memory the process is about to
    give back anyway.  So once the command is done, the standard streams are
    flushed, the ``atexit`` handlers run (logging's, the process pool's) and
    ``os._exit`` ends the process with the command's status.  Whenever that
    could lose anything, the exit is the normal one: while another thread
    still runs, under a debugger, profiler or tracer or with ``python -i``
    (they act after this returns), or when a stream cannot be flushed (a
    closed pipe: Python then reports it and exits with status 120, as
    always).
    """
    code = main()
    if _watched() or threading.active_count() > 1 or not _flushed():
        sys.exit(code)
    atexit._run_exitfuncs()  # they may write, so flush again
    if not _flushed():
        sys.exit(code)
    os._exit(code)


#: Modules of the standard library's debuggers, profilers and tracers, and
#: coverage.py's: none of them is imported by this package.
_TOOLS = ("bdb", "cProfile", "profile", "trace", "coverage")


def _watched() -> bool:
    """Whether something may act once this command returns."""
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return True
    if sys.flags.inspect or os.environ.get("PYTHONINSPECT"):
        return True
    monitoring = getattr(sys, "monitoring", None)  # Python 3.12 and later
    if monitoring is not None and any(monitoring.get_tool(i) for i in range(6)):
        return True
    return any(name in sys.modules for name in _TOOLS)


def _flushed() -> bool:
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return False
    return True


if __name__ == "__main__":
    run()
