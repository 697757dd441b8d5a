"""Targets: the (platform, Python) pairs an index must serve.

A team's machines differ: the index built on one Linux x86_64 box with
Python 3.11 must also serve a teammate's macOS arm64 laptop with Python 3.12.
A :class:`Target` names one such machine by a wheel platform tag (as pip's
``--platform`` takes it) and a Python version.  This module parses both,
derives the PEP 508 marker environment of a target (for ``[versions:...]``
conditions and reports) and the arguments uv needs to resolve for it.  Pure:
it runs nothing and never imports zc.buildout.
"""

from __future__ import annotations

import platform as _platform
import re
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass, field

from buildout.privateindex.errors import PrivateIndexError

#: The manylinux glibc levels uv can resolve for (``x86_64-manylinux_2_17`` ...).
MANYLINUX_MINORS = (17, *range(28, 41))
#: CPU names of Linux wheel tags uv resolves for.
LINUX_ARCHES = ("x86_64", "aarch64")
#: Windows platform tags: uv's target, ``platform_machine``.
WINDOWS = {
    "win_amd64": ("x86_64-pc-windows-msvc", "AMD64"),
    "win32": ("i686-pc-windows-msvc", "x86"),
    "win_arm64": ("aarch64-pc-windows-msvc", "ARM64"),
}
#: macOS CPU names in wheel tags: uv's target, ``platform_machine``.
MACOS = {"arm64": ("aarch64-apple-darwin", "arm64"), "x86_64": ("x86_64-apple-darwin", "x86_64")}

_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_(\w+)\Z")
_MANYLINUX2014 = re.compile(r"manylinux2014_(\w+)\Z")
_MUSLLINUX = re.compile(r"musllinux_1_(\d+)_(\w+)\Z")
_MACOSX = re.compile(r"macosx_(\d+)_(\d+)_(\w+)\Z")
_LINUX = re.compile(r"linux_(\w+)\Z")
_PYTHON = re.compile(r"3\.(\d+)(?:\.(\d+))?\Z")


class TargetError(PrivateIndexError, ValueError):
    """A platform tag or Python version no target can be made of.

    ``python`` tells which: a Python version (else a platform tag).
    """

    def __init__(self, value: str, reason: str, *, python: bool = False) -> None:
        self.value = value
        self.reason = reason
        self.python = python
        super().__init__(f"{reason}: {value!r}")


