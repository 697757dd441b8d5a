"""Team consumers: buildouts pinned to an index served by a real nginx with basic auth.

Each consumer run happens in a network namespace holding nothing but loopback
(when ``unshare -n`` is permitted, as for root), together with the nginx that
serves the index: the run can reach no other host.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from buildout.privateindex.engine.build import build_index
from buildoutenv import CONSUMER, SampleBuildout, can_cut_network, empty_caches
from distfactory import make_sdist, make_tinybackend_wheel, make_wheel

OFFLINE = can_cut_network()
USER = "team"
PASSWORD = "s3cr3t:p@ss"
QUOTED = "s3cr3t%3Ap%40ss"


@pytest.fixture(scope="module")
def team_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dists = tmp_path_factory.mktemp("team-dists")
    make_wheel(dists, "demo-app", "1.0", requires_dist=["demo-lib"])
    make_sdist(dists, "demo-lib", "2.0", "tar.gz", build_requires=["tinybackend"])
    make_tinybackend_wheel(dists)
    out = tmp_path_factory.mktemp("team") / "private-index"
    assert build_index([dists], out).ok
    return out


@pytest.fixture
def consumer(sample: SampleBuildout) -> SampleBuildout:
    return sample


def run_consumer(
    consumer: SampleBuildout,
    index: Path,
    tmp: Path,
    private_index: str,
    templates: tuple[Path, ...] = (),
) -> dict[str, object]:
    config = consumer.write(CONSUMER.format(private_index=private_index))
    args = {
        "index": str(index),
        "tmp": str(tmp),
        "users": {USER: PASSWORD},
        "buildout": str(consumer.directory / "bin" / "buildout"),
        "config": str(config),
        "env": {},
        "templates": [str(path) for path in templates],
    }
    command = [sys.executable, str(Path(__file__).parent / "netns_consumer.py"), json.dumps(args)]
    if OFFLINE:
        command = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]
    env = dict(consumer.env)
    # An offline proof: empty pip and uv caches (HOME stays: it holds the
    # test's ~/.netrc or ~/.pypirc, and no ~/.buildout/default.cfg).
    caches = empty_caches(tmp)
    env.update(PIP_CACHE_DIR=caches["PIP_CACHE_DIR"], UV_CACHE_DIR=caches["UV_CACHE_DIR"])
    proc = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def assert_installed(consumer: SampleBuildout, result: dict[str, object]) -> None:
    assert result["returncode"] == 0, result["output"]
    proc = subprocess.run(
        [str(consumer.directory / "bin" / "py"), "-c", "import demo_app, demo_lib; print('ok')"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.strip() == "ok", proc.stderr
    log = str(result["access_log"])
    # Pages and files were fetched with the credentials (nginx logs the user).
    assert f"{USER} [" in log or f" {USER} " in log
    assert "/simple/demo-lib/demo_lib-2.0.tar.gz" in log
    assert "/simple/tinybackend/" in log  # pip's isolated build, through the index


def assert_no_secret(consumer: SampleBuildout, result: dict[str, object]) -> None:
    for secret in (PASSWORD, QUOTED):
        assert secret not in str(result["output"])
        assert secret not in str(result["access_log"])
    leaked = [
        path
        for secret in (PASSWORD, QUOTED)
        for path in consumer.files_containing(secret)
        if path.name not in ("buildout.cfg", ".netrc", ".pypirc")
    ]
    assert leaked == []


def test_credentials_in_the_url(consumer: SampleBuildout, team_index: Path, tmp_path: Path) -> None:
    result = run_consumer(consumer, team_index, tmp_path, f"http://{USER}:{QUOTED}@{{netloc}}")
    assert_installed(consumer, result)
    assert_no_secret(consumer, result)
    assert "installing only from http://127.0.0.1:" in str(result["output"])


@pytest.mark.parametrize(
    "name, text",
    [
        (".netrc", f"machine 127.0.0.1\nlogin {USER}\npassword {PASSWORD}\n"),
        (
            ".pypirc",
            f"[private]\nrepository = {{url}}\nusername = {USER}\npassword = {PASSWORD}\n",
        ),
    ],
)
def test_credentials_from_the_home_directory(
    name: str, text: str, consumer: SampleBuildout, team_index: Path, tmp_path: Path
) -> None:
    """Credentials from ``~/.netrc`` or ``~/.pypirc``: the URL carries none."""
    home = Path(consumer.env["HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / name).write_text(text)
    (home / name).chmod(0o600)  # netrc readers insist on it
    result = run_consumer(consumer, team_index, tmp_path, "{url}", (home / name,))
    assert_installed(consumer, result)
    assert_no_secret(consumer, result)


def test_wrong_credentials_fail_fast_and_clearly(
    consumer: SampleBuildout, team_index: Path, tmp_path: Path
) -> None:
    result = run_consumer(consumer, team_index, tmp_path, f"http://{USER}:wrong@{{netloc}}")
    assert result["returncode"] != 0
    output = str(result["output"])
    assert "refused the credentials" in output
    assert "HTTP 401" in output
    assert float(result["seconds"]) < 60  # type: ignore[arg-type]
    assert "wrong" not in output
