"""Run a real Apache httpd serving a built index, with the configuration from the docs.

``run_apache`` renders ``docs/apache.conf`` (the snippet users copy inside
their ``<VirtualHost>``) with the test's index directory and password file
substituted, puts it in a ``<VirtualHost>`` of a minimal main configuration
whose every path lies in a temporary directory, and starts its own httpd
(Debian's ``apache2``, with ``-f`` that configuration) on 127.0.0.1.  The
system's Apache service and ``/etc/apache2`` are neither needed nor touched.
``.ci/install-system-deps`` installs Apache.

The main configuration is shaped like a distribution's: ``/etc/mime.types``,
``AddType application/x-gzip .gz .tgz`` (Debian's mime.conf) and a
``<Directory />`` that denies everything.  ``add_encoding=True`` adds the
server-level ``AddEncoding x-gzip .gz .tgz`` (and ``x-compress .Z``,
``x-bzip2 .bz2``) that some servers carry (Debian's mime.conf and Apache's own
httpd.conf have those lines commented out): the snippet must keep archives
free of ``Content-Encoding`` even then.

Run as root, httpd answers requests from a process running as ``www-data``
(Apache refuses to serve as root), which cannot enter the test's temporary
directories (mode 0700).  The index is therefore served from a copy that
``www-data`` can read, in a directory of its own under the system's
temporary directory, removed when the server stops; ``server.root`` is that
copy.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from signal import SIGTERM

from webserver import WebServer, htpasswd_line, start_on_free_port, stop, substitute

DOCS_SNIPPET = Path(__file__).resolve().parent.parent / "docs" / "apache.conf"
MODULES = Path("/usr/lib/apache2/modules")

#: Placeholders in docs/apache.conf, replaced by the test's values.
DOCUMENT_ROOT = "DocumentRoot /srv/privateindex"
DIRECTORY_ROOT = "<Directory /srv/privateindex>"
DIRECTORY_SIMPLE = "<Directory /srv/privateindex/simple>"
USER_FILE = "AuthUserFile /etc/apache2/privateindex.htpasswd"
REQUIRE = "Require valid-user"

#: What the docs need, and what httpd needs to run at all.
LOADED = (
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authn_core_module", "mod_authn_core.so"),
    ("authn_file_module", "mod_authn_file.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authz_user_module", "mod_authz_user.so"),
    ("auth_basic_module", "mod_auth_basic.so"),
    ("mime_module", "mod_mime.so"),
    ("dir_module", "mod_dir.so"),
    ("alias_module", "mod_alias.so"),
    ("rewrite_module", "mod_rewrite.so"),
    ("headers_module", "mod_headers.so"),
)

#: What ``add_encoding`` adds at server level: the three lines that Debian's
#: mime.conf carries commented out.
ADD_ENCODING = ("x-compress .Z", "x-gzip .gz .tgz", "x-bzip2 .bz2")

#: The worker user when httpd starts as root (Debian's).
WORKER = "www-data"


class ApacheError(RuntimeError):
    """Apache is missing, the snippet changed shape, or httpd would not start."""


def find_apache() -> str:
    """The httpd binary, failing loudly (tests must not skip) when missing."""
    for name in ("apache2", "httpd"):
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
        if found is not None:
            break
    if found is None or not MODULES.is_dir():
        raise ApacheError("Apache httpd is not installed: run .ci/install-system-deps (as root)")
    return found


def render_snippet(
    root: Path, user_file: Path | None, prefix: str = "", snippet: str | None = None
) -> str:
    """docs/apache.conf with the test's values; ``user_file=None`` turns auth off.

    ``prefix`` (like ``/pypi``) relocates the index the way the docs explain:
    ``Alias /pypi DIR`` instead of ``DocumentRoot DIR``.
    """
    text = DOCS_SNIPPET.read_text(encoding="utf-8") if snippet is None else snippet
    replacements = {
        DOCUMENT_ROOT: f'DocumentRoot "{root}"',
        DIRECTORY_ROOT: f'<Directory "{root}">',
        DIRECTORY_SIMPLE: f'<Directory "{root}/simple">',
        USER_FILE: f'AuthUserFile "{user_file}"' if user_file else "",
        REQUIRE: REQUIRE if user_file else "Require all granted",
    }
    if prefix:
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError(f"prefix {prefix!r} must start and not end with '/'")
        replacements[DOCUMENT_ROOT] = f'Alias {prefix} "{root}"'
    return substitute(text, replacements, DOCS_SNIPPET, ApacheError)


def main_config(
    tmp: Path, port: int, site: Path, empty: Path, *, add_encoding: bool = False
) -> str:
    """A whole httpd.conf keeping pid, logs and runtime files in ``tmp``.

    It listens on 127.0.0.1:``port`` and includes ``site`` in a virtual host.
    """
    modules = "".join(f'LoadModule {name} "{MODULES / so}"\n' for name, so in LOADED)
    user = f"User {WORKER}\nGroup {WORKER}\n" if os.geteuid() == 0 else ""
    types = "/etc/mime.types" if Path("/etc/mime.types").is_file() else os.devnull
    encoding = "".join(f"AddEncoding {e}\n" for e in ADD_ENCODING) if add_encoding else ""
    return (
        f'ServerRoot "{tmp}"\n'
        "ServerName 127.0.0.1\n"
        f'DefaultRuntimeDir "{tmp}"\n'
        f'PidFile "{tmp / "httpd.pid"}"\n'
        f"Listen 127.0.0.1:{port}\n"
        f"{modules}{user}"
        "StartServers 1\nServerLimit 2\nThreadsPerChild 16\nMaxRequestWorkers 32\n"
        "MinSpareThreads 4\nMaxSpareThreads 32\n"
        "Timeout 30\n"
        f'ErrorLog "{tmp / "error.log"}"\n'
        "LogLevel warn\n"
        'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common\n'
        f'CustomLog "{tmp / "access.log"}" common\n'
        "# A distribution's server-wide types (Debian's mime.conf).\n"
        f'TypesConfig "{types}"\n'
        "AddType application/x-gzip .gz .tgz\n"
        f"{encoding}"
        "<Directory />\n    AllowOverride None\n    Require all denied\n</Directory>\n"
        f'DocumentRoot "{empty}"\n'
        f"<VirtualHost 127.0.0.1:{port}>\n"
        "    ServerName 127.0.0.1\n"
        f'    Include "{site}"\n'
        "</VirtualHost>\n"
    )


def _readable_copy(root: Path, staging: Path) -> Path:
    """A copy of ``root`` in ``staging`` that every user may read (see the module doc)."""
    served = staging / "index"
    shutil.copytree(root, served, copy_function=shutil.copyfile, symlinks=True)
    for path in [served, *served.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    return served


@contextmanager
def run_apache(
    root: Path,
    tmp: Path,
    users: Mapping[str, str] | None = None,
    *,
    prefix: str = "",
    add_encoding: bool = False,
    attempts: int = 5,
) -> Iterator[WebServer]:
    """Serve (a copy of) the index in ``root`` with docs/apache.conf on 127.0.0.1.

    ``users`` maps user names to passwords; ``None`` serves without basic auth.
    ``prefix`` serves the index under that path (``/pypi`` -> ``/pypi/simple/``).
    ``add_encoding`` adds a server-level ``AddEncoding x-gzip .gz .tgz`` (and more).
    ``tmp`` (created if needed) receives the configuration, logs and pid file.
    """
    apache = find_apache()
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(WORKER)
        except KeyError:
            raise ApacheError(
                f"httpd runs as root with user {WORKER!r}, which is missing"
            ) from None
    tmp.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="privateindex-apache-"))
    try:
        staging.chmod(0o755)
        served = _readable_copy(root, staging)
        empty = staging / "empty"
        empty.mkdir(mode=0o755)
        user_file = None
        if users is not None:
            user_file = staging / "htpasswd"
            user_file.write_text("".join(htpasswd_line(u, p) for u, p in users.items()))
            user_file.chmod(0o644)
        site = tmp / "privateindex.conf"
        site.write_text(render_snippet(served, user_file, prefix), encoding="utf-8")

        def prepare(port: int) -> tuple[WebServer, list[str]]:
            config = tmp / "httpd.conf"
            config.write_text(
                main_config(tmp, port, site, empty, add_encoding=add_encoding), encoding="utf-8"
            )
            server = WebServer(
                url=f"http://127.0.0.1:{port}",
                port=port,
                root=served,
                tmp=tmp,
                config=config,
                access_log=tmp / "access.log",
                error_log=tmp / "error.log",
                users=dict(users or {}),
                user_file=user_file,
                prefix=prefix,
            )
            return server, [apache, "-f", str(config), "-DFOREGROUND"]

        server = start_on_free_port(prepare, ApacheError, attempts)
        assert server.process is not None
        try:
            yield server
        finally:
            # httpd stops on TERM (it has no QUIT), its workers with it.
            stop(server.process, (SIGTERM,))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
