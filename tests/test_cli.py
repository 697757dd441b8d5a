"""The ``privateindex`` command line: exit codes, messages, logging, publish."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildout.privateindex.cli import main
from distfactory import (
    make_plain_tarball,
    make_sdist,
    make_tinybackend_wheel,
    make_truncated,
    make_wheel,
)
from s3server import S3Server, aws_environ

SUMMARY = re.compile(
    r"indexed (\d+) files? in (\d+) projects? \((\d+) new, (\d+) skipped, (\d+) pruned\) "
    r"in \d+\.\d\ds\n"
)


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    make_wheel(src, "foo", "1.0")
    make_sdist(src, "bar", "2.0")
    return src


@pytest.fixture
def broken(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A source with one good wheel and two files that cannot be indexed."""
    src = tmp_path / "broken"
    src.mkdir()
    make_wheel(src, "good", "1.0")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    bad = [
        make_truncated(make_wheel(scratch, "cut", "1.0"), src),
        make_plain_tarball(src),
    ]
    return src, bad


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_build_prints_one_summary_line(
    sources: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "index"
    code, out, err = run(capsys, "build", sources, "-o", out_dir)
    assert (code, err) == (0, "")
    match = SUMMARY.fullmatch(out)
    assert match, out
    assert match.groups() == ("2", "2", "2", "0", "0")
    assert (out_dir / "simple" / "foo" / "index.html").is_file()
    # Again: nothing new.
    code, out, err = run(capsys, "build", sources, "--output", out_dir)
    match = SUMMARY.fullmatch(out)
    assert match and match.groups() == ("2", "2", "0", "0", "0")
    # Prune a vanished file.
    next(sources.glob("*.whl")).unlink()
    code, out, err = run(capsys, "build", sources, "-o", out_dir, "--prune", "--jobs", "1")
    match = SUMMARY.fullmatch(out)
    assert match and match.groups() == ("1", "1", "0", "0", "1")


def test_quiet_silences_the_summary(
    sources: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "build", "-q", sources, "-o", tmp_path / "index") == (0, "", "")


def test_bad_files_are_warned_about_once_each(
    broken: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, bad = broken
    code, out, err = run(capsys, "build", src, "-o", tmp_path / "index")
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2, err
    for path in bad:
        assert sum(f"warning: {path}: " in line for line in warnings) == 1
    match = SUMMARY.fullmatch(out)
    assert match and match.groups() == ("1", "1", "1", "2", "0")


def test_hostile_file_names_cannot_forge_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_wheel(src, "good", "1.0")
    # A newline forges a summary line, ESC clears the screen, BEL rings.
    forged = "evil\x1b[2J\x07-1.0\nindexed 999 files in 999 projects.tar.gz"
    make_sdist(src, "evil", "1.0", filename=forged)
    code, out, err = run(capsys, "build", src, "-o", tmp_path / "index")
    assert code == 0
    assert "\x1b" not in err and "\x07" not in err
    [warning] = err.splitlines()
    assert warning.startswith(f"warning: {src}/evil\\x1b[2J\\x07-1.0\\nindexed 999 files")
    assert "holds a control character" in warning
    match = SUMMARY.fullmatch(out)
    assert match and match.groups() == ("1", "1", "1", "1", "0")
    assert not list((tmp_path / "index" / "simple").glob("evil*"))


def test_strict_exits_1_after_reporting_all_bad_files(
    broken: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, bad = broken
    code, out, err = run(capsys, "build", "--strict", "-q", src, "-o", tmp_path / "index")
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert {line.split(": ")[1] for line in lines[:2]} == {str(p) for p in bad}
    assert lines[2] == "privateindex: error: 2 files could not be indexed (--strict)"
    assert out == ""


def test_missing_source_names_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-dir"
    code, out, err = run(capsys, "build", missing, "-o", tmp_path / "index")
    assert code == 1
    assert err.startswith("privateindex: error: ")
    assert str(missing) in err
    assert err.count("\n") == 1 and out == ""
    assert not (tmp_path / "index").exists()


@pytest.mark.parametrize("spec", ["foo", "foo>=1.0", "==1.0", "foo==not a version"])
def test_bad_yank_is_a_clear_error(
    spec: str, sources: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for option in ("--yank", "--unyank"):
        code, _, err = run(capsys, "build", sources, "-o", tmp_path / "index", option, spec)
        assert code == 1
        assert err.startswith("privateindex: error: invalid yank ")
        assert repr(spec) in err


def test_yank_and_base_url_reach_the_pages(
    sources: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "index"
    code, _, _ = run(
        capsys,
        "build",
        sources,
        "-o",
        out_dir,
        "--yank",
        "foo==1.0: broken",
        "--base-url",
        "https://example.invalid/simple/",
    )
    assert code == 0
    page = (out_dir / "simple" / "foo" / "index.html").read_text()
    assert 'data-yanked="broken"' in page
    assert 'href="https://example.invalid/simple/foo/' in page


def test_output_that_is_not_an_index(
    sources: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "precious.txt").write_text("keep me")
    code, _, err = run(capsys, "build", sources, "-o", tmp_path / "other")
    assert code == 1
    assert err.startswith("privateindex: error: ") and "not an index" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["build"],
        ["build", "src"],  # no --output
        ["build", "src", "-o", "out", "--jobs", "0"],
        ["serve", "dir", "--port", "70000"],
        ["publish", "dir"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "usage: privateindex" in err


def test_version_and_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("privateindex ")
    code, out, _ = run(capsys, "build", "--help")
    assert code == 0 and "--strict" in out


def test_verbosity_and_no_leaked_handlers(
    sources: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handlers = list(logging.getLogger().handlers)
    level = logging.getLogger().level
    code, _, err = run(capsys, "build", "-v", sources, "-o", tmp_path / "index")
    assert code == 0
    assert "debug: " not in err
    code, _, err = run(capsys, "build", "-vv", sources, "-o", tmp_path / "index2")
    # The engine logs its own summary at debug level (a library stays quiet).
    summary = r"^debug: buildout\.privateindex\.engine\.build: .*2 file\(s\) in 2 project\(s\)"
    assert re.search(summary, err, re.M), err
    code, _, err = run(capsys, "build", sources, "-o", tmp_path / "index3")
    assert err == ""
    assert logging.getLogger().handlers == handlers
    assert logging.getLogger().level == level


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("count", "shown"), [(55, True), (50, False)])
def test_progress_bar_only_on_a_terminal_for_many_files(
    count: int, shown: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "many"
    src.mkdir()
    for i in range(count):
        make_wheel(src, f"pkg{i}", "1.0")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["build", str(src), "-o", str(tmp_path / "index")]) == 0
    text = terminal.getvalue()
    assert (f"] {count}/{count} files" in text) is shown
    assert text.endswith("\r\x1b[K") is shown
    # Not on a terminal, or with --quiet: never.
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    (src / "pkg0-1.0-py3-none-any.whl").unlink()
    assert main(["build", "-q", str(src), "-o", str(tmp_path / "index2")]) == 0
    assert quiet.getvalue() == ""


def test_verify_command(sources: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_tinybackend_wheel(sources)  # what the sdist builds with
    out_dir = tmp_path / "index"
    assert run(capsys, "build", "-q", sources, "-o", out_dir)[0] == 0
    assert run(capsys, "verify", out_dir) == (0, f"{out_dir}: OK\n", "")
    wheel = next((out_dir / "simple" / "foo").glob("*.whl"))
    with open(wheel, "ab") as stream:
        stream.write(b"x")
    code, out, err = run(capsys, "verify", out_dir)
    assert code == 1
    assert out.startswith(f"simple/foo/{wheel.name}: sha256 mismatch")
    assert out.count("\n") == 1
    assert err == f"privateindex: error: 1 problem in {out_dir}\n"
    code, _, err = run(capsys, "verify", tmp_path / "nowhere")
    assert code == 1 and "no such directory" in err


def test_serve_refuses_a_non_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "serve", tmp_path, "--port", "0")
    assert code == 1 and "not a package index" in err


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    for key, value in aws_environ().items():
        monkeypatch.setenv(key, value)
    # The in-process S3 server's request log is not the command's output.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "level", logging.WARNING)
    with S3Server() as server:
        yield server


def test_publish_command(
    sources: Path, tmp_path: Path, s3: S3Server, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "index"
    assert run(capsys, "build", "-q", sources, "-o", out_dir)[0] == 0
    s3.client().create_bucket(Bucket="cli-test")
    url = s3.endpoint_url
    code, out, _ = run(capsys, "publish", out_dir, "s3://cli-test/pi", "--endpoint-url", url, "-n")
    assert code == 0 and out.startswith("dry run: would have uploaded ")
    code, out, _ = run(capsys, "publish", out_dir, "s3://cli-test/pi", "--endpoint-url", url)
    assert code == 0
    assert re.fullmatch(r"uploaded (\d+) objects, 0 unchanged, 0 deleted in \d+\.\d\ds\n", out)
    code, out, _ = run(capsys, "publish", out_dir, "s3://cli-test/pi", "--endpoint-url", url)
    assert re.fullmatch(r"uploaded 0 objects, \d+ unchanged, 0 deleted in \d+\.\d\ds\n", out)
    code, _, err = run(capsys, "publish", out_dir, "s3://no-such-bucket/x", "--endpoint-url", url)
    assert code == 1 and err.startswith("privateindex: error: s3://no-such-bucket/x")
    code, _, err = run(capsys, "publish", out_dir, "http://not-s3/", "--endpoint-url", url)
    assert code == 1 and err.startswith("privateindex: error: ")


def test_python_dash_m(broken: tuple[Path, list[Path]], tmp_path: Path) -> None:
    src, bad = broken
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "buildout.privateindex",
            "build",
            str(src),
            "-o",
            str(tmp_path / "index"),
            "--strict",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 3, proc.stderr
    assert sorted(line.split(": ")[1] for line in lines[:2]) == sorted(str(p) for p in bad)
    assert lines[2] == "privateindex: error: 2 files could not be indexed (--strict)"
    assert SUMMARY.fullmatch(proc.stdout)


def test_the_script_exits_with_all_output_written(
    broken: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    """The installed ``privateindex`` ends the process without the interpreter's
    teardown: what it printed and logged, through pipes, is all there."""
    src, bad = broken
    script = Path(sys.executable).with_name("privateindex")
    argv = [str(script), "build", "-vv", str(src), "-o", str(tmp_path / "index"), "--strict"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert SUMMARY.fullmatch(proc.stdout)
    lines = proc.stderr.splitlines()
    assert any("1 file(s) in 1 project(s); 1 added" in line for line in lines), proc.stderr
    assert sorted(line.split(": ")[1] for line in lines if line.startswith("warning")) == sorted(
        str(p) for p in bad
    )
    assert lines[-1] == "privateindex: error: 2 files could not be indexed (--strict)"


_QUICK_EXIT = """
import atexit, sys, threading, time
from buildout.privateindex.__main__ import run
atexit.register(lambda: print("atexit ran", flush=False))
if sys.argv[1] == "thread":
    def late():
        time.sleep(0.5)
        print("the thread finished")
    threading.Thread(target=late).start()
sys.argv[1:] = ["build", "-q", *sys.argv[2:]]
run()
"""


@pytest.mark.parametrize("thread", ["thread", "no-thread"])
def test_the_quick_exit_runs_atexit_and_waits_for_threads(
    sources: Path, tmp_path: Path, thread: str
) -> None:
    argv = [sys.executable, "-c", _QUICK_EXIT, thread, str(sources), "-o", str(tmp_path / "i")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    expected = ["the thread finished"] if thread == "thread" else []
    assert proc.stdout.splitlines() == [*expected, "atexit ran"]


def test_the_quick_exit_leaves_profilers_and_python_i_their_turn(
    sources: Path, tmp_path: Path
) -> None:
    """``python -m cProfile`` prints its profile, ``python -i`` its prompt's
    input runs: both act after the command returns."""
    build = ["-m", "buildout.privateindex", "build", "-q", str(sources), "-o"]
    argv = [sys.executable, "-m", "cProfile", *build, str(tmp_path / "a")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "function calls" in proc.stdout
    argv = [sys.executable, "-i", *build, str(tmp_path / "b")]
    proc = subprocess.run(
        argv, input='print("after the command")\n', capture_output=True, text=True, timeout=120
    )
    assert "after the command" in proc.stdout, proc.stderr
