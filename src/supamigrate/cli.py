"""The command-line face: parse arguments, call a command in ``commands``, print, exit.

Exit codes: 0 success, 1 findings or failure, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import commands, report
from .errors import SupamigrateError
from .migrations import Migration
from .project import Project

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _progress(stream: object) -> tuple[commands.ProgressCallback, object]:
    """Progress printer: one rewritten line on a terminal, plain lines otherwise."""
    tty = bool(getattr(stream, "isatty", lambda: False)())

    def on_progress(n: int, total: int, m: Migration) -> None:
        if tty:
            print(f"\r\033[Kmigration {n}/{total} {m.filename}", end="" if n < total else "\n", file=sys.stderr, flush=True)
        elif total > 20 and n % max(1, total // 10) and n != total:
            return  # long projects: every tenth step only, so CI logs stay short
        else:
            print(f"Applying migration {m.filename} ({n}/{total})", file=sys.stderr)

    return on_progress, tty


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding supabase/ (default: .)")


def _timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--statement-timeout",
        type=int,
        metavar="MS",
        help="cancel any migration statement running longer than this many milliseconds",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supamigrate",
        description="Lint, apply and test Supabase migrations on a local PostgreSQL, without Docker.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="apply everything to an ephemeral server and report (run before `supabase db push`)")
    _common(p)
    _timeout(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--pg-bin", type=Path, help="directory of the PostgreSQL server binaries")
    p.add_argument("--fail-on", choices=("error", "warning", "none"), default="error", help="lowest level that fails (default: error)")

    p = sub.add_parser("apply", help="apply stub, pending migrations and seed to an existing database")
    _common(p)
    _timeout(p)
    p.add_argument("--db-url", required=True, help="postgresql:// URL of the target database")
    p.add_argument("--no-stub", action="store_true", help="do not install the Supabase platform stub")
    p.add_argument("--no-seed", action="store_true", help="do not run the seed files")
    p.add_argument("--allow-remote", action="store_true", help="allow a target that is not on this machine")
    p.add_argument("--include-all", action="store_true", help="also apply files older than the last applied version")

    p = sub.add_parser("new", help="create supabase/migrations/<timestamp>_NAME.sql like `supabase migration new`")
    _common(p)
    p.add_argument("name", help="migration name, e.g. add_profiles")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``supamigrate`` console script."""
    args = build_parser().parse_args(argv)
    try:
        project = Project.load(args.project_dir)
        if args.command == "check":
            on_progress, _ = _progress(sys.stderr)
            result = commands.check(
                project,
                pg_bin=args.pg_bin,
                statement_timeout_ms=args.statement_timeout,
                fail_on=args.fail_on,
                on_progress=on_progress,
            )
            print(report.check_json(result) if args.format == "json" else report.check_text(result))
            return EXIT_OK if result.ok else EXIT_FAIL
        if args.command == "apply":
            on_progress, _ = _progress(sys.stderr)
            applied = commands.apply(
                project,
                args.db_url,
                stub=not args.no_stub,
                seed=not args.no_seed,
                allow_remote=args.allow_remote,
                include_all=args.include_all,
                statement_timeout_ms=args.statement_timeout,
                on_progress=on_progress,
            )
            print(report.apply_text(applied, commands.describe_target(args.db_url)))
            return EXIT_OK
        if args.command == "new":
            path = commands.new_migration(project, args.name)
            print(f"Created new migration at {path.relative_to(project.root)}")
            return EXIT_OK
    except SupamigrateError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
