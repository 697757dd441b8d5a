"""Keep credentials out of messages and logs.

Two kinds of secret: the user-info of a URL (``http://user:password@host``,
wherever a URL appears in a text) and known secret values (an AWS secret key,
a session token, a password taken from a URL).  :class:`RedactingFilter` is a
``logging.Filter`` for handlers: it rewrites every record that passes through
the handler, whatever logger made it (botocore, urllib3, s3transfer...), at
every level, tracebacks included.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator

__all__ = ["MASK", "RedactingFilter", "environ_secrets", "redact", "redacting", "split_userinfo"]

MASK = "***"
#: ``scheme://userinfo@``: the user-info of any URL in a text.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s\"'<>]+)@")
#: Environment variables holding secrets boto3 reads.
SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
#: Shorter values are not masked: they would mask ordinary words.
_MIN_SECRET = 8

_lock = threading.Lock()
_secrets: set[str] = set()


def _add_secrets(values: Iterable[str | None]) -> None:
    from urllib.parse import unquote  # here: every command's start-up imports this module

    with _lock:
        for value in values:
            if value and len(value) >= _MIN_SECRET:
                _secrets.add(value)
                _secrets.add(unquote(value))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL user-info and the known (and given) secrets masked."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    with _lock:
        known = sorted(_secrets | {s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len)
    for secret in reversed(known):  # longest first: no half-masked secret
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def split_userinfo(url: str) -> tuple[str, str | None]:
    """``url`` without its user-info, and the password that was in it (or None)."""
    match = _USERINFO.search(url)
    if match is None or match.start() != 0:
        return url, None
    from urllib.parse import unquote

    user, _, password = match["userinfo"].partition(":")
    return match["scheme"] + url[match.end() :], unquote(password or user)


def environ_secrets() -> list[str]:
    """The secret values boto3 would read from the environment."""
    return [os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name)]


class RedactingFilter(logging.Filter):
    """Rewrites records so that no known secret and no URL user-info is emitted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record: let the handler report it as usual
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = redact(text), None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


@contextlib.contextmanager
def redacting(secrets: Iterable[str | None] = ()) -> Iterator[None]:
    """Mask ``secrets`` (and URL user-info) in every handler of the root logger.

    The secrets stay known to :func:`redact` afterwards: a message made later
    from an exception raised inside must not reveal them either.
    """
    _add_secrets(secrets)
    root = logging.getLogger()
    added = [h for h in root.handlers if not any(isinstance(f, RedactingFilter) for f in h.filters)]
    flt = RedactingFilter()
    for handler in added:
        handler.addFilter(flt)
    try:
        yield
    finally:
        for handler in added:
            handler.removeFilter(flt)
