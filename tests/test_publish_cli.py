"""``privateindex publish``: credentials never printed, configuration errors in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from s3server import S3Server, aws_environ
from test_publish import PREFIX, bucket, index, server, sources

__all__ = ["bucket", "index", "server", "sources"]  # fixtures shared with test_publish

PASSWORD = "Pa55-in-the-URL-7f3a9"
SECRET_KEY = "Secret-Key-Never-Shown-41c2"
TOKEN = "Session-Token-Never-Shown-93be"


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "buildout.privateindex", "publish", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def env() -> dict[str, str]:
    env = aws_environ()
    env.update(AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_SESSION_TOKEN=TOKEN)
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # never wait for an instance role
    return env


def assert_no_secret(output: str) -> None:
    for secret in (PASSWORD, SECRET_KEY, TOKEN):
        assert secret not in output


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc
    if "debug:" not in proc.stderr:  # at -vv, botocore logs its retries' tracebacks
        assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("privateindex: error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def test_credentials_never_printed_at_any_verbosity(
    server: S3Server, bucket: str, index: Path, env: dict[str, str]
) -> None:
    host = server.endpoint_url.removeprefix("http://")
    endpoint = f"http://team:{PASSWORD}@{host}"
    target = f"s3://{bucket}/{PREFIX}"
    for verbosity in ((), ("-v",), ("-vv",)):
        proc = run_cli(str(index), target, "--endpoint-url", endpoint, *verbosity, env=env)
        assert proc.returncode == 0, proc
        assert_no_secret(proc.stdout + proc.stderr)
        assert "uploaded" in proc.stdout
    assert "botocore" in proc.stderr and "x-amz-security-token" in proc.stderr  # -vv: debug
    assert f"ignoring the credentials in the endpoint URL http://{host}" in proc.stderr


def test_connection_refused_is_one_line_without_the_password(
    index: Path, env: dict[str, str]
) -> None:
    endpoint = f"http://team:{PASSWORD}@127.0.0.1:9"
    proc = run_cli(str(index), "s3://some-bucket/x", "--endpoint-url", endpoint, env=env)
    line = one_error_line(proc)
    assert "Could not connect to the endpoint URL" in line and "127.0.0.1:9" in line
    assert_no_secret(proc.stderr)
    proc = run_cli(str(index), "s3://some-bucket/x", "--endpoint-url", endpoint, "-vv", env=env)
    assert "Could not connect" in one_error_line(proc)  # botocore's retries: debug lines only
    assert "debug: botocore" in proc.stderr
    assert_no_secret(proc.stdout + proc.stderr)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("not-a-url", "invalid endpoint URL 'not-a-url'"),
        ("ftp://127.0.0.1:21", "invalid endpoint URL 'ftp://127.0.0.1:21'"),
        ("http://127.0.0.1:port", "invalid endpoint URL 'http://127.0.0.1:port'"),
        (f"http://team:{PASSWORD}@", "invalid endpoint URL 'http://***@'"),
    ],
)
def test_bad_endpoint_url(index: Path, env: dict[str, str], endpoint: str, expected: str) -> None:
    proc = run_cli(str(index), "s3://some-bucket/x", "--endpoint-url", endpoint, env=env)
    assert expected in one_error_line(proc)
    assert_no_secret(proc.stderr)


def test_unknown_profile(index: Path, env: dict[str, str]) -> None:
    env["AWS_PROFILE"] = "no-such-profile"
    proc = run_cli(str(index), "s3://some-bucket/x", env=env)
    line = one_error_line(proc)
    assert (
        line == "privateindex: error: s3://some-bucket/x: AWS profile 'no-such-profile' not found"
    )


def test_no_credentials(server: S3Server, bucket: str, index: Path, env: dict[str, str]) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(key)
    target = f"s3://{bucket}/{PREFIX}"
    proc = run_cli(str(index), target, "--endpoint-url", server.endpoint_url, env=env)
    line = one_error_line(proc)
    assert "Unable to locate credentials" in line and "AWS_ACCESS_KEY_ID" in line
