"""The landing page at scale: its size, its incremental cost, its load time.

Builds an index of N projects (default 5,000; one minimal wheel each, with a
summary of about 40 characters) and reports the landing page's size, the
average project page's, the time of a rebuild after one new project (which
renders that project's pages and row, and puts the landing page together
from the rows kept in the state), and the landing page's ``loadEventEnd`` in
headless Chromium (``file://``, median and best of 5 loads; needs Chromium,
see ``.ci/install-system-deps``).  Goal: under 1,000 ms.

Run: ``.venv/bin/python benchmarks/bench_landing.py [--projects N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

LOADS = 5
GOAL_MS = 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=5000)
    args = parser.parse_args()

    from browser import chromium
    from buildout.privateindex.engine.build import build_index
    from distfactory import make_wheel

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "src"), Path(tmp, "index")
        src.mkdir()
        for i in range(args.projects):
            make_wheel(src, f"proj{i:05d}", "1.0", summary=f"Project {i} of a large index")
        started = time.monotonic()
        build_index([src], out)
        cold = time.monotonic() - started
        landing = (out / "index.html").stat().st_size
        people = [p.stat().st_size for p in (out / "projects").glob("*.html")]
        make_wheel(src, "one-more", "1.0")
        started = time.monotonic()
        report = build_index([src], out)
        one_more = time.monotonic() - started
        timings = []
        with chromium() as driver:
            for _ in range(LOADS):
                driver.get((out / "index.html").as_uri())
                timings.append(
                    driver.execute_script(
                        "return performance.getEntriesByType('navigation')[0].loadEventEnd"
                    )
                )
    median = statistics.median(timings)
    print(f"projects:                 {args.projects:,}")
    print(f"cold build:               {cold:.1f} s")
    per = landing / args.projects
    print(f"landing page:             {landing:,} bytes ({per:.0f} per project)")
    print(f"project page (mean):      {statistics.mean(people):,.0f} bytes")
    print(f"one new project:          {one_more:.2f} s, {report.pages_written} pages written")
    print(
        f"loadEventEnd (Chromium):  median {median:.0f} ms, best {min(timings):.0f} ms "
        f"({', '.join(f'{t:.0f}' for t in timings)})"
    )
    ok = median < GOAL_MS
    print(f"goal loadEventEnd < {GOAL_MS} ms: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
