"""Build real, tiny Python distributions for the tests.

Every builder writes a genuine archive of its kind (wheel, sdist in every
archive format, egg) that pip, uv and zc.buildout can install.  Sdists are
built by ``tinybackend``, a real PEP 517 backend that this module also ships as
a wheel, so a test index can hold an sdist *and* the build backend it needs
without reaching the internet.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import textwrap
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.utils import canonicalize_name

#: A fixed timestamp so archives are reproducible.
EPOCH = 1_700_000_000
SDIST_FORMATS = ("tar.gz", "tgz", "tar.bz2", "tar.xz", "zip")


def module_name(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def core_metadata(
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    requires_dist: Iterable[str] = (),
    summary: str | None = None,
    metadata_version: str = "2.1",
) -> str:
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary if summary is not None else f'The {name} test package'}",
    ]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    return "\n".join(lines) + "\n\n"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"{path},sha256={digest.decode()},{len(data)}"


def write_wheel_archive(path: Path, files: Mapping[str, bytes], dist_info: str) -> Path:
    """Write a wheel at ``path`` from ``files`` (without RECORD, which is added)."""
    record = [_record_line(name, data) for name, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2023, 11, 14, 22, 13, 20))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
        info = zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(2023, 11, 14, 22, 13, 20))
        zf.writestr(info, "\n".join(record) + "\n")
    return path


def make_wheel(
    directory: str | os.PathLike[str],
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    requires_dist: Iterable[str] = (),
    summary: str | None = None,
    modules: Mapping[str, str] | None = None,
    metadata: str | None = None,
    filename: str | None = None,
    tag: str = "py3-none-any",
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """A pure-Python wheel with one module ``<name>`` (``VERSION`` constant)."""
    mod = module_name(name)
    dist_info = f"{mod}-{version}.dist-info"
    if modules is None:
        modules = {f"{mod}/__init__.py": f"VERSION = {version!r}\n"}
    if metadata is None:
        metadata = core_metadata(
            name,
            version,
            requires_python=requires_python,
            requires_dist=requires_dist,
            summary=summary,
        )
    files: dict[str, bytes] = {k: v.encode() for k, v in modules.items()}
    files.update(extra_files or {})
    files[f"{dist_info}/METADATA"] = metadata.encode()
    files[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: distfactory\nRoot-Is-Purelib: true\nTag: {tag}\n"
    ).encode()
    files[f"{dist_info}/top_level.txt"] = f"{mod}\n".encode()
    out = Path(directory) / (filename or f"{mod}-{version}-{tag}.whl")
    return write_wheel_archive(out, files, dist_info)


TINYBACKEND = textwrap.dedent(
    '''
    """A minimal PEP 517 build backend, for tests only.

    It turns an sdist holding PKG-INFO and a ``src/`` tree into a pure wheel.
    """
    import base64, hashlib, os, zipfile, email

    def _meta():
        with open("PKG-INFO", encoding="utf-8") as f:
            return f.read()

    def _name_version():
        msg = email.message_from_string(_meta())
        return msg["Name"], msg["Version"]

    def get_requires_for_build_wheel(config_settings=None):
        return []

    def get_requires_for_build_sdist(config_settings=None):
        return []

    def _record(path, data):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        return "%s,sha256=%s,%d" % (path, digest.decode(), len(data))

    def _module():
        name, version = _name_version()
        return name.lower().replace("-", "_").replace(".", "_"), version

    def _write_wheel(wheel_directory, files):
        """A pure wheel of ``files`` (and the dist-info), named for PKG-INFO."""
        mod, version = _module()
        dist_info = "%s-%s.dist-info" % (mod, version)
        files[dist_info + "/METADATA"] = _meta().encode()
        files[dist_info + "/WHEEL"] = (
            b"Wheel-Version: 1.0\\nGenerator: tinybackend\\n"
            b"Root-Is-Purelib: true\\nTag: py3-none-any\\n")
        record = [_record(k, v) for k, v in files.items()] + [dist_info + "/RECORD,,"]
        files[dist_info + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
        filename = "%s-%s-py3-none-any.whl" % (mod, version)
        with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
            for k, v in files.items():
                zf.writestr(k, v)
        return filename

    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        files = {}
        for root, dirs, names in os.walk("src"):
            dirs.sort()
            for n in sorted(names):
                full = os.path.join(root, n)
                with open(full, "rb") as f:
                    files[os.path.relpath(full, "src").replace(os.sep, "/")] = f.read()
        return _write_wheel(wheel_directory, files)
    '''
)


def make_tinybackend_wheel(directory: str | os.PathLike[str], version: str = "1.0") -> Path:
    """The ``tinybackend`` build backend as an installable wheel."""
    return make_wheel(
        directory,
        "tinybackend",
        version,
        modules={"tinybackend.py": TINYBACKEND},
        summary="A minimal PEP 517 backend for tests",
    )


def sdist_members(
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    requires_dist: Iterable[str] = (),
    build_requires: Iterable[str] | None = ("tinybackend",),
    build_backend: str = "tinybackend",
    pkg_info: str | None = None,
    payload: bytes = b"",
    pkg_info_last: bool = False,
) -> list[tuple[str, bytes]]:
    """The members of an sdist, in archive order, under ``<name>-<version>/``."""
    mod = module_name(name)
    root = f"{mod}-{version}"
    if pkg_info is None:
        pkg_info = core_metadata(
            name, version, requires_python=requires_python, requires_dist=requires_dist
        )
    members: list[tuple[str, bytes]] = []
    if build_requires is not None:
        reqs = ", ".join(f'"{r}"' for r in build_requires)
        pyproject = f'[build-system]\nrequires = [{reqs}]\nbuild-backend = "{build_backend}"\n'
        members.append((f"{root}/pyproject.toml", pyproject.encode()))
    members.append((f"{root}/src/{mod}/__init__.py", f"VERSION = {version!r}\n".encode()))
    if payload:
        members.append((f"{root}/src/{mod}/payload.bin", payload))
    pkg = (f"{root}/PKG-INFO", pkg_info.encode())
    if pkg_info_last:
        members.append(pkg)
    else:
        members.insert(0, pkg)
    return members


def write_sdist_archive(path: Path, members: Iterable[tuple[str, bytes]]) -> Path:
    """Write ``members`` as an archive whose format follows ``path``'s suffix."""
    name = path.name
    if name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for member, data in members:
                zf.writestr(zipfile.ZipInfo(member, date_time=(2023, 11, 14, 22, 13, 20)), data)
        return path
    mode = {"gz": "w:gz", "tgz": "w:gz", "bz2": "w:bz2", "xz": "w:xz"}[name.rsplit(".", 1)[1]]
    with tarfile.open(path, mode) as tf:  # type: ignore[call-overload]
        for member, data in members:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = EPOCH
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return path


