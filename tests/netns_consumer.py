"""Run a consumer buildout against a real nginx, both in one network namespace.

Used by the tests as ``unshare -n sh -c 'ip link set lo up && exec python
netns_consumer.py ARGS'``: inside, only loopback exists, so the consumer can
reach nothing but the nginx this script starts on 127.0.0.1.  The nginx
configuration is the documented one (``tests/nginx.py``).

Arguments: a JSON object with ``index`` (the index directory), ``tmp``,
``users`` ({user: password}), ``buildout`` (bin/buildout), ``config`` (the
consumer's buildout.cfg, a template with ``{url}`` for the index URL, which
carries no credentials) and ``env`` (extra environment for buildout).
Prints a JSON object: ``returncode``, ``output``, ``access_log``, ``seconds``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from nginx import run_nginx


def main() -> int:
    args = json.loads(sys.argv[1])
    config = Path(args["config"])
    template = config.read_text(encoding="utf-8")
    with run_nginx(Path(args["index"]), Path(args["tmp"]), args["users"]) as server:
        url = f"{server.url}/simple/"
        config.write_text(template.replace("{url}", url).replace("{netloc}", url[7:]))
        started = time.monotonic()
        proc = subprocess.run(
            [args["buildout"], "-c", str(config)],
            cwd=config.parent,
            env={**os.environ, **args["env"]},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        seconds = time.monotonic() - started
        access_log = server.access_log.read_text() if server.access_log.exists() else ""
    config.write_text(template)
    json.dump(
        {
            "returncode": proc.returncode,
            "output": proc.stdout,
            "access_log": access_log,
            "seconds": seconds,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
