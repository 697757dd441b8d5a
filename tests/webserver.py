"""What tests/nginx.py and tests/apache.py share: ports, password files, the server.

Both start a real web server of their own on 127.0.0.1 with the configuration
from the docs; this module holds the parts that do not depend on which server
it is: a free port, an htpasswd entry both servers accept, waiting for the
port, stopping the process, and the running server's description.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepting(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def apr1_md5(password: str, salt: str) -> str:
    """``password`` hashed as Apache's ``$apr1$`` MD5 (``openssl passwd -apr1``)."""
    pw, salt_bytes = password.encode(), salt.encode()
    if not 0 < len(salt_bytes) <= 8 or "$" in salt:
        raise ValueError(f"bad apr1 salt {salt!r}")
    ctx = hashlib.md5(pw + b"$apr1$" + salt_bytes)
    alternate = hashlib.md5(pw + salt_bytes + pw).digest()
    for remaining in range(len(pw), 0, -16):
        ctx.update(alternate[: min(16, remaining)])
    bits = len(pw)
    while bits:
        ctx.update(b"\0" if bits & 1 else pw[:1])
        bits >>= 1
    final = ctx.digest()
    for i in range(1000):
        step = hashlib.md5(pw if i & 1 else final)
        if i % 3:
            step.update(salt_bytes)
        if i % 7:
            step.update(pw)
        step.update(final if i & 1 else pw)
        final = step.digest()

    def to64(value: int, count: int) -> str:
        chars = []
        for _ in range(count):
            chars.append(_ITOA64[value & 0x3F])
            value >>= 6
        return "".join(chars)

    encoded = "".join(
        to64((final[a] << 16) | (final[b] << 8) | final[c], 4)
        for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
    )
    return f"$apr1${salt}${encoded}{to64(final[11], 2)}"


def htpasswd_line(user: str, password: str) -> str:
    """An htpasswd entry that both nginx and Apache accept: salted ``$apr1$`` MD5."""
    if ":" in user or "\n" in user or "\n" in password:
        raise ValueError(f"user name {user!r} cannot go in an htpasswd file")
    salt = "".join(secrets.choice(_ITOA64) for _ in range(8))
    return f"{user}:{apr1_md5(password, salt)}\n"


def strip_comments(config: str) -> str:
    """``config`` without its comment lines (all comments start a line in the docs)."""
    return "".join(
        line for line in config.splitlines(keepends=True) if not line.lstrip().startswith("#")
    )


def substitute(
    text: str, replacements: Mapping[str, str], source: Path, error: type[Exception]
) -> str:
    """``text`` with each key replaced by its value; each must appear exactly once
    outside comments (``#`` to the end of the line), else ``error`` names ``source``."""
    lines = text.splitlines(keepends=True)
    for old, new in replacements.items():
        found = [i for i, line in enumerate(lines) if old in line.split("#")[0]]
        if len(found) != 1:
            raise error(f"{source} must hold {old!r} exactly once")
        lines[found[0]] = lines[found[0]].replace(old, new)
    return "".join(lines)


@dataclass
class WebServer:
    """A running server: ``url`` is ``http://127.0.0.1:PORT`` (no trailing slash).

    ``root`` is the directory it serves, ``user_file`` its password file
    (read at each request); ``output`` receives what the server
    process prints (start-up errors before its error log is open).
    """

    url: str
    port: int
    root: Path
    tmp: Path
    config: Path
    access_log: Path
    error_log: Path
    users: Mapping[str, str] = field(default_factory=dict)
    user_file: Path | None = None
    prefix: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def output(self) -> Path:
        return self.tmp / "output.log"

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
            for path in (self.access_log, self.error_log, self.output)
            if path.exists()
        )


def stop(process: subprocess.Popen[bytes], signals: tuple[int, ...] | None = None) -> None:
    """Stop ``process`` and its workers.

    Each signal in turn (default QUIT, TERM, KILL) goes to the server's main
    process until it exits; then any worker it left behind in its process
    group (``start`` gives the server one of its own) is killed.
    """
    for sig in signals or (signal.SIGQUIT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        process.send_signal(sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):  # no worker left: the usual case
        os.killpg(process.pid, signal.SIGKILL)


def start(
    cmd: list[str], server: WebServer, error: type[Exception] = RuntimeError
) -> subprocess.Popen[bytes]:
    """Run ``cmd``; return it once it accepts connections on the port, or has exited.

    Its standard output and error go to ``server.output``.  A process that
    neither listens nor exits within ``START_TIMEOUT`` is stopped and reported
    as ``error``, with the server's logs.
    """
    with server.output.open("ab") as output:
        process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None or accepting(server.port):
            return process
        time.sleep(0.05)
    stop(process)
    raise error(f"{cmd[0]} did not listen on port {server.port}:\n{server.logs()}")


def start_on_free_port(
    prepare: Callable[[int], tuple[WebServer, list[str]]],
    error: type[Exception] = RuntimeError,
    attempts: int = 5,
) -> WebServer:
    """Start the server ``prepare(port)`` configures and returns with its command.

    Another free port is tried when the chosen one was taken in the meantime;
    any other failure to start raises ``error`` with the server's logs.  The
    returned server's ``process`` is running: stop it with ``stop``.
    """
    for _ in range(attempts):
        server, cmd = prepare(free_port())
        process = start(cmd, server, error)
        if process.poll() is None:
            server.process = process
            return server
        if "Address already in use" not in server.logs():
            raise error(f"{cmd[0]} exited with {process.returncode}:\n{server.logs()}")
    raise error(f"found no free port in {attempts} attempts")
