"""Generate a deterministic corpus of distribution files for the benchmarks.

    python benchmarks/make_corpus.py DIR --files N [--mix M] [--seed S] [--payload-kib K]
                                     [--jobs J]

The default mix (``--mix default``) holds N files over about N/10 projects with
several versions each.  Every release is one wheel (or, now and then, an egg) plus one sdist, whose
archive format cycles through every sdist format (.tar.gz, .tgz, .tar.bz2,
.tar.xz, .zip).  Each file carries an incompressible payload (seeded random
bytes) whose size is uniform in [0.2 K, 1.8 K] KiB, so the mean is K KiB.  Some
tarballs store PKG-INFO as their last member, the worst case for a reader that
streams a tarball looking for its metadata.

The archives come from ``tests/distfactory.py``; only .tar.bz2 and .tar.xz are
written here, at the fastest compression levels, since compressing random bytes
with bzip2 or xz at their default levels would dominate the generation time.

Two other mixes model other corpora (see ``MIXES``): ``small`` (75 % wheels,
the rest ``.tar.gz`` and a few ``.zip``, incompressible payloads of 0.2 K to
1.8 K KiB; with K = 22, 4 to 40 KiB) and ``realistic``, modelled on a real
download cache (85 % wheels, 14 % ``.tar.gz``, 1 % ``.zip``, compressible
text payloads split into modules, log-normal sizes, PKG-INFO first in half
the tarballs, as setuptools writes it, and last in the other half, as
hatchling and flit do).

Generation is deterministic for a given (N, seed, K), file contents and
modification times alike, and runs in a process pool.  A marker file
(``.corpus.json``) records the parameters: a directory whose marker matches is
left as is.  Otherwise stale distribution files in DIR (files with a
distribution suffix that the new corpus does not hold) are removed.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import distfactory

MARKER = ".corpus.json"
#: Bump when the generated content changes, so cached corpora are rebuilt.
GENERATOR_VERSION = 1
#: The payload sizes of the realistic mix are log-normal with this sigma, capped
#: at REALISTIC_CAP times the mean.
REALISTIC_SIGMA = 1.4
REALISTIC_CAP = 40
DIST_SUFFIXES = (".whl", ".egg", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
WORDS = (
    "alpha", "bravo", "cobalt", "delta", "ember", "falcon", "garnet", "harbor",
    "indigo", "juniper", "kestrel", "lumen", "marble", "nectar", "onyx", "pylon",
)  # fmt: skip


@dataclass(frozen=True)
class Mix:
    """What the files of a corpus look like (besides the default mix's own plan)."""

    #: Share of the releases that ship an sdist besides their wheel.
    sdist_share: float
    #: sdist formats and their weights.
    formats: tuple[tuple[str, int], ...]
    #: Share of the tarballs with PKG-INFO as their last member.
    pkg_info_last: float
    #: "random" (incompressible) or "text" (compressible, split into modules).
    payload: str
    #: "uniform" in [0.2 K, 1.8 K] KiB or "lognormal" with mean about K KiB.
    sizes: str
    #: Mean number of files per project.
    files_per_project: int


MIXES: dict[str, Mix | None] = {
    "default": None,  # plan() below: wheels, eggs and every sdist format
    # 75 % wheels (1 sdist per 3 releases), small incompressible payloads.
    "small": Mix(1 / 3, (("tar.gz", 4), ("zip", 1)), 0.4, "random", "uniform", 10),
    # A download cache: 85 % wheels, 14 % .tar.gz, 1 % .zip, compressible.
    "realistic": Mix(0.176, (("tar.gz", 14), ("zip", 1)), 0.5, "text", "lognormal", 4),
}


#: The mean payload (KiB) of each mix unless told otherwise.
DEFAULT_PAYLOAD_KIB = {"default": 100, "small": 22, "realistic": 300}


def corpus_path(
    work: str | os.PathLike[str], files: int, mix: str = "default", payload_kib: int | None = None
) -> Path:
    """Where the benchmarks keep a corpus: ``WORK/corpus-N`` for the default mix,
    ``WORK/corpus-MIX-N`` for the others, with ``-kK`` for a non-default payload."""
    name = "corpus" if mix == "default" else f"corpus-{mix}"
    suffix = "" if payload_kib in (None, DEFAULT_PAYLOAD_KIB[mix]) else f"-k{payload_kib}"
    return Path(work) / f"{name}-{files}{suffix}"


@dataclass(frozen=True)
class Spec:
    """One file to generate."""

    index: int
    kind: str  # "wheel", "egg" or an sdist format from distfactory.SDIST_FORMATS
    name: str
    version: str
    payload_size: int
    pkg_info_last: bool
    requires_python: str | None
    text: bool = False  # a compressible payload split into modules

    @property
    def filename(self) -> str:
        mod = distfactory.module_name(self.name)
        if self.kind == "wheel":
            return f"{mod}-{self.version}-py3-none-any.whl"
        if self.kind == "egg":
            return f"{mod}-{self.version}-py3.11.egg"
        return f"{mod}-{self.version}.{self.kind}"


@dataclass(frozen=True)
class Corpus:
    """What a generated corpus holds (also the content of its marker)."""

    generator: int
    files: int
    seed: int
    payload_kib: int
    projects: int
    total_bytes: int
    kinds: dict[str, int]
    mix: str = "default"


def project_names(count: int, seed: int) -> list[str]:
    """Distinct project names, spelt in varied (but valid) ways."""
    rng = random.Random(f"names:{seed}")
    names = []
    for i in range(count):
        word = rng.choice(WORDS)
        style = i % 4
        if style == 0:
            names.append(f"{word}-tools-{i}")
        elif style == 1:
            names.append(f"{word.capitalize()}_Lib{i}")
        elif style == 2:
            names.append(f"{word}.plugin.{i}")
        else:
            names.append(f"{word}{i}")
    return names


def plan(files: int, seed: int, payload_kib: int, mix: str = "default") -> list[Spec]:
    """The files of the corpus, in a deterministic order."""
    if MIXES[mix] is not None:
        return _plan_mix(files, seed, payload_kib, mix, MIXES[mix])  # type: ignore[arg-type]
    rng = random.Random(f"plan:{seed}")
    projects = project_names(max(1, round(files / 10)), seed)
    low, high = max(1, payload_kib * 1024 // 5), payload_kib * 1024 * 9 // 5
    specs: list[Spec] = []
    release = 0
    while len(specs) < files:
        name = projects[release % len(projects)]
        rank = release // len(projects)
        version = f"{1 + rank // 3}.{rank % 3}.0" + ("rc1" if rank % 5 == 4 else "")
        requires_python = ">=3.8" if rng.random() < 0.5 else None
        # One wheel (one release in seven ships an egg instead) and one sdist;
        # sdist formats rotate so that even a tiny corpus holds every format.
        first = "egg" if release % 7 == 3 else "wheel"
        sdist = distfactory.SDIST_FORMATS[release % len(distfactory.SDIST_FORMATS)]
        for kind in (first, sdist):
            if len(specs) == files:
                break
            specs.append(
                Spec(
                    index=len(specs),
                    kind=kind,
                    name=name,
                    version=version,
                    payload_size=rng.randint(low, high),
                    pkg_info_last=kind not in ("wheel", "egg", "zip") and rng.random() < 0.4,
                    requires_python=requires_python,
                )
            )
        release += 1
    return specs


def _plan_mix(files: int, seed: int, payload_kib: int, name: str, mix: Mix) -> list[Spec]:
    rng = random.Random(f"plan:{seed}:{name}")
    projects = project_names(max(1, round(files / mix.files_per_project)), seed)
    formats = [f for f, _ in mix.formats]
    weights = [w for _, w in mix.formats]
    mean = payload_kib * 1024

    def size() -> int:
        if mix.sizes == "uniform":
            return rng.randint(max(1, mean // 5), mean * 9 // 5)
        # log-normal with the given mean: mu = ln(mean) - sigma^2 / 2
        value = rng.lognormvariate(math.log(mean) - REALISTIC_SIGMA**2 / 2, REALISTIC_SIGMA)
        return max(256, min(int(value), mean * REALISTIC_CAP))

    specs: list[Spec] = []
    release = 0
    while len(specs) < files:
        name = projects[release % len(projects)]
        rank = release // len(projects)
        version = f"{1 + rank // 3}.{rank % 3}.0" + ("rc1" if rank % 5 == 4 else "")
        requires_python = ">=3.8" if rng.random() < 0.5 else None
        kinds = ["wheel"]
        if rng.random() < mix.sdist_share:
            kinds.append(rng.choices(formats, weights)[0])
        for kind in kinds:
            if len(specs) == files:
                break
            specs.append(
                Spec(
                    index=len(specs),
                    kind=kind,
                    name=name,
                    version=version,
                    payload_size=size(),
                    pkg_info_last=kind != "wheel"
                    and kind != "zip"
                    and rng.random() < mix.pkg_info_last,
                    requires_python=requires_python,
                    text=mix.payload == "text",
                )
            )
        release += 1
    return specs


#: Words of the compressible payloads (pseudo source code).
_TEXT_WORDS = (
    *WORDS, "def", "return", "self", "import", "class", "if", "else", "for", "in", "None",
    "value", "result", "items", "config", "logger", "path", "name", "data", "index",
    "\n    ", "\n        ", "(", ")", ":", ",", " = ", ".", "+", "[", "]", "0", "1",
)  # fmt: skip
_TEXT_BLOCKS: dict[int, bytes] = {}


def text_payload(seed: int, index: int, size: int) -> bytes:
    """``size`` bytes of seeded pseudo source text (deflates about 3 to 4 times)."""
    block = _TEXT_BLOCKS.get(seed)
    if block is None:
        words = random.Random(f"text:{seed}").choices(_TEXT_WORDS, k=300_000)
        block = _TEXT_BLOCKS[seed] = " ".join(words).encode()
    rng = random.Random(f"payload:{seed}:{index}")
    parts, left = [], size
    while left > 0:
        n = min(left, rng.randint(512, 4096))
        start = rng.randrange(len(block) - n)
        parts.append(block[start : start + n])
        left -= n
    return b"".join(parts)


def _modules(mod: str, payload: bytes, chunk: int = 16384) -> dict[str, bytes]:
    """``payload`` split into modules of ``chunk`` bytes."""
    return {
        f"{mod}/m{i // chunk}.py": payload[i : i + chunk] for i in range(0, len(payload), chunk)
    }


def _add_members(tf: tarfile.TarFile, members: Iterable[tuple[str, bytes]]) -> None:
    for member, data in members:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        info.mtime = distfactory.EPOCH
        info.mode = 0o644
        tf.addfile(info, io.BytesIO(data))


def _write_tar(path: Path, members: Iterable[tuple[str, bytes]], kind: str) -> None:
    """Like distfactory.write_sdist_archive, at the fastest bzip2/xz levels."""
    if kind == "tar.xz":
        with tarfile.open(path, "w:xz", preset=0) as tf:
            _add_members(tf, members)
    else:
        with tarfile.open(path, "w:bz2", compresslevel=1) as tf:
            _add_members(tf, members)


def generate(directory: Path, spec: Spec, seed: int) -> int:
    """Write one file of the corpus; return its size."""
    mod = distfactory.module_name(spec.name)
    out = directory / spec.filename
    if spec.text:
        payload = text_payload(seed, spec.index, spec.payload_size)
        extra = _modules(mod, payload)
    else:
        payload = random.Random(f"payload:{seed}:{spec.index}").randbytes(spec.payload_size)
        extra = {f"{mod}/payload.bin": payload}
    if spec.kind == "wheel":
        distfactory.make_wheel(
            directory,
            spec.name,
            spec.version,
            requires_python=spec.requires_python,
            extra_files=extra,
        )
    elif spec.kind == "egg":
        distfactory.make_egg(
            directory, spec.name, spec.version, requires_python=spec.requires_python
        )
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{mod}/payload.bin", payload)
    else:
        members = distfactory.sdist_members(
            spec.name,
            spec.version,
            requires_python=spec.requires_python,
            payload=b"" if spec.text else payload,
            pkg_info_last=spec.pkg_info_last,
        )
        if spec.text:  # the modules go before a last PKG-INFO, after a first one
            root = f"{mod}-{spec.version}"
            at = len(members) - 1 if spec.pkg_info_last else len(members)
            members[at:at] = [(f"{root}/src/{k}", v) for k, v in extra.items()]
        if spec.kind in ("tar.bz2", "tar.xz"):
            _write_tar(out, members, spec.kind)
        else:
            distfactory.write_sdist_archive(out, members)
    mtime_ns = (distfactory.EPOCH + spec.index) * 1_000_000_000
    os.utime(out, ns=(mtime_ns, mtime_ns))
    return out.stat().st_size


def _generate_batch(directory: str, specs: Sequence[Spec], seed: int) -> int:
    return sum(generate(Path(directory), spec, seed) for spec in specs)


def read_marker(directory: Path) -> Corpus | None:
    try:
        data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
        return Corpus(**data)
    except (OSError, ValueError, TypeError):
        return None


def ensure_corpus(
    directory: str | os.PathLike[str],
    files: int,
    *,
    seed: int = 1,
    payload_kib: int | None = None,
    jobs: int | None = None,
    verbose: bool = True,
    mix: str = "default",
) -> Corpus:
    """Generate the corpus in ``directory`` unless its marker says it is there."""
    if payload_kib is None:
        payload_kib = DEFAULT_PAYLOAD_KIB[mix]
    target = Path(directory)
    existing = read_marker(target)
    if existing is not None and (
        existing.generator,
        existing.files,
        existing.seed,
        existing.payload_kib,
        existing.mix,
    ) == (GENERATOR_VERSION, files, seed, payload_kib, mix):
        if verbose:
            print(f"corpus {target}: up to date ({files} files)", file=sys.stderr)
        return existing
    target.mkdir(parents=True, exist_ok=True)
    (target / MARKER).unlink(missing_ok=True)
    specs = plan(files, seed, payload_kib, mix)
    wanted = {spec.filename for spec in specs}
    for entry in target.iterdir():
        if entry.name.endswith(DIST_SUFFIXES) and entry.name not in wanted and entry.is_file():
            entry.unlink()
    start = time.perf_counter()
    # Interleave the batches so that slow (xz, bzip2) files spread over workers.
    workers = jobs or os.cpu_count() or 1
    nbatches = max(1, min(len(specs), workers * 16))
    batches = [specs[i::nbatches] for i in range(nbatches)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_generate_batch, str(target), batch, seed) for batch in batches]
        total = sum(f.result() for f in futures)
    kinds: dict[str, int] = {}
    for spec in specs:
        kinds[spec.kind] = kinds.get(spec.kind, 0) + 1
    corpus = Corpus(
        generator=GENERATOR_VERSION,
        files=files,
        seed=seed,
        payload_kib=payload_kib,
        projects=len({spec.name for spec in specs}),
        total_bytes=total,
        kinds=kinds,
        mix=mix,
    )
    (target / MARKER).write_text(json.dumps(asdict(corpus), indent=2) + "\n", encoding="utf-8")
    if verbose:
        print(
            f"corpus {target}: {files} files, {total / 2**20:.1f} MiB "
            f"in {time.perf_counter() - start:.1f}s",
            file=sys.stderr,
        )
    return corpus


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--files", type=int, required=True, help="number of files")
    parser.add_argument("--mix", choices=sorted(MIXES), default="default", help="kind of corpus")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--payload-kib",
        type=int,
        default=None,
        help="mean payload size (100, small 22, realistic 300)",
    )
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (all cores)")
    args = parser.parse_args(argv)
    if args.files < 1 or (args.payload_kib is not None and args.payload_kib < 1):
        parser.error("--files and --payload-kib must be positive")
    corpus = ensure_corpus(
        args.directory,
        args.files,
        seed=args.seed,
        payload_kib=args.payload_kib,
        jobs=args.jobs,
        mix=args.mix,
    )
    print(json.dumps(asdict(corpus), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
