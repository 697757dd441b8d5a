"""Run a real nginx serving a built index, with the configuration from the docs.

``run_nginx`` renders ``docs/nginx.conf`` (the snippet users copy) with the
test's index directory, port and password file substituted, wraps it in a
minimal main configuration whose every path lies in a temporary directory, and
starts its own nginx master process on 127.0.0.1.  The system's nginx service
is neither needed nor touched.  ``.ci/install-system-deps`` installs nginx.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

DOCS_SNIPPET = Path(__file__).resolve().parent.parent / "docs" / "nginx.conf"

#: Placeholders in docs/nginx.conf, replaced by the test's values.
LISTEN = "listen 80;"
ROOT = "root /srv/privateindex;"
USER_FILE = "auth_basic_user_file /etc/nginx/privateindex.htpasswd;"
AUTH = 'auth_basic "Private package index";'
LOCATION_ROOT = "location / {"
LOCATION_SIMPLE = "location /simple/ {"

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


class NginxError(RuntimeError):
    """nginx is missing, the snippet changed shape, or nginx would not start."""


def find_nginx() -> str:
    """The nginx binary, failing loudly (tests must not skip) when missing."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise NginxError("nginx is not installed: run .ci/install-system-deps (as root)")
    return found


def htpasswd_line(user: str, password: str) -> str:
    """An htpasswd entry nginx accepts, as salted SHA-1 (RFC 2307 ``{SSHA}``)."""
    if ":" in user or "\n" in user or "\n" in password:
        raise ValueError(f"user name {user!r} cannot go in an htpasswd file")
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}\n"


def render_snippet(
    root: Path, port: int, user_file: Path | None, prefix: str = "", snippet: str | None = None
) -> str:
    """docs/nginx.conf with the test's values; ``user_file=None`` turns auth off.

    ``prefix`` (like ``/pypi``) relocates the index the way the docs explain:
    each of the two prefix locations gets the prefix and an ``alias``.
    """
    text = DOCS_SNIPPET.read_text(encoding="utf-8") if snippet is None else snippet
    replacements = {
        LISTEN: f"listen 127.0.0.1:{port};",
        ROOT: f'root "{root}";',
        USER_FILE: f'auth_basic_user_file "{user_file}";' if user_file else "",
        AUTH: AUTH if user_file else "auth_basic off;",
    }
    if prefix:
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError(f"prefix {prefix!r} must start and not end with '/'")
        replacements[LOCATION_ROOT] = f'location {prefix}/ {{\n        alias "{root}/";'
        replacements[LOCATION_SIMPLE] = (
            f'location {prefix}/simple/ {{\n        alias "{root}/simple/";'
        )
    lines = text.splitlines(keepends=True)
    for old, new in replacements.items():
        found = [i for i, line in enumerate(lines) if old in line.split("#")[0]]
        if len(found) != 1:
            raise NginxError(f"{DOCS_SNIPPET} must hold {old!r} exactly once")
        lines[found[0]] = lines[found[0]].replace(old, new)
    return "".join(lines)


def strip_comments(config: str) -> str:
    """``config`` without its comments (all of them start a line here)."""
    return "".join(
        line for line in config.splitlines(keepends=True) if not line.lstrip().startswith("#")
    )


def main_config(tmp: Path, site: Path) -> str:
    """A whole nginx.conf keeping pid, logs and temp files in ``tmp``."""
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f'    {kind}_temp_path "{tmp / kind}";'
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\nmaster_process on;\nworker_processes 1;\n"
        f'pid "{tmp / "nginx.pid"}";\nerror_log "{tmp / "error.log"}" info;\n'
        "events { worker_connections 64; }\n"
        "http {\n"
        f'    access_log "{tmp / "access.log"}";\n{temp}\n'
        "    sendfile on;\n"
        f'    include "{site}";\n'
        "}\n"
    )


@dataclass
class NginxServer:
    """A running nginx: ``url`` is ``http://127.0.0.1:PORT`` (no trailing slash)."""

    url: str
    port: int
    root: Path
    tmp: Path
    config: Path
    access_log: Path
    error_log: Path
    users: Mapping[str, str] = field(default_factory=dict)
    prefix: str = ""
    process: subprocess.Popen[bytes] | None = None

    def index_url(self, user: str | None = None, password: str | None = None) -> str:
        """The ``/simple/`` URL, with percent-encoded credentials when given."""
        auth = ""
        if user is not None:
            auth = quote(user, safe="")
            if password is not None:
                auth += ":" + quote(password, safe="")
            auth += "@"
        return f"http://{auth}127.0.0.1:{self.port}{self.prefix}/simple/"

    def logs(self) -> str:
        """Access and error log contents (for assertions and failure messages)."""
        return "".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in (self.access_log, self.error_log)
            if path.exists()
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGQUIT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue


def _start(server: NginxServer, nginx: str) -> subprocess.Popen[bytes]:
    """Start nginx; return the process once it accepts connections."""
    cmd = [nginx, "-p", str(server.tmp), "-c", str(server.config), "-e", str(server.error_log)]
    process = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return process
        if _accepting(server.port):
            return process
        time.sleep(0.05)
    _stop(process)
    raise NginxError(f"nginx did not listen on port {server.port}:\n{server.logs()}")


@contextmanager
def run_nginx(
    root: Path,
    tmp: Path,
    users: Mapping[str, str] | None = None,
    *,
    prefix: str = "",
    attempts: int = 5,
) -> Iterator[NginxServer]:
    """Serve the index in ``root`` with docs/nginx.conf on 127.0.0.1.

    ``users`` maps user names to passwords; ``None`` serves without basic auth.
    ``prefix`` serves the index under that path (``/pypi`` -> ``/pypi/simple/``).
    ``tmp`` (created if needed) receives the configuration, logs and pid file.
    """
    nginx = find_nginx()
    tmp.mkdir(parents=True, exist_ok=True)
    user_file = None
    if users is not None:
        user_file = tmp / "htpasswd"
        user_file.write_text("".join(htpasswd_line(u, p) for u, p in users.items()))
    for _ in range(attempts):
        port = free_port()
        site = tmp / "privateindex.conf"
        site.write_text(render_snippet(root.resolve(), port, user_file, prefix), encoding="utf-8")
        config = tmp / "nginx.conf"
        config.write_text(main_config(tmp, site), encoding="utf-8")
        server = NginxServer(
            url=f"http://127.0.0.1:{port}",
            port=port,
            root=root,
            tmp=tmp,
            config=config,
            access_log=tmp / "access.log",
            error_log=tmp / "error.log",
            users=dict(users or {}),
            prefix=prefix,
        )
        process = _start(server, nginx)
        if process.poll() is None:
            break
        if "Address already in use" not in server.logs():
            raise NginxError(f"nginx exited with {process.returncode}:\n{server.logs()}")
    else:
        raise NginxError(f"nginx found no free port in {attempts} attempts")
    server.process = process
    try:
        yield server
    finally:
        _stop(process)