@dataclass(frozen=True, order=True)
class Platform:
    """A wheel platform tag and what uv and markers make of it."""

    tag: str
    #: uv's ``--python-platform`` value.
    uv_name: str = field(compare=False)
    sys_platform: str = field(compare=False)
    platform_machine: str = field(compare=False)
    #: ``MACOSX_DEPLOYMENT_TARGET`` for uv (macOS only), else "".
    macos_target: str = field(default="", compare=False)

    @property
    def platform_system(self) -> str:
        return {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[self.sys_platform]

    @property
    def os_name(self) -> str:
        return "nt" if self.sys_platform == "win32" else "posix"


def parse_platform(tag: str) -> Platform:
    """The :class:`Platform` of a wheel platform tag such as ``macosx_11_0_arm64``.

    >>> parse_platform("manylinux_2_17_aarch64").uv_name
    'aarch64-manylinux_2_17'
    """
    tag = tag.strip()
    if tag in WINDOWS:
        uv_name, machine = WINDOWS[tag]
        return Platform(tag, uv_name, "win32", machine)
    if match := _MANYLINUX.match(tag):
        major, minor, arch = int(match[1]), int(match[2]), match[3]
        _check_arch(tag, arch, LINUX_ARCHES)
        if major != 2 or minor not in MANYLINUX_MINORS:
            raise TargetError(
                tag, "uv resolves for manylinux_2_17 and manylinux_2_28 to manylinux_2_40 only"
            )
        return Platform(tag, f"{arch}-manylinux_2_{minor}", "linux", arch)
    if match := _MANYLINUX2014.match(tag):
        _check_arch(tag, match[1], LINUX_ARCHES)
        return Platform(tag, f"{match[1]}-manylinux2014", "linux", match[1])
    if match := _MUSLLINUX.match(tag):
        _check_arch(tag, match[2], LINUX_ARCHES)
        return Platform(tag, f"{match[2]}-unknown-linux-musl", "linux", match[2])
    if match := _LINUX.match(tag):
        _check_arch(tag, match[1], LINUX_ARCHES)
        return Platform(tag, f"{match[1]}-unknown-linux-gnu", "linux", match[1])
    if match := _MACOSX.match(tag):
        arch = match[3]
        if arch not in MACOS:
            raise TargetError(tag, "a macOS platform names one CPU: arm64 or x86_64")
        uv_name, machine = MACOS[arch]
        return Platform(tag, uv_name, "darwin", machine, f"{match[1]}.{match[2]}")
    raise TargetError(
        tag,
        "not a wheel platform tag this package can resolve for (examples: "
        "manylinux_2_17_x86_64, manylinux_2_28_aarch64, musllinux_1_2_x86_64, "
        "macosx_11_0_arm64, macosx_10_12_x86_64, win_amd64, win32, win_arm64)",
    )


def _check_arch(tag: str, arch: str, known: Iterable[str]) -> None:
    if arch not in known:
        raise TargetError(tag, f"uv resolves Linux wheels for {' and '.join(known)} only")


def parse_python_version(text: str) -> str:
    """A Python version ``3.Y`` or ``3.Y.Z``, normalized; ``3.12`` stays ``3.12``."""
    text = text.strip()
    match = _PYTHON.match(text)
    if not match or int(match[1]) < 8:
        raise TargetError(
            text, "not a Python version 3.8 or later (such as 3.12 or 3.12.4)", python=True
        )
    return text


@dataclass(frozen=True, order=True)
class Target:
    """One machine an offline run must work on: a platform and a Python version.

    ``host`` marks the machine running the build: uv then resolves for the
    running interpreter itself rather than for a named platform.
    """

    platform: Platform
    python: str
    host: bool = field(default=False, compare=False)

    @property
    def full_python(self) -> str:
        """``python_full_version``: ``3.12`` means ``3.12.0``."""
        return self.python if self.python.count(".") == 2 else f"{self.python}.0"

    @property
    def short_python(self) -> str:
        return ".".join(self.python.split(".")[:2])

    def __str__(self) -> str:
        return f"{self.platform.tag} / Python {self.python}"

    def marker_environment(self) -> dict[str, str]:
        """The PEP 508 environment of a CPython on this target."""
        plat = self.platform
        return {
            "implementation_name": "cpython",
            "implementation_version": self.full_python,
            "os_name": plat.os_name,
            "platform_machine": plat.platform_machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": plat.platform_system,
            "platform_version": "",
            "python_full_version": self.full_python,
            "python_version": self.short_python,
            "sys_platform": plat.sys_platform,
        }

    def uv_arguments(self, host_python: str) -> list[str]:
        """``uv pip compile`` arguments that resolve for this target."""
        if self.host:
            return ["--python", host_python]
        return [
            "--python",
            host_python,
            "--python-platform",
            self.platform.uv_name,
            "--python-version",
            self.python,
        ]

    def uv_environment(self) -> dict[str, str]:
        """Environment variables uv needs for this target (macOS deployment target)."""
        if self.platform.macos_target and not self.host:
            return {"MACOSX_DEPLOYMENT_TARGET": self.platform.macos_target}
        return {}


def host_platform() -> Platform:
    """The platform of the running machine, named by its most specific wheel tag."""
    from packaging.tags import platform_tags

    # packaging may list the generic ``linux_<cpu>`` first: name the machine
    # by its most specific manylinux (or musllinux) tag instead.
    tags = sorted(platform_tags(), key=lambda tag: tag.startswith("linux_"))
    for tag in tags:
        try:
            return parse_platform(tag)
        except TargetError:
            continue
    # An unusual machine (another CPU, an old glibc): name it as pip would,
    # and let uv resolve for the running interpreter.
    tag = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return Platform(tag, "", sys.platform, _platform.machine())


def host_target() -> Target:
    python = ".".join(str(part) for part in sys.version_info[:3])
    return Target(host_platform(), python, host=True)


def make_targets(platforms: Iterable[str], pythons: Iterable[str]) -> list[Target]:
    """The host, plus every (platform, Python) pair of ``platforms`` x ``pythons``.

    An empty list stands for the host's platform or Python.  Pairs equal to
    the host are not repeated.  Raises :class:`TargetError` for a bad value.
    """
    host = host_target()
    plats = [parse_platform(tag) for tag in platforms] or [host.platform]
    versions = [parse_python_version(text) for text in pythons] or [host.short_python]
    targets = [host]
    seen = {(host.platform.tag, host.short_python)}
    for plat in plats:
        for version in versions:
            key = (plat.tag, ".".join(version.split(".")[:2]))
            if key in seen:
                continue
            seen.add(key)
            if plat.tag == host.platform.tag and not plat.uv_name:
                raise TargetError(plat.tag, "uv cannot resolve for this machine's platform")
            targets.append(Target(plat, version))
    return targets
