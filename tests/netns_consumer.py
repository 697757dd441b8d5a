"""Run a consumer against a real web server, both in one network namespace.

Used by the tests as ``unshare -n sh -c 'ip link set lo up && exec python
netns_consumer.py ARGS'``: inside, only loopback exists, so the consumer can
reach nothing but the server this script starts on 127.0.0.1.  The server's
configuration is the documented one (``tests/nginx.py``, ``tests/apache.py``).

Arguments: a JSON object with ``index`` (the index directory), ``tmp``,
``users`` ({user: password}), optionally ``server`` (``"nginx"``, the
default, or ``"apache"``) and ``server_options`` (keyword arguments for
``run_apache``, like ``{"add_encoding": true}``), ``env`` (extra environment
for the consumer), and either ``buildout`` (bin/buildout) with ``config`` (the
consumer's buildout.cfg, a template with ``{url}`` for the index URL, which
carries no credentials, or ``{netloc}`` for what follows ``http://``), or
``command`` (a command line whose arguments are such templates, like pip's),
and optionally ``templates`` (more files filled the same way for the run,
like a ``~/.pypirc``).
Prints a JSON object: ``returncode``, ``output``, ``access_log``, ``seconds``
and ``interfaces`` (the network interfaces the consumer had: only ``lo`` in
a namespace of its own).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from apache import run_apache
from nginx import run_nginx
from webserver import WebServer


def serve(args: dict[str, Any]) -> AbstractContextManager[WebServer]:
    index, tmp, users = Path(args["index"]), Path(args["tmp"]), args["users"]
    kind = args.get("server", "nginx")
    if kind == "nginx":
        return run_nginx(index, tmp, users, **args.get("server_options", {}))
    if kind == "apache":
        return run_apache(index, tmp, users, **args.get("server_options", {}))
    raise ValueError(f"unknown server {kind!r}")


def main() -> int:
    args = json.loads(sys.argv[1])
    config = Path(args["config"]) if "config" in args else None
    template = config.read_text(encoding="utf-8") if config else ""
    with serve(args) as server:
        url = f"{server.url}/simple/"

        def fill(text: str) -> str:
            return text.replace("{url}", url).replace("{netloc}", url[7:])

        others = {Path(p): Path(p).read_text(encoding="utf-8") for p in args.get("templates", [])}
        for path, text in others.items():
            path.write_text(fill(text), encoding="utf-8")
        if config is None:
            command, cwd = [fill(arg) for arg in args["command"]], None
        else:
            config.write_text(fill(template))
            command, cwd = [args["buildout"], "-c", str(config)], config.parent
        started = time.monotonic()
        proc = subprocess.run(
            command,
            cwd=cwd,
            env={**os.environ, **args["env"]},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        seconds = time.monotonic() - started
        access_log = server.access_log.read_text() if server.access_log.exists() else ""
    if config is not None:
        config.write_text(template)
    for path, text in others.items():
        path.write_text(text, encoding="utf-8")
    json.dump(
        {
            "returncode": proc.returncode,
            "output": proc.stdout,
            "access_log": access_log,
            "seconds": seconds,
            "interfaces": sorted(name for _, name in socket.if_nameindex()),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
