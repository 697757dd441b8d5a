"""Benchmark publishing an index to S3 (moto's server on 127.0.0.1, in a child process).

Usage: ``.venv/bin/python benchmarks/bench_publish.py [N_FILES] [--jobs J]``

Generates an index of about N_FILES files (default 500: wheels, their
``.metadata`` files and the pages), then times a first publish, a publish with
nothing changed (must upload nothing) and a publish after adding one wheel.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent / "tests")]

from buildout.privateindex.model import DistFile, Kind  # noqa: E402
from buildout.privateindex.publish import PublishReport, publish  # noqa: E402
from buildout.privateindex.render import (  # noqa: E402
    PageFile,
    landing_html,
    project_html,
    project_json,
    root_html,
    root_json,
)
from distfactory import make_wheel  # noqa: E402
from s3server import S3Server, aws_environ  # noqa: E402

VERSIONS_PER_PROJECT = 4
PAYLOAD = 16 * 1024


def _add_wheel(out: Path, project: str, version: str, rng: random.Random) -> DistFile:
    folder = out / "simple" / project
    folder.mkdir(parents=True, exist_ok=True)
    payload = {f"{project}/data.bin": rng.randbytes(PAYLOAD)}
    path = make_wheel(folder, project, version, extra_files=payload)
    with zipfile.ZipFile(path) as zf:
        metadata = zf.read(f"{project}-{version}.dist-info/METADATA")
    (folder / f"{path.name}.metadata").write_bytes(metadata)
    data = path.read_bytes()
    return DistFile(
        filename=path.name,
        project=project,
        name=project,
        version=version,
        kind=Kind.WHEEL,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        mtime_ns=path.stat().st_mtime_ns,
        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
    )


def _write_pages(out: Path, projects: dict[str, list[DistFile]]) -> None:
    for name, dists in projects.items():
        pages = [PageFile(d, quote(d.filename)) for d in dists]
        (out / "simple" / name / "index.html").write_text(project_html(name, pages))
        (out / "simple" / name / "index.json").write_text(project_json(name, pages))
    (out / "simple" / "index.html").write_text(root_html(sorted(projects)))
    (out / "simple" / "index.json").write_text(root_json(sorted(projects)))
    (out / "index.html").write_text(landing_html(projects))


def make_index(out: Path, n_files: int) -> dict[str, list[DistFile]]:
    """An index of about ``n_files`` files (2 per wheel, 2 pages per project)."""
    rng = random.Random(42)
    per_project = 2 * VERSIONS_PER_PROJECT + 2
    projects: dict[str, list[DistFile]] = {}
    for i in range(max(1, n_files // per_project)):
        name = f"proj{i:04d}"
        projects[name] = [_add_wheel(out, name, f"1.{v}", rng) for v in range(VERSIONS_PER_PROJECT)]
    _write_pages(out, projects)
    return projects


def _row(label: str, report: PublishReport) -> str:
    return (
        f"| {label:<20} | {len(report.uploaded):>8} | {report.unchanged:>9} "
        f"| {report.elapsed:>8.2f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_files", type=int, nargs="?", default=500)
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args(argv)
    os.environ.update(aws_environ())
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(key, None)
    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    try:
        index = work / "index"
        projects = make_index(index, args.n_files)
        n_local = sum(1 for p in index.rglob("*") if p.is_file())
        with S3Server(subprocess=True) as server:
            server.client().create_bucket(Bucket="bench-index")
            target, endpoint = "s3://bench-index/simple-index", server.endpoint_url

            def run() -> PublishReport:
                return publish(index, target, endpoint_url=endpoint, jobs=args.jobs)

            first = run()
            second = run()
            name = next(iter(projects))
            projects[name].append(_add_wheel(index, name, "9.0", random.Random(7)))
            _write_pages(index, projects)
            third = run()
        print(f"{n_local} local files, {len(first.uploaded)} objects, jobs={args.jobs}")
        print("| publish              | uploaded | unchanged | seconds  |")
        print("|----------------------|----------|-----------|----------|")
        print(_row("first", first))
        print(_row("no change", second))
        print(_row("one wheel added", third))
        if second.uploaded:
            print("ERROR: a no-change publish uploaded objects", file=sys.stderr)
            return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
