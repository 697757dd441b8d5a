"""Publishing an index to S3, against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from buildout.privateindex.engine.build import build_index
from buildout.privateindex.errors import IndexStateError, PrivateIndexError
from buildout.privateindex.sharing import publish as publish_module
from buildout.privateindex.sharing import s3client
from buildout.privateindex.sharing.publish import (
    MANIFEST_NAME,
    PublishError,
    parse_s3_url,
    publish,
)
from distfactory import make_egg, make_sdist, make_wheel
from locks import lock_held_elsewhere
from s3server import S3Server, aws_environ

PREFIX = "pub/idx"
ZIP, GZIP = "application/zip", "application/gzip"
HTML, JSON = "text/html; charset=utf-8", "application/vnd.pypi.simple.v1+json"
_buckets = itertools.count()


# -- an index tree, written by the real builder --------------------------------


def make_sources(directory: Path) -> Path:
    """One distribution of every kind and archive format."""
    directory.mkdir()
    make_wheel(directory, "foo", "1.0")
    make_sdist(directory, "foo", "1.0", "tar.gz")
    make_sdist(directory, "bar", "2.0", "tar.bz2")
    make_sdist(directory, "bar", "2.1", "tar.xz")
    make_sdist(directory, "bar", "2.2", "zip")
    make_sdist(directory, "baz", "0.1", "tgz")
    make_egg(directory, "baz", "0.2")
    return directory


def build(sources: Path, out: Path) -> Path:
    build_index([sources], out, jobs=1)
    assert (out / ".privateindex").is_dir()  # private state: never published
    (out / "simple" / ".hidden").write_text("a dotfile, never published")
    return out


def local_objects(index: Path) -> dict[str, bytes]:
    """What the bucket must hold below the prefix: files plus page aliases."""
    objects: dict[str, bytes] = {}
    for path in index.rglob("*"):
        rel = path.relative_to(index).as_posix()
        if path.is_file() and not any(p.startswith(".") for p in rel.split("/")):
            objects[f"{PREFIX}/{rel}"] = path.read_bytes()
            if path.name == "index.html":
                objects[f"{PREFIX}/{rel[: -len('index.html')]}"] = path.read_bytes()
    return objects


# -- fixtures ----------------------------------------------------------------


@pytest.fixture(scope="session")
def server() -> Iterator[S3Server]:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in aws_environ().items():
            mp.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            mp.delenv(key, raising=False)
        with S3Server() as s3:
            yield s3


@pytest.fixture
def bucket(server: S3Server) -> str:
    name = f"test-index-{next(_buckets)}"
    server.create_public_bucket(name, PREFIX)
    return name


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    return make_sources(tmp_path / "dists")


@pytest.fixture
def index(tmp_path: Path, sources: Path) -> Path:
    return build(sources, tmp_path / "index")


def target(bucket: str) -> str:
    return f"s3://{bucket}/{PREFIX}/"


def remote_objects(server: S3Server, bucket: str) -> dict[str, bytes]:
    client = server.client()
    keys = [
        obj["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", ())
    ]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def content_of(remote: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in remote.items() if not k.endswith(MANIFEST_NAME)}


class RecordingClient:
    """A boto3 client that records puts, and can fail after ``fail_after`` of them."""

    def __init__(self, client: Any, fail_after: int | None = None) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.fail_after = fail_after
        self.puts: list[str] = []

    def put_object(self, **kwargs: Any) -> Any:
        with self._lock:
            if self.fail_after is not None and len(self.puts) >= self.fail_after:
                raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")
            self.puts.append(kwargs["Key"])
        return self._client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


# -- tests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://my-bucket", ("my-bucket", "")),
        ("s3://my-bucket/", ("my-bucket", "")),
        ("s3://my.bucket/a/b/", ("my.bucket", "a/b")),
        ("s3://abc//a/b//", ("abc", "a/b")),
    ],
)
def test_parse_s3_url(url: str, expected: tuple[str, str]) -> None:
    assert parse_s3_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "my-bucket/prefix",
        "https://my-bucket/prefix",
        "s3:/my-bucket",
        "s3://",
        "s3://ab/prefix",
        "s3://My_Bucket/prefix",
        "s3://-bucket/prefix",
        "s3://my..bucket",
        "s3://my-bucket/a//b",
        "s3://my-bucket/a/../b",
        "s3://my-bucket/a?versionId=1",
        "s3://my-bucket/a#frag",
        "s3://my-bucket/a\\b",
    ],
)
def test_parse_s3_url_rejects(url: str) -> None:
    with pytest.raises(PublishError) as info:
        parse_s3_url(url)
    assert info.value.target == url
    assert isinstance(info.value, PrivateIndexError) and isinstance(info.value, ValueError)


def test_first_publish_uploads_everything(server: S3Server, bucket: str, index: Path) -> None:
    report = publish(index, target(bucket), endpoint_url=server.endpoint_url, directory_keys=True)
    expected = local_objects(index)
    assert sorted(report.uploaded) == sorted(expected)
    assert report.unchanged == 0 and report.deleted == [] and report.manifest_written
    assert f"{PREFIX}/simple/foo/" in expected and f"{PREFIX}/" in expected
    remote = remote_objects(server, bucket)
    assert content_of(remote) == expected  # no private state, no dotfile
    manifest = json.loads(remote[f"{PREFIX}/{MANIFEST_NAME}"])
    assert set(manifest["objects"]) == {k[len(PREFIX) + 1 :] for k in expected}

    client = server.client()
    types = {}
    for key, data in expected.items():
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["Metadata"] == {"sha256": hashlib.sha256(data).hexdigest()}
        assert head["ETag"].strip('"') == hashlib.md5(data).hexdigest()
        types[key.rsplit("/", 1)[-1].split("-", 1)[-1] or "dir/"] = head["ContentType"]
    assert types["dir/"] == HTML and types["index.html"] == HTML
    assert types["index.json"] == JSON
    assert types["1.0-py3-none-any.whl"] == ZIP
    assert types["1.0-py3-none-any.whl.metadata"] == "text/plain; charset=utf-8"
    assert types["1.0.tar.gz"] == GZIP and types["0.1.tgz"] == GZIP
    assert types["2.0.tar.bz2"] == "application/x-bzip2"
    assert types["2.1.tar.xz"] == "application/x-xz"
    assert types["2.2.zip"] == ZIP and types["0.2-py3.11.egg"] == ZIP


def test_no_change_publish_uploads_nothing(server: S3Server, bucket: str, index: Path) -> None:
    first = publish(index, target(bucket), endpoint_url=server.endpoint_url, directory_keys=True)
    client = RecordingClient(server.client())
    second = publish(index, target(bucket), client=client)
    assert second.uploaded == [] and client.puts == []
    assert second.unchanged == len(first.uploaded) and not second.manifest_written


def test_only_changed_objects_upload(
    server: S3Server, bucket: str, index: Path, sources: Path
) -> None:
    publish(index, target(bucket), endpoint_url=server.endpoint_url, directory_keys=True)
    before = local_objects(index)
    new = make_wheel(sources, "foo", "1.1")
    build(sources, index)
    after = local_objects(index)
    changed = {key for key, data in after.items() if before.get(key) != data}
    assert {
        f"{PREFIX}/simple/foo/{new.name}",
        f"{PREFIX}/simple/foo/{new.name}.metadata",
        f"{PREFIX}/simple/foo/index.html",
        f"{PREFIX}/simple/foo/",
    } <= changed
    assert f"{PREFIX}/simple/bar/index.html" not in changed
    client = RecordingClient(server.client())
    report = publish(index, target(bucket), client=client)
    assert sorted(report.uploaded) == sorted(changed)
    assert sorted(client.puts) == sorted([*changed, f"{PREFIX}/{MANIFEST_NAME}"])
    assert report.unchanged == len(after) - len(changed)
    assert content_of(remote_objects(server, bucket)) == after

    # One file changed in place: only it (and its alias) goes up again.
    page = index / "simple" / "bar" / "index.html"
    page.write_text(page.read_text() + "<!-- changed -->\n")
    report = publish(index, target(bucket), endpoint_url=server.endpoint_url, directory_keys=True)
    assert sorted(report.uploaded) == [f"{PREFIX}/simple/bar/", f"{PREFIX}/simple/bar/index.html"]
    assert content_of(remote_objects(server, bucket)) == local_objects(index)


def test_upload_order_files_then_pages_then_root(
    server: S3Server, bucket: str, index: Path
) -> None:
    client = RecordingClient(server.client())
    report = publish(index, target(bucket), client=client)
    puts = [key[len(PREFIX) + 1 :] for key in client.puts]
    assert puts[-1] == MANIFEST_NAME and sorted(report.uploaded) == sorted(client.puts[:-1])

    def stage(rel: str) -> int:
        parts = rel.split("/")
        if rel in ("index.html", ""):
            return 3
        if rel in ("simple/", "simple/index.html", "simple/index.json"):
            return 2
        if len(parts) == 3 and parts[2] in ("", "index.html", "index.json"):
            return 1
        if parts[0] == "projects":  # the pages for people: they link files
            return 1
        return 0 if rel != MANIFEST_NAME else 4

    stages = [stage(rel) for rel in puts]
    assert stages == sorted(stages)
    assert set(stages) == {0, 1, 2, 3, 4}
    # Pages for people change with builds: they are not cached as files are.
    people = [rel for rel in puts if rel.startswith("projects/")]
    assert people and all(rel.endswith(".html") for rel in people)
    s3 = server.client()
    for rel in (people[0], "simple/index.html", puts[0]):
        head = s3.head_object(Bucket=bucket, Key=f"{PREFIX}/{rel}")
        expected = "immutable" in head["CacheControl"]
        assert expected == (rel == puts[0]), (rel, head["CacheControl"])
        if rel == people[0]:
            assert head["ContentType"].startswith("text/html")


def test_delete_only_when_asked(server: S3Server, bucket: str, index: Path, sources: Path) -> None:
    client = server.client()
    publish(index, target(bucket), client=client)
    foreign = [f"{PREFIX}/simple/old/old-0.1.tar.gz", f"{PREFIX}/junk", "elsewhere/keep.txt"]
    for key in foreign:
        client.put_object(Bucket=bucket, Key=key, Body=b"not published from here")
    (sources / "baz-0.1.tgz").unlink()
    (sources / "baz-0.2-py3.11.egg").unlink()
    build_index([sources], index, jobs=1, prune=True)
    gone = {f"{PREFIX}/simple/baz/{name}" for name in ("baz-0.1.tgz", "baz-0.2-py3.11.egg")}
    gone |= {f"{PREFIX}/simple/baz/{name}" for name in ("index.html", "index.json", "")}
    gone.add(f"{PREFIX}/projects/baz.html")  # its page for people too

    report = publish(index, target(bucket), client=client)
    assert report.deleted == []
    assert gone | set(foreign) <= set(remote_objects(server, bucket))

    report = publish(index, target(bucket), client=client, delete=True, dry_run=True)
    assert report.deleted == sorted(gone)  # the manifest still lists them as ours
    assert gone <= set(remote_objects(server, bucket))

    report = publish(index, target(bucket), client=client, delete=True)
    assert report.deleted == sorted(gone) and report.uploaded == []
    remote = remote_objects(server, bucket)
    assert set(remote) == set(local_objects(index)) | set(foreign) | {f"{PREFIX}/{MANIFEST_NAME}"}
    manifest = json.loads(remote[f"{PREFIX}/{MANIFEST_NAME}"])
    assert set(manifest["objects"]) == {k[len(PREFIX) + 1 :] for k in local_objects(index)}


def test_dry_run_writes_nothing(server: S3Server, bucket: str, index: Path) -> None:
    client = RecordingClient(server.client())
    report = publish(index, target(bucket), client=client, dry_run=True)
    assert sorted(report.uploaded) == sorted(local_objects(index))
    assert client.puts == [] and remote_objects(server, bucket) == {}
    assert not report.manifest_written


@pytest.mark.parametrize("fail_after", [0, 3, 11])
def test_interrupted_publish_converges(
    server: S3Server, bucket: str, index: Path, fail_after: int
) -> None:
    failing = RecordingClient(server.client(), fail_after=fail_after)
    with pytest.raises(PublishError) as info:
        publish(index, target(bucket), client=failing)
    assert info.value.target == target(bucket)
    assert "Could not connect" in str(info.value)
    present = set(remote_objects(server, bucket))
    assert present == set(failing.puts)  # the manifest was never written
    assert len(present) == fail_after

    client = RecordingClient(server.client())
    report = publish(index, target(bucket), client=client)
    expected = local_objects(index)
    assert sorted(report.uploaded) == sorted(set(expected) - present)
    assert report.unchanged == len(present)
    assert content_of(remote_objects(server, bucket)) == expected
    assert publish(index, target(bucket), client=client).uploaded == []


def test_lost_or_stale_manifest_still_converges(server: S3Server, bucket: str, index: Path) -> None:
    client = server.client()
    publish(index, target(bucket), client=client)
    manifest_key = f"{PREFIX}/{MANIFEST_NAME}"

    client.delete_object(Bucket=bucket, Key=manifest_key)  # lost: ETags decide
    report = publish(index, target(bucket), client=client)
    assert report.uploaded == [] and report.manifest_written

    client.put_object(Bucket=bucket, Key=manifest_key, Body=b"{not json")
    report = publish(index, target(bucket), client=client)
    assert report.uploaded == [] and report.manifest_written

    # Changed behind our back: the ETag no longer matches what the manifest recorded.
    key = f"{PREFIX}/simple/foo/index.html"
    client.put_object(Bucket=bucket, Key=key, Body=b"tampered")
    report = publish(index, target(bucket), client=client)
    assert report.uploaded == [key]
    assert content_of(remote_objects(server, bucket)) == local_objects(index)


def test_pip_installs_from_the_bucket(
    server: S3Server, bucket: str, index: Path, tmp_path: Path, pip_env: dict[str, str]
) -> None:
    publish(index, target(bucket), endpoint_url=server.endpoint_url, directory_keys=True)
    simple = server.url(bucket, f"{PREFIX}/simple/")
    with urllib.request.urlopen(simple + "foo/") as response:  # anonymous, like pip
        assert response.headers["Content-Type"] == HTML
        assert b"foo-1.0-py3-none-any.whl#sha256=" in response.read()
    with pytest.raises(urllib.error.HTTPError):  # the policy covers the prefix only
        urllib.request.urlopen(server.url(bucket, "elsewhere"))

    env = {k: v for k, v in pip_env.items() if not k.startswith("AWS_")}
    target_dir = tmp_path / "installed"
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-cache-dir"]
    cmd += ["--index-url", simple, "--target", str(target_dir), "foo"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target_dir / "foo" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    assert "foo-1.0-py3-none-any.whl" in result.stdout


def test_errors_from_s3_are_publish_errors(server: S3Server, index: Path) -> None:
    with pytest.raises(PublishError) as info:
        publish(
            index, "s3://no-such-bucket/x", endpoint_url=server.endpoint_url, directory_keys=True
        )
    assert info.value.target == "s3://no-such-bucket/x"
    assert "NoSuchBucket" in info.value.reason


def test_not_an_index(server: S3Server, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "somefile").write_text("x")
    with pytest.raises(IndexStateError):
        publish(tmp_path, target(bucket), endpoint_url=server.endpoint_url, directory_keys=True)
    assert remote_objects(server, bucket) == {}


def test_missing_boto3_is_a_clear_error(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(PublishError, match=r"needs boto3.*\[s3\]") as info:
        publish(index, "s3://some-bucket/x", endpoint_url="http://127.0.0.1:9")
    assert info.value.target == "s3://some-bucket/x"


def test_credentials_from_env_never_logged(
    server: S3Server,
    bucket: str,
    index: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "Sekrit-Do-Not-Log-0123456789"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    caplog.set_level(logging.DEBUG)  # botocore's debug output included
    report = publish(index, target(bucket), endpoint_url=server.endpoint_url, directory_keys=True)
    assert report.uploaded
    ours = (publish_module.__name__, s3client.__name__)
    messages = [r for r in caplog.records if r.name in ours]
    debug = {r.getMessage() for r in messages if r.levelno == logging.DEBUG}
    assert {f"uploaded {key}" for key in report.uploaded} <= debug
    info = [r.getMessage() for r in messages if r.levelno == logging.INFO]
    assert len(info) == 1 and f"{len(report.uploaded)} uploaded" in info[0]
    assert secret not in caplog.text


def test_waits_for_a_running_build(
    server: S3Server, bucket: str, index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish_module, "LOCK_TIMEOUT", 0.2)
    with lock_held_elsewhere(index), pytest.raises(IndexStateError, match="a build held the lock"):
        publish(index, target(bucket), endpoint_url=server.endpoint_url, directory_keys=True)
    assert remote_objects(server, bucket) == {}
    assert publish(
        index, target(bucket), endpoint_url=server.endpoint_url, directory_keys=True
    ).uploaded
