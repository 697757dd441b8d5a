"""The index probe sends credentials to the index's own origin only."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from buildout.privateindex.sharing.location import parse_location
from buildout.privateindex.sharing.reach import IndexUnavailableError, check_index

SECRET = "hunter2-probe"


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers with ``routes[path]`` (status, Location), recording every request."""

    routes: dict[str, tuple[int, str]] = {}
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        status, location = self.routes.get(self.path, (404, ""))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def server(
    routes: dict[str, tuple[int, str]],
) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    handler = type("Handler", (_Recorder,), {"routes": routes, "seen": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_redirect_to_another_host_gets_nothing() -> None:
    with server({"/simple/": (200, "")}) as (elsewhere, elsewhere_seen):
        redirect = {"/simple/": (302, f"{elsewhere}/simple/")}
        with server(redirect) as (index, _), pytest.raises(IndexUnavailableError) as info:
            check_index(parse_location(f"http://team:{SECRET}@{index[7:]}/simple/", "."))
    assert f"redirects to another host: {elsewhere}/simple/" in str(info.value)
    assert SECRET not in str(info.value)
    assert elsewhere_seen == []  # not even a request without the credentials


def test_a_redirect_within_the_index_keeps_the_credentials() -> None:
    routes = {"/simple/": (301, "/pypi/simple/"), "/pypi/simple/": (200, "")}
    with server(routes) as (index, seen):
        check_index(parse_location(f"http://team:{SECRET}@{index[7:]}/simple/", "."))
    assert [path for path, _ in seen] == ["/simple/", "/pypi/simple/"]
    assert seen[0][1] == seen[1][1] is not None and seen[1][1].startswith("Basic ")
