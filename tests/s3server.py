"""A local S3 endpoint for tests and benchmarks: moto's standalone server.

The server listens on 127.0.0.1 only, on a free port.  ``S3Server()`` runs it
in a thread of this process (fast to start, for tests); ``S3Server(
subprocess=True)`` runs ``python -m moto.server`` in a child process, so that
timing a client is not skewed by the server sharing its interpreter.

Nothing here ever contacts a real AWS endpoint: every client is made with the
server's ``endpoint_url`` and dummy credentials.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess as sp
import sys
import time
import urllib.error
import urllib.request
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
