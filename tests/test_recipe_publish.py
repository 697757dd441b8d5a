"""The recipe's ``publish-to``: a real buildout run publishing to a local S3 server."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from buildoutenv import SampleBuildout
from distfactory import make_wheel
from s3server import S3Server, aws_environ


def test_publish_after_each_build(sample: SampleBuildout, tmp_path: Path) -> None:
    dists = tmp_path / "dists"
    dists.mkdir()
    make_wheel(dists, "team-app", "1.0")
    with S3Server() as s3:
        s3.create_public_bucket("team", "pypi")
        sample.write(
            f"""
            [buildout]
            parts = private-index

            [private-index]
            recipe = buildout.privateindex
            sources = {dists}
            complete = false
            publish-to = s3://team/pypi
            publish-endpoint-url = {s3.endpoint_url}
            """
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
    sample.write(
        f"""
        [buildout]
        parts = private-index

        [private-index]
        recipe = buildout.privateindex
        sources = {tmp_path}
        publish-to = https://not-s3/bucket
        """
    )
    run = sample.run()
    assert run.returncode != 0
    assert (
        "[private-index] option 'publish-to': not an s3://bucket/prefix URL: 'https://not-s3/bucket'"
        in run.output
    )
