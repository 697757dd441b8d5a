"""Publish an index to SeaweedFS and install from it with pip and uv, offline.

Used by the tests as ``unshare -n sh -c 'ip link set lo up && exec python
netns_s3_consumer.py ARGS'``: inside, only loopback exists, so the installers
can reach nothing but the SeaweedFS this script starts on 127.0.0.1 (and the
index-document front that stands in for an S3 website endpoint or a CDN).

Arguments: a JSON object with ``index`` (a built index), ``tmp`` (a scratch
directory), ``requirements`` (what to install) and ``env`` (the installers'
environment: isolated pip and uv, empty caches).  Prints a JSON object with,
for ``publish``, ``pip`` and ``uv``, the ``returncode`` and ``output`` of each
command, and ``plain_directory`` (what SeaweedFS's own endpoint answers for a
project URL ``.../simple/<project>/``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from s3server import IndexDocumentProxy, SeaweedFS

BUCKET, PREFIX = "team-index", "pypi"


def run(command: list[str], env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.run(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    return {"returncode": proc.returncode, "output": proc.stdout}


def main() -> int:
    args = json.loads(sys.argv[1])
    tmp, env, wanted = Path(args["tmp"]), args["env"], args["requirements"]
    result: dict[str, object] = {}
    with SeaweedFS(tmp / "seaweedfs") as server:
        server.client().create_bucket(Bucket=BUCKET)
        publish = [sys.executable, "-m", "buildout.privateindex", "publish", args["index"]]
        publish += [f"s3://{BUCKET}/{PREFIX}", "--endpoint-url", server.endpoint_url]
        result["publish"] = run(publish, server.environ(env))
        project = wanted[0].split("=")[0]
        plain = server.url(BUCKET, f"{PREFIX}/simple/{project}/")
        with urllib.request.urlopen(plain, timeout=30) as response:
            result["plain_directory"] = {
                "content_type": response.headers.get("Content-Type"),
                "length": len(response.read()),
            }
        with IndexDocumentProxy(server.endpoint_url) as front:
            simple = f"{front.url}/{BUCKET}/{PREFIX}/simple/"
            pip = [sys.executable, "-m", "pip", "install", "--index-url", simple]
            pip += ["--target", str(tmp / "pip-target"), *wanted]
            result["pip"] = run(pip, env)
            uv = [sys.executable, "-m", "uv", "pip", "install", "--python", sys.executable]
            uv += ["--index-url", simple, "--target", str(tmp / "uv-target"), *wanted]
            result["uv"] = run(uv, env)
            result["requests"] = front.requests
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
