"""What the ``privateindex`` command prints: its log lines, errors and progress bar.

Every line goes through a filter that masks credentials (URLs' user info,
AWS secrets), whoever logs it.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

__all__ = ["PROG", "PROGRESS_THRESHOLD", "Progress", "configure_logging", "error"]

PROG = "privateindex"
#: Builds reading more files than this show a progress bar (on a terminal).
PROGRESS_THRESHOLD = 50


class _Formatter(logging.Formatter):
    """``warning: message`` (with the logger name when debugging)."""

    def __init__(self, debug: bool) -> None:
        super().__init__("%(name)s: %(message)s" if debug else "%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {super().format(record)}"


class Progress:
    """A one-line progress bar on a terminal, for builds reading many files."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if total <= PROGRESS_THRESHOLD:
            return
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // total if total else width
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} files")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def error(message: str) -> None:
    from buildout.privateindex.sharing.redact import redact

    print(f"{PROG}: error: {redact(message)}", file=sys.stderr)


def configure_logging(verbose: int) -> logging.Handler:
    from buildout.privateindex.sharing.redact import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(debug=verbose >= 2))
    handler.addFilter(RedactingFilter())  # whoever logs: botocore, urllib3, s3transfer
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel((logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)])
    return handler
