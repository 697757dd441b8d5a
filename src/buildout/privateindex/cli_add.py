"""The ``privateindex add`` subcommand: its options, and what it prints.

The work is done by :func:`buildout.privateindex.closure.add.add_requirements`; a
failure is raised as a PrivateIndexError, which the command line turns into
one error line and exit status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["add_parser", "run_add"]

log = logging.getLogger(__name__)


def add_parser(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    parents: list[argparse.ArgumentParser],
) -> None:
    """Declare the ``add`` subcommand on ``commands``."""
    from buildout.privateindex.closure import DEFAULT_INDEX_URL

    add = commands.add_parser(
        "add",
        parents=parents,
        help="fetch requirements (and all they need) from an upstream into an index",
        description="Fetch REQUIREMENTs with their dependencies from an upstream index, "
        "for this machine and every --platform x --python-version target: a wheel for "
        "each target where there is one, else the sdist and (recursively) its build "
        "requirements.  The files are kept in DIR/.privateindex/store, which every "
        "later build of DIR indexes too, and indexed.  Then prints what each target "
        "gets from the index with no network.",
    )
    add.add_argument("requirements", nargs="*", metavar="REQUIREMENT", help="a PEP 508 requirement")
    add.add_argument("-o", "--output", required=True, metavar="DIR", help="the index")
    add.add_argument(
        "--index-url",
        default=DEFAULT_INDEX_URL,
        metavar="URL",
        help=f"the upstream index (default {DEFAULT_INDEX_URL}); user:password@ "
        "or ~/.netrc / ~/.pypirc give its credentials",
    )
    add.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="TAG",
        help="a wheel platform tag to fetch for too (manylinux_2_17_x86_64, "
        "macosx_11_0_arm64, win_amd64...); repeatable",
    )
    add.add_argument(
        "--python-version",
        action="append",
        default=[],
        metavar="X.Y",
        help="a Python version to fetch for too (default this one's); repeatable",
    )
    add.add_argument(
        "-r",
        "--requirement",
        action="append",
        default=[],
        metavar="FILE",
        help="add the requirements listed in FILE; repeatable",
    )
    add.add_argument(
        "--no-deps",
        action="store_true",
        help="the requirements alone, not their dependencies (still with what "
        "building their sdists needs)",
    )
    add.add_argument(
        "--yank",
        action="append",
        default=[],
        metavar="SPEC",
        help="as for build: a release to yank, 'NAME==VERSION[: reason]'; repeatable",
    )
    add.add_argument(
        "--from-installed",
        action="store_true",
        help="add what the environment of --python has installed, at its versions "
        "(projects installed from a local directory are built into wheels)",
    )
    add.add_argument(
        "--python",
        metavar="PY",
        help="the interpreter whose environment --from-installed reads "
        "(default: the one running this command)",
    )


def run_add(args: argparse.Namespace) -> int:
    """Run ``privateindex add``; the exit status."""
    import shutil  # here, not at the top: every other command starts quicker
    import tempfile
    from pathlib import Path

    from buildout.privateindex.closure.add import (
        AddError,
        add_requirements,
        parse_targets,
        read_requirements,
    )

    if args.python is not None and not args.from_installed:
        raise AddError("--python", "only with --from-installed", args.python)
    requirements = read_requirements(args.requirements, args.requirement)
    targets = parse_targets(args.platform, args.python_version)
    if not requirements and not args.from_installed:
        raise AddError("REQUIREMENT", "nothing to add (give requirements, -r or --from-installed)")
    python = args.python or sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="privateindex-add-"))
    try:
        installed: list[str] = []
        local: list[str] = []
        version = None
        if args.from_installed:
            installed, local, version = _installed(python, args.index_url, tmp, args.output)
        report = add_requirements(
            args.output,
            requirements,
            targets=targets,
            index_url=args.index_url,
            no_deps=args.no_deps,
            installed=installed,
            local_wheels=tmp,
            local=local,
            python=python,
            python_version=version,
            yanks=args.yank,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for target in report.targets:
        if target.problems:
            print(f"warning: {target.summary()}", file=sys.stderr)
        elif not args.quiet:
            print(target.summary())
    if report.failures:
        first = report.failures[0]
        more = len(report.failures) - 1
        also = f" and {more} more target{'s' if more > 1 else ''}" if more else ""
        raise AddError(f"target {first.target}{also}", first.problems[0])
    if not args.quiet:
        print(f"added {report.added} file{'' if report.added == 1 else 's'} to {args.output}")
    return 0


def _installed(
    python: str, index_url: str, tmp: Path, output: str
) -> tuple[list[str], list[str], str]:
    """The pins of what ``python`` has installed from an index, the pins of the
    local projects it has installed (built into ``tmp`` unless the index has a
    wheel of that version already), its Python version."""
    from buildout.privateindex.closure.add import upstream_location
    from buildout.privateindex.closure.installed import (
        build_wheel,
        indexed_wheels,
        installed_projects,
    )

    env = installed_projects(python)
    url = upstream_location(index_url).url_with_credentials()
    have = indexed_wheels(output)
    pins, local = [], []
    for project in env.projects:
        if project.source is None:
            pins.append(project.pin)
        elif project.key in have:
            log.info("%s is in the index already: not rebuilt from %s", project.pin, project.source)
            local.append(project.pin)
        else:
            local.append(build_wheel(project, tmp, python, url))
    return pins, local, env.version
