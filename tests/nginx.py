"""Run a real nginx serving a built index, with the configuration from the docs.

``run_nginx`` renders ``docs/nginx.conf`` (the snippet users copy) with the
test's index directory, port and password file substituted, wraps it in a
minimal main configuration whose every path lies in a temporary directory, and
starts its own nginx master process on 127.0.0.1.  The system's nginx service
is neither needed nor touched.  ``.ci/install-system-deps`` installs nginx.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from webserver import WebServer, htpasswd_line, start_on_free_port, stop, strip_comments, substitute

__all__ = ["NginxError", "NginxServer", "render_snippet", "run_nginx", "strip_comments"]

DOCS_SNIPPET = Path(__file__).resolve().parent.parent / "docs" / "nginx.conf"

#: Placeholders in docs/nginx.conf, replaced by the test's values.
LISTEN = "listen 80;"
ROOT = "root /srv/privateindex;"
USER_FILE = "auth_basic_user_file /etc/nginx/privateindex.htpasswd;"
AUTH = 'auth_basic "Private package index";'
LOCATION_ROOT = "location / {"
LOCATION_SIMPLE = "location /simple/ {"


class NginxError(RuntimeError):
    """nginx is missing, the snippet changed shape, or nginx would not start."""


def find_nginx() -> str:
    """The nginx binary, failing loudly (tests must not skip) when missing."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise NginxError("nginx is not installed: run .ci/install-system-deps (as root)")
    return found


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
    return substitute(text, replacements, DOCS_SNIPPET, NginxError)


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


NginxServer = WebServer


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

    def prepare(port: int) -> tuple[NginxServer, list[str]]:
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
            user_file=user_file,
            prefix=prefix,
        )
        cmd = [nginx, "-p", str(tmp), "-c", str(config), "-e", str(server.error_log)]
        return server, cmd

    server = start_on_free_port(prepare, NginxError, attempts)
    assert server.process is not None
    try:
        yield server
    finally:
        stop(server.process)
