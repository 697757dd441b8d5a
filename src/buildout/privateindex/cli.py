"""The ``privateindex`` command: build, add to, verify, serve and publish an index.

This is the only module that configures logging handlers or decides exit
codes: 0 success, 1 failure (a PrivateIndexError, bad files under
``--strict``, problems found by ``verify``), 2 usage errors (argparse).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from buildout.privateindex import __version__
from buildout.privateindex.cli_add import add_parser, run_add
from buildout.privateindex.cli_output import PROG, Progress, configure_logging, error
from buildout.privateindex.errors import PrivateIndexError

__all__ = ["main"]


log = logging.getLogger(__name__)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    loud = argparse.ArgumentParser(add_help=False)
    loud.add_argument(
        "-v", "--verbose", action="count", default=0, help="say more (twice: debug output)"
    )
    common = argparse.ArgumentParser(add_help=False, parents=[loud])
    common.add_argument("-q", "--quiet", action="store_true", help="print warnings and errors only")
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Build, check, serve and publish a static private package index.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build",
        parents=[common],
        help="index distribution files into a directory",
        description="Index the distributions found in SOURCE directories and files "
        "into the static index DIR (incrementally: unchanged files are not re-read).",
    )
    build.add_argument("sources", nargs="+", metavar="SOURCE", help="a directory or a file")
    build.add_argument("-o", "--output", required=True, metavar="DIR", help="the index")
    build.add_argument("--base-url", metavar="URL", help="absolute URL the index is served at")
    build.add_argument(
        "--yank",
        action="append",
        default=[],
        metavar="SPEC",
        help="yank a release (PEP 592): 'NAME==VERSION' or 'NAME==VERSION: reason'; repeatable",
    )
    build.add_argument(
        "--unyank",
        action="append",
        default=[],
        metavar="SPEC",
        help="clear the upstream's yank of a release: 'NAME==VERSION'; repeatable",
    )
    build.add_argument("--prune", action="store_true", help="drop files gone from the sources")
    build.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 if any file could not be indexed (the others are)",
    )
    build.add_argument(
        "-j",
        "--jobs",
        type=_positive,
        metavar="N",
        help="processes reading files (default: one per CPU)",
    )

    add_parser(commands, [common])

    verify = commands.add_parser(
        "verify",
        parents=[common],
        help="check an index's pages, links and hashes",
        description="Re-hash every file the pages of DIR link and check that HTML "
        "and JSON pages agree.  Exits 1 when a problem is found.",
    )
    verify.add_argument("directory", metavar="DIR")

    serve = commands.add_parser(
        "serve",
        parents=[loud],
        help="serve an index over HTTP (for testing)",
        description="Serve DIR over HTTP with PEP 691 content negotiation.",
    )
    serve.add_argument("directory", metavar="DIR")
    serve.add_argument(
        "-p", "--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)"
    )
    serve.add_argument(
        "-b",
        "--bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to listen on (default 127.0.0.1)",
    )

    publish = commands.add_parser(
        "publish",
        parents=[common],
        help="upload an index to S3",
        description="Upload the index in DIR to s3://BUCKET/PREFIX, changed files only.",
    )
    publish.add_argument("directory", metavar="DIR")
    publish.add_argument("target", metavar="s3://BUCKET/PREFIX")
    publish.add_argument("--endpoint-url", metavar="URL", help="S3-compatible endpoint")
    publish.add_argument("--delete", action="store_true", help="remove stale remote objects")
    publish.add_argument("-n", "--dry-run", action="store_true", help="change nothing")
    publish.add_argument(
        "--directory-keys",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also store each page under its directory key (simple/foo/), for a plain "
        "S3 endpoint without website hosting (default: on for AWS, off with --endpoint-url)",
    )
    return parser


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _build(args: argparse.Namespace) -> int:
    from buildout.privateindex.engine.build import build_index

    progress = Progress(sys.stderr) if not args.quiet and sys.stderr.isatty() else None
    try:
        report = build_index(
            args.sources,
            args.output,
            base_url=args.base_url,
            yanks=tuple(args.yank),
            unyanks=tuple(args.unyank),
            prune=args.prune,
            jobs=args.jobs,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.clear()
    for problem in report.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not args.quiet:
        print(
            f"indexed {_plural(report.files, 'file')} in "
            f"{_plural(report.projects, 'project')} ({len(report.added)} new, "
            f"{len(report.problems)} skipped, {len(report.pruned)} pruned) "
            f"in {report.elapsed:.2f}s"
        )
    if args.strict and report.problems:
        error(f"{_plural(len(report.problems), 'file')} could not be indexed (--strict)")
        return 1
    return 0


def _verify(args: argparse.Namespace) -> int:
    from buildout.privateindex.engine.verify import verify_index

    if not os.path.isdir(args.directory):
        error(f"no such directory: {args.directory!r}")
        return 1
    notes: list[str] = []
    problems = verify_index(args.directory, notes=notes)
    for problem in problems:
        print(problem)
    if not args.quiet:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    if problems:
        error(f"{_plural(len(problems), 'problem')} in {args.directory}")
        return 1
    if not args.quiet:
        print(f"{args.directory}: OK")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from buildout.privateindex.sharing.serve import make_server, server_url

    try:
        server = make_server(args.directory, args.bind, args.port)
    except OSError as exc:
        error(f"cannot listen on {args.bind}:{args.port}: {exc.strerror or exc}")
        return 1
    with server:
        print(f"Serving {args.directory} at {server_url(server)}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log.info("interrupted, stopping")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from buildout.privateindex.sharing.publish import publish

    report = publish(
        args.directory,
        args.target,
        endpoint_url=args.endpoint_url,
        delete=args.delete,
        dry_run=args.dry_run,
        directory_keys=args.directory_keys,
    )
    if not args.quiet:
        prefix = "dry run: would have " if args.dry_run else ""
        print(
            f"{prefix}uploaded {_plural(len(report.uploaded), 'object')}, "
            f"{report.unchanged} unchanged, {len(report.deleted)} deleted "
            f"in {report.elapsed:.2f}s"
        )
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "build": _build,
    "add": run_add,
    "verify": _verify,
    "serve": _serve,
    "publish": _publish,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    root = logging.getLogger()
    saved_level = root.level
    handler = configure_logging(args.verbose)
    try:
        return _COMMANDS[args.command](args)
    except PrivateIndexError as exc:
        error(str(exc))
        return 1
    except OSError as exc:
        error(str(exc))
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
