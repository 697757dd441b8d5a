"""Text from distributions and file systems, made safe to print or to publish.

A file name, a Summary or a Requires-Python comes from whoever made the file:
it may hold NUL, ESC (terminal escape sequences), BEL, a newline that forges
a line of output, or a bidirectional override.  What goes to a terminal or a
log is escaped (:func:`printable`); what goes into a page loses its control
characters (:func:`without_controls`).
"""

from __future__ import annotations

import re

__all__ = ["CONTROL_CHARACTERS", "printable", "without_controls"]

#: C0 and C1 controls and DEL (tab and newline included: no page field or
#: printed name needs one), and the bidirectional formatting characters, as
#: the inside of a regular expression's character set.
CONTROL_CHARACTERS = "\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_CONTROLS = re.compile(f"[{CONTROL_CHARACTERS}]")


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped as Python would (``\\x1b``).

    >>> print(printable("evil\\x1b[2J-1.0.tar.gz\\nindexed 999 files"))
    evil\\x1b[2J-1.0.tar.gz\\nindexed 999 files
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def without_controls(text: str) -> str:
    """``text`` with control and bidirectional formatting characters removed.

    >>> without_controls("a\\x00b\\x1b[31mc\\u202e")
    'ab[31mc'
    """
    return _CONTROLS.sub("", text)