def make_sdist(
    directory: str | os.PathLike[str],
    name: str,
    version: str,
    fmt: str = "tar.gz",
    *,
    filename: str | None = None,
    **kwargs: object,
) -> Path:
    """An sdist buildable by pip (with ``tinybackend`` on the index)."""
    if fmt not in SDIST_FORMATS:
        raise ValueError(f"unknown sdist format {fmt!r}")
    members = sdist_members(name, version, **kwargs)  # type: ignore[arg-type]
    out = Path(directory) / (filename or f"{module_name(name)}-{version}.{fmt}")
    return write_sdist_archive(out, members)


def make_egg(
    directory: str | os.PathLike[str],
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    pyver: str = "py3.11",
    filename: str | None = None,
) -> Path:
    """A zipped egg with ``EGG-INFO/PKG-INFO``."""
    mod = module_name(name)
    out = Path(directory) / (filename or f"{mod}-{version}-{pyver}.egg")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "EGG-INFO/PKG-INFO",
            core_metadata(name, version, requires_python=requires_python, metadata_version="1.2"),
        )
        zf.writestr("EGG-INFO/top_level.txt", f"{mod}\n")
        zf.writestr(f"{mod}/__init__.py", f"VERSION = {version!r}\n")
    return out


def make_plain_tarball(
    directory: str | os.PathLike[str], filename: str = "nginx-1.2.3.tar.gz"
) -> Path:
    """A tarball without PKG-INFO, like buildout's cache holds for software downloads."""
    return write_sdist_archive(
        Path(directory) / filename,
        [("nginx-1.2.3/configure", b"#!/bin/sh\necho configure\n")],
    )


def make_truncated(source: Path, directory: str | os.PathLike[str], keep: float = 0.5) -> Path:
    """A copy of ``source`` cut to ``keep`` of its length."""
    data = source.read_bytes()
    out = Path(directory) / source.name
    out.write_bytes(data[: max(1, int(len(data) * keep))])
    return out


def make_bootstrap_standins(directory: str | os.PathLike[str]) -> list[Path]:
    """Placeholder wheels of the bootstrap closure, as an upstream test index holds it.

    The bootstrap projects at the versions installed here, except
    buildout.privateindex itself (not on any upstream: the recipe builds it
    from this checkout), and each of its requirements (at the installed
    version, else at a version its specifier allows).  The placeholders
    install a harmless module only.
    """
    import importlib.metadata

    from packaging.requirements import Requirement

    from buildout.privateindex.closure.complete import BOOTSTRAP_PROJECTS

    versions: dict[str, str] = {}
    for project in BOOTSTRAP_PROJECTS:
        if canonicalize_name(project) != "buildout-privateindex":
            versions[project] = importlib.metadata.version(project)
    for line in importlib.metadata.requires("buildout.privateindex") or []:
        req = Requirement(line)
        if req.marker is not None and "extra" in str(req.marker):
            continue
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            version = "99.0"
        versions.setdefault(req.name, version)
    return [
        make_wheel(directory, name, version, modules={"placeholder_for_tests.py": ""})
        for name, version in sorted(versions.items())
    ]
