"""A small static web server on 127.0.0.1 for the tests, with optional basic auth."""

from __future__ import annotations

import base64
import functools
import http.server
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    users: Mapping[str, str] = {}
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _authorized(self) -> bool:
        if not self.users:
            return True
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return self.users.get(user) == password

    def send_head(self):  # type: ignore[no-untyped-def]
        self.requests.append(self.path)
        if not self._authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="test index"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return super().send_head()


@dataclass
class StaticServer:
    url: str
    requests: list[str] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@contextmanager
def serve_directory(root: Path, users: Mapping[str, str] | None = None) -> Iterator[StaticServer]:
    """Serve ``root`` at ``http://127.0.0.1:PORT/`` until the block ends."""
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"users": dict(users or {}), "requests": requests})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server = StaticServer(f"http://127.0.0.1:{httpd.server_address[1]}/", requests, httpd)
    try:
        yield server
    finally:
        server.stop()
        thread.join(5)


@contextmanager
def serve_index(index: Path) -> Iterator[str]:
    """``privateindex serve`` of ``index`` on 127.0.0.1 (PEP 691 negotiation): its simple URL."""
    from buildout.privateindex.sharing.serve import make_server, server_url

    server = make_server(index, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_url(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
