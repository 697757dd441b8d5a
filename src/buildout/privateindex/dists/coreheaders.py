"""Which part of a core metadata text gives the fields read from it."""

from __future__ import annotations

import re

__all__ = ["USED_FIELDS", "used_part", "used_values"]

#: The fields read from core metadata (lower-case email header names).
USED_FIELDS = ("name", "version", "requires-python", "summary")

# Core metadata is an email message.  The email parser ends lines at \r\n, \r
# or \n, and yields each field of a block of plain fields (a name, a colon, a
# value, folded lines) just as it would yield it alone.
_NL = r"(?:\r\n|\r(?!\n)|\n)"
_FOLDED = rf"[^\r\n]*(?:{_NL}[ \t][^\r\n]*)*"  # a value and its folded lines
_PLAIN_HEADERS = re.compile(rf"(?:[A-Za-z0-9][\w.-]*:{_FOLDED}{_NL})*{_NL}", re.ASCII)
# A field that is read: at the start of a line, with the end of its last line.
_USED_FIELD = re.compile(rf"[\r\n]((?i:{'|'.join(USED_FIELDS)}):{_FOLDED})(?=({_NL}))", re.ASCII)


def _split(text: str) -> tuple[str, bool]:
    """The part of ``text`` that parses to the same used fields, and whether it is plain.

    Plain, it is the used fields alone, each with its line end.
    """
    # The headers end at the latest with the first blank line: the one at the
    # start, or after the first of "\n\n", "\n\r" or "\r\r" (two line ends).
    start = 0 if text.startswith(("\r", "\n")) else -1
    limit = len(text)
    for pair in ("\n\n", "\n\r", "\r\r") if start else ():
        if (found := text.find(pair, 0, limit)) >= 0:
            start = limit = found + 1
    if start < 0:
        return text, False
    head = text[: start + (2 if text.startswith("\r\n", start) else 1)]
    low = head.lower()
    if low.startswith("content-type:") or "\ncontent-type:" in low or "\rcontent-type:" in low:
        return text, False
    if not _PLAIN_HEADERS.fullmatch(head):
        return head, False
    return "".join(field + end for field, end in _USED_FIELD.findall("\n" + head)), True


def used_part(text: str) -> str:
    """
    The part of core metadata ``text`` that parses to the same used fields.

    :func:`packaging.metadata.parse_email` gives the same values for the
    :data:`USED_FIELDS` of the result as of ``text``, often at a fraction of
    the cost: the body (the long Description) is left out, and so are the
    fields not read if the headers are all plain.  It is all of ``text`` if
    that has no blank line, or has a Content-Type header (the body may then be
    read as a multipart message, which some versions of packaging fail on).
    """
    return _split(text)[0]


def used_values(text: str) -> tuple[str, dict[str, str] | None]:
    """
    :func:`used_part` of core metadata ``text``, and its used fields if they are plain.

    If the headers are all plain fields (see :func:`used_part`), the second
    item maps each of the :data:`USED_FIELDS` that ``text`` has to its value,
    just as the email parser gives it (compat32, as
    :func:`packaging.metadata.parse_email` parses a str): what follows the
    first colon without its leading blanks, folded lines with their line ends,
    and no line end at the end.  A field given more than once has its first
    value (``parse_email`` lists them all).  Otherwise it is None, and the
    first item is to be parsed.

    >>> used_values("Name: foo\\nVersion:  1.0\\nSummary: one\\n  two\\nName: bar\\n\\nBody")[1]
    {'name': 'foo', 'version': '1.0', 'summary': 'one\\n  two'}
    """
    part, plain = _split(text)
    if not plain:
        return part, None
    values: dict[str, str] = {}
    for field, _end in _USED_FIELD.findall("\n" + part):
        name, _colon, value = field.partition(":")
        values.setdefault(name.lower(), value.lstrip(" \t").rstrip("\r\n"))
    return part, values
