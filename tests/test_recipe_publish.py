"""The recipe's ``publish-to``: a real buildout run publishing to a local S3 server."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from buildoutenv import SampleBuildout
from distfactory import make_wheel
from s3server import S3Server, aws_environ


def _write_part(sample: SampleBuildout, **options: str) -> None:
    """A buildout whose one part is a private index with ``options`` (``_`` for ``-``)."""
    lines = "\n".join(f"{name.replace('_', '-')} = {value}" for name, value in options.items())
    sample.write(
        "[buildout]\nparts = private-index\n\n"
        f"[private-index]\nrecipe = buildout.privateindex\n{lines}\n"
    )


def _publishing_buildout(
    sample: SampleBuildout, tmp_path: Path, endpoint: str, **extra: str
) -> Path:
    """A buildout publishing a one-wheel index to ``s3://team/pypi`` at ``endpoint``."""
    dists = tmp_path / "dists"
    dists.mkdir(exist_ok=True)
    make_wheel(dists, "team-app", "1.0")
    _write_part(
        sample,
        sources=str(dists),
        complete="false",
        publish_to="s3://team/pypi",
        publish_endpoint_url=endpoint,
        **extra,
    )
    return dists


def test_publish_after_each_build(sample: SampleBuildout, tmp_path: Path) -> None:
    with S3Server() as s3:
        s3.create_public_bucket("team", "pypi")
        # moto stands for AWS here, which keeps a page under simple/team-app/
        dists = _publishing_buildout(
            sample, tmp_path, s3.endpoint_url, publish_directory_keys="true"
        )
        run = sample.run(env=aws_environ(sample.env))
        assert run.returncode == 0, run
        assert "published to s3://team/pypi: " in run.output
        assert "Unused option" not in run.output
        page = urllib.request.urlopen(s3.url("team", "pypi/simple/team-app/")).read().decode()
        assert "team_app-1.0-py3-none-any.whl#sha256=" in page
        assert aws_environ()["AWS_SECRET_ACCESS_KEY"] not in run.output

        make_wheel(dists, "team-app", "1.1")
        run = sample.run(env=aws_environ(sample.env))
        assert run.returncode == 0, run
        page = urllib.request.urlopen(s3.url("team", "pypi/simple/team-app/")).read().decode()
        assert "team_app-1.1-py3-none-any.whl#sha256=" in page


def test_bad_publish_target_is_a_clear_error(sample: SampleBuildout, tmp_path: Path) -> None:
    _write_part(sample, sources=str(tmp_path), publish_to="https://not-s3/bucket")
    run = sample.run()
    assert run.returncode != 0
    assert (
        "[private-index] option 'publish-to': not an s3://bucket/prefix URL: 'https://not-s3/bucket'"
        in run.output
    )


def test_unknown_aws_profile_is_a_clear_error(sample: SampleBuildout, tmp_path: Path) -> None:
    _publishing_buildout(sample, tmp_path, "http://127.0.0.1:9")
    env = aws_environ(sample.env) | {"AWS_PROFILE": "no-such-profile"}
    run = sample.run(env=env)
    assert run.returncode != 0
    assert (
        "Error: [private-index] option 'publish-to': s3://team/pypi: "
        "AWS profile 'no-such-profile' not found"
    ) in run.output
    assert "Traceback" not in run.output


def test_unreachable_endpoint_names_the_endpoint_option(
    sample: SampleBuildout, tmp_path: Path
) -> None:
    password = "Recipe-Pa55word-b81f"
    _publishing_buildout(sample, tmp_path, f"http://team:{password}@127.0.0.1:9")
    env = aws_environ(sample.env) | {"AWS_EC2_METADATA_DISABLED": "true"}
    run = sample.run(env=env)
    assert run.returncode != 0
    assert "Error: [private-index] option 'publish-endpoint-url': s3://team/pypi: " in run.output
    assert "Could not connect to the endpoint URL" in run.output
    assert "Traceback" not in run.output
    assert password not in run.output
    assert aws_environ()["AWS_SECRET_ACCESS_KEY"] not in run.output


def test_bad_directory_keys_value(sample: SampleBuildout, tmp_path: Path) -> None:
    _write_part(
        sample,
        sources=str(tmp_path),
        publish_to="s3://team/pypi",
        publish_directory_keys="sometimes",
    )
    run = sample.run()
    assert run.returncode != 0
    assert (
        "[private-index] option 'publish-directory-keys': not auto, true or false: 'sometimes'"
        in run.output
    )
