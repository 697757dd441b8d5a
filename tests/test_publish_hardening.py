"""Publishing: what may be deleted, what may be read, what is hashed (moto)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index
from buildout.privateindex.sharing.publish import MANIFEST_NAME, publish
from s3server import S3Server
from test_publish import PREFIX, bucket, index, remote_objects, server, sources

__all__ = ["bucket", "index", "server", "sources"]  # fixtures shared with test_publish


def keys_below(objects: dict[str, bytes], prefix: str) -> set[str]:
    return {key for key in objects if key.startswith(prefix)}


def test_delete_at_the_bucket_root_spares_foreign_objects(
    server: S3Server, bucket: str, index: Path, sources: Path
) -> None:
    """``s3://bucket`` with no prefix: the whole bucket is listed, and only what
    this index published may go."""
    client = server.client()
    foreign = ["backups/db.sql", "top.txt", "simple/other/other-1.0.tar.gz"]
    for key in foreign:
        client.put_object(Bucket=bucket, Key=key, Body=b"someone else's")
    publish(index, f"s3://{bucket}", client=client)
    (sources / "baz-0.1.tgz").unlink()
    (sources / "baz-0.2-py3.11.egg").unlink()
    build_index([sources], index, jobs=1, prune=True)

    report = publish(index, f"s3://{bucket}", client=client, delete=True)
    gone = ("simple/baz/", "projects/baz.html")
    assert report.deleted and all(key.startswith(gone) for key in report.deleted)
    remote = remote_objects(server, bucket)
    assert set(foreign) <= set(remote)
    assert not any(key.startswith(gone) for key in remote)


def test_lost_manifest_deletes_nothing(
    server: S3Server,
    bucket: str,
    index: Path,
    sources: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = server.client()
    publish(index, f"s3://{bucket}/{PREFIX}", client=client)
    (sources / "baz-0.1.tgz").unlink()
    (sources / "baz-0.2-py3.11.egg").unlink()
    build_index([sources], index, jobs=1, prune=True)
    client.delete_object(Bucket=bucket, Key=f"{PREFIX}/{MANIFEST_NAME}")

    with caplog.at_level(logging.WARNING):
        report = publish(index, f"s3://{bucket}/{PREFIX}", client=client, delete=True)
    assert report.deleted == []
    assert not any(key.endswith((".tgz", ".whl", ".metadata")) for key in report.uploaded)
    assert f"{PREFIX}/simple/baz/baz-0.1.tgz" in remote_objects(server, bucket)
    assert "no usable manifest" in caplog.text and "deleting nothing" in caplog.text


def test_changed_behind_our_back_is_not_deleted(
    server: S3Server, bucket: str, index: Path, sources: Path
) -> None:
    client = server.client()
    publish(index, f"s3://{bucket}/{PREFIX}", client=client)
    key = f"{PREFIX}/simple/baz/baz-0.1.tgz"
    client.put_object(Bucket=bucket, Key=key, Body=b"replaced by someone else")
    (sources / "baz-0.1.tgz").unlink()
    build_index([sources], index, jobs=1, prune=True)
    report = publish(index, f"s3://{bucket}/{PREFIX}", client=client, delete=True)
    assert key not in report.deleted
    assert remote_objects(server, bucket)[key] == b"replaced by someone else"


def test_symbolic_links_out_of_the_index_are_never_published(
    server: S3Server,
    bucket: str,
    index: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("root:x:0:0:not for the bucket\n")
    planted = index / "simple" / "planted"
    planted.mkdir()
    (planted / "planted-1.0.tar.gz").symlink_to("/etc/passwd")
    (planted / "planted-1.1.tar.gz").symlink_to(secret)
    (index / "simple" / "foo" / "state.bin").symlink_to("../../.privateindex/state.sqlite")
    (index / "simple" / "linked").symlink_to(tmp_path, target_is_directory=True)
    inside = index / "simple" / "foo" / "alias.html"  # a link within the index is fine
    inside.symlink_to("index.html")

    with caplog.at_level(logging.WARNING):
        report = publish(index, f"s3://{bucket}/{PREFIX}", client=server.client())
    remote = remote_objects(server, bucket)
    assert not keys_below(remote, f"{PREFIX}/simple/planted/")
    assert not keys_below(remote, f"{PREFIX}/simple/linked")
    assert f"{PREFIX}/simple/foo/state.bin" not in remote
    assert (
        remote[f"{PREFIX}/simple/foo/alias.html"] == (index / "simple/foo/index.html").read_bytes()
    )
    assert b"not for the bucket" not in b"".join(remote.values())
    assert not any(key.endswith("planted-1.0.tar.gz") for key in report.uploaded)
    for name in ("planted/planted-1.0.tar.gz", "planted/planted-1.1.tar.gz", "foo/state.bin"):
        assert f"not publishing simple/{name}: it leads outside the index" in caplog.text
    assert "not publishing simple/linked: a symbolic link to a directory" in caplog.text


def test_distribution_hashes_come_from_the_state(
    server: S3Server, bucket: str, index: Path
) -> None:
    pages = [p for p in index.rglob("*") if p.name in ("index.html", "index.json")]
    pages += (index / "projects").glob("*.html")  # the pages for people
    metadata = list(index.rglob("*.metadata"))
    dists = [
        p
        for p in index.rglob("*")
        if p.is_file() and p not in pages and p not in metadata and ".privateindex" not in p.parts
    ]
    assert dists and metadata and pages
    small = sum(p.stat().st_size for p in pages + metadata)

    first = publish(index, f"s3://{bucket}/{PREFIX}", client=server.client())
    assert (first.hashed_files, first.hashed_bytes) == (len(pages) + len(metadata), small)
    second = publish(index, f"s3://{bucket}/{PREFIX}", client=server.client())
    assert second.uploaded == [] and second.hashed_files == len(pages) + len(metadata)

    # A distribution changed in place (not by a build): its size no longer
    # matches the state, so it is hashed and uploaded again.
    victim = next(p for p in dists if p.name.endswith(".tar.gz"))
    victim.write_bytes(victim.read_bytes() + b"\0")
    third = publish(index, f"s3://{bucket}/{PREFIX}", client=server.client())
    assert third.hashed_files == len(pages) + len(metadata) + 1
    assert third.uploaded == [f"{PREFIX}/{victim.relative_to(index).as_posix()}"]
    remote = remote_objects(server, bucket)
    assert remote[third.uploaded[0]] == victim.read_bytes()


def test_a_tree_without_state_is_hashed_whole(
    server: S3Server, bucket: str, index: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    for path in index.rglob("*"):
        rel = path.relative_to(index)
        if path.is_file() and ".privateindex" not in rel.parts:
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            (copy / rel).write_bytes(path.read_bytes())
    report = publish(copy, f"s3://{bucket}/{PREFIX}", client=server.client())
    files = [p for p in copy.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert report.hashed_files == len(files)
    manifest = json.loads(remote_objects(server, bucket)[f"{PREFIX}/{MANIFEST_NAME}"])
    for path in files:
        rel = path.relative_to(copy).as_posix()
        assert manifest["objects"][rel]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
