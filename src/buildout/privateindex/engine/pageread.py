"""Read the pages of an index as an installer reads them (for ``verify``)."""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Unreadable", "anchors", "hash_value", "is_absolute", "objects", "parse_anchors"]
__all__ += ["sha256"]

_CHUNK = 1024 * 1024


class _Anchors(HTMLParser):
    """Collects the attributes and text of every ``<a>`` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._current, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
            self._current = None


class Unreadable(Exception):
    """A page that cannot be read or decoded; ``str()`` says why."""


def anchors(path: Path) -> list[tuple[dict[str, str | None], str]]:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        raise Unreadable(reason) from None
    except OSError as exc:
        raise Unreadable(f"unreadable: {exc.strerror or exc}") from None
    return parse_anchors(text)


def parse_anchors(text: str) -> list[tuple[dict[str, str | None], str]]:
    """The attributes and text of every ``<a>`` of an HTML page."""
    parser = _Anchors()
    parser.feed(text)
    parser.close()
    return parser.anchors


def objects(value: object) -> list[dict[str, Any]] | None:
    """``value`` if it is a list of JSON objects, else None."""
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    return None


def is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc or parts.path.startswith("/"))


def hash_value(text: str | None) -> str | None:
    """``sha256=<hex>`` (a fragment or a data attribute) -> ``<hex>``, else ""."""
    if text is None:
        return None
    name, _, value = text.partition("=")
    return value.lower() if name == "sha256" and value else ""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
