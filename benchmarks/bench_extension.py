"""How much the extension adds to a buildout run (goal: under 50 ms).

Measures, in a fresh interpreter each time: importing the extension module,
and calling ``extension()`` on a real ``Buildout`` object pinned to an
existing local index.  Run: ``.venv/bin/python benchmarks/bench_extension.py``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

PROBE = r"""
import json, os, sys, time
os.chdir(sys.argv[1])
import zc.buildout.buildout
buildout = zc.buildout.buildout.Buildout("buildout.cfg", [])
t0 = time.perf_counter()
from buildout.privateindex import extension
t1 = time.perf_counter()
extension.extension(buildout)
t2 = time.perf_counter()
assert buildout["buildout"]["index"].startswith("file://")
print(json.dumps({"import": t1 - t0, "extension": t2 - t1}))
"""


def main() -> int:
    from buildout.privateindex.engine.build import build_index
    from distfactory import make_wheel

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "dists").mkdir()
        for i in range(50):
            make_wheel(root / "dists", f"pkg{i}", "1.0")
        build_index([root / "dists"], root / "private-index")
        (root / "buildout.cfg").write_text(
            "[buildout]\nextensions = buildout.privateindex\nparts = pi\n"
            "[pi]\nrecipe = buildout.privateindex\n"
            "directory = ${buildout:directory}/private-index\nsources = dists\n"
        )
        samples = []
        for _ in range(10):
            out = subprocess.run(
                [sys.executable, "-c", PROBE, str(root)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            samples.append(json.loads(out.splitlines()[-1]))
    for key in ("import", "extension"):
        values = [s[key] * 1000 for s in samples]
        print(f"{key:10s} median {statistics.median(values):6.2f} ms  max {max(values):6.2f} ms")
    total = statistics.median(s["import"] + s["extension"] for s in samples) * 1000
    verdict = "PASS" if total < 50 else "FAIL"
    print(f"total      median {total:6.2f} ms  goal < 50 ms: {verdict}")
    return 0 if total < 50 else 1


if __name__ == "__main__":
    sys.exit(main())
