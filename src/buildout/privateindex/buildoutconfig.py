"""Buildout's configuration as another machine would read it.

Buildout evaluates conditional sections (``[versions:python310]``,
``[versions:sys_platform == "win32"]``) once, for the machine running it.  A
target's offline run reads the same files on its own machine, so the pins it
gets are found by reading the configuration again with the target's answers:
buildout's own reader (``zc.buildout.buildout._open``), with its two
evaluators (PEP 508 markers, and the old-style names such as ``python310``,
``windows`` or ``sys.platform``) answering for the target.  An adapter: it
leans on zc.buildout's internals, and says so when they change.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from typing import Any

from buildout.privateindex.closure.targets import Target

#: Flags of ``bin/buildout`` that take no value (zc.buildout.buildout.main).
_FLAGS = "vqhWUoOnNDA"
_LOCK = threading.Lock()


def command_line(args: Sequence[str]) -> tuple[str, bool, list[tuple[str, str, str]]]:
    """Buildout's config file, whether it reads user defaults, and its assignments.

    The same reading of ``bin/buildout``'s arguments as ``zc.buildout.buildout.main``.
    """
    args = list(args)
    config = "buildout.cfg"
    user_defaults = True
    assignments = []
    while args:
        arg = args.pop(0)
        if arg.startswith("-"):
            op = arg[1:]
            while op and op[0] in _FLAGS:
                user_defaults = user_defaults and op[0] != "U"
                op = op[1:]
            if op[:1] in ("c", "t"):
                value = op[1:] or (args.pop(0) if args else "")
                if op[0] == "c":
                    config = value
        elif "=" in arg:
            option, value = arg.split("=", 1)
            section, _, name = option.rpartition(":")
            assignments.append((section or "buildout", name, value))
        else:
            break  # a command and its arguments
    return config, user_defaults, assignments


def buildout_globals(target: Target) -> dict[str, Any]:
    """The names of buildout's old-style section expressions, for ``target``."""
    env = target.marker_environment()
    full = env["python_full_version"]
    major, minor, micro = (int(part) for part in full.split("."))
    bits = 32 if target.platform.platform_machine == "x86" else 64
    plat = env["sys_platform"]
    fake_sys = types.SimpleNamespace(
        platform=plat,
        version=full,
        version_info=(major, minor, micro, "final", 0),
        byteorder="little",
        maxsize=2 ** (bits - 1) - 1,
    )
    fake_os = types.SimpleNamespace(name=env["os_name"], environ=os.environ, sep=os.sep)
    fake_platform = types.SimpleNamespace(
        system=lambda: env["platform_system"],
        machine=lambda: env["platform_machine"],
        python_version=lambda: full,
        python_version_tuple=lambda: tuple(full.split(".")),
        python_implementation=lambda: "CPython",
    )
    names: dict[str, Any] = {"sys": fake_sys, "os": fake_os, "platform": fake_platform, "re": re}
    names.update({"python2": False, "python3": True})
    for minor_version in range(0, 20):
        names[f"python3{minor_version}"] = minor_version == minor
    names.update({"cpython": True, "pypy": False, "jython": False, "ironpython": False})
    names.update(
        {
            "linux": plat == "linux",
            "windows": plat == "win32",
            "cygwin": False,
            "solaris": False,
            "macosx": plat == "darwin",
            "posix": env["os_name"] == "posix",
            "bits32": bits == 32,
            "bits64": bits == 64,
            "little_endian": True,
            "big_endian": False,
        }
    )
    return names


@contextlib.contextmanager
def _evaluating_for(target: Target) -> Iterator[Any]:
    """Make buildout's config reader evaluate section conditions for ``target``."""
    import zc.buildout.buildout as zbuildout
    import zc.buildout.configparser as zconfig

    environment = target.marker_environment()
    base = zconfig.Marker

    class TargetMarker(base):  # type: ignore[misc, valid-type]
        def evaluate(self, *args: Any, **kwargs: Any) -> bool:
            return bool(super().evaluate(environment))

    names = buildout_globals(target)
    with _LOCK:
        saved = zbuildout._default_globals
        zconfig.Marker = TargetMarker
        zbuildout._default_globals = lambda: dict(names)
        try:
            yield zbuildout
        finally:
            zconfig.Marker = base
            zbuildout._default_globals = saved


def target_versions(
    buildout: Any, target: Target, args: Sequence[str] | None = None
) -> dict[str, str]:
    """The ``[versions]`` a run of this buildout on ``target`` would see.

    Reads the config file named on the command line (``-c``), the user
    defaults and the command line's assignments, as ``bin/buildout`` does.
    Raises ``OSError`` (a file that cannot be read), ``KeyError`` or
    ``AttributeError`` (a zc.buildout whose internals changed).
    """
    config, use_user_defaults, assignments = command_line(sys.argv[1:] if args is None else args)
    config = os.path.abspath(config)
    if not os.path.isfile(config):
        raise FileNotFoundError(f"no such config file: {config!r}")
    with _evaluating_for(target) as zbuildout:
        data = {"buildout": copy.deepcopy(zbuildout._buildout_default_options)}
        download = copy.deepcopy(buildout._annotated["buildout"])
        user_defaults: dict[str, Any] = {}
        user_config = zbuildout._get_user_config()
        if use_user_defaults and os.path.exists(user_config):
            user_defaults, _ = zbuildout._open(
                os.path.dirname(user_config), user_config, [], download, {}, set(), {}
            )
            data = zbuildout._update(data, user_defaults)
        cfg, _ = zbuildout._open(
            os.path.dirname(config), config, [], download, {}, set(), user_defaults
        )
        data = zbuildout._update(data, cfg)
    raw = zbuildout._unannotate(data)
    section = str(raw["buildout"].get("versions", "versions")).strip() or "versions"
    versions = {str(k): str(v) for k, v in raw.get(section, {}).items()}
    for where, name, value in assignments:
        if where == section:
            versions[name] = value
    return versions
