"""The command-line face: parse arguments, call a function of the core, print, exit.

Each command is a pair: ``add_<name>(subparsers)`` declares its arguments and ``run_<name>(args)``
calls the core and returns the exit code. ``COMMANDS`` lists them. Exit codes: 0 success,
1 findings or failure, 2 usage error.

Each ``run_<name>`` imports the core it needs: ``--help`` and a usage error import none of it
(psycopg, pglast, the server, sqlfluff), so they answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, report
from .errors import SettingsError, SupamigrateError
from .settings import Settings, add_cli_options, from_cli

if TYPE_CHECKING:
    from .cache import Cache
    from .migrations import Migration, ProgressCallback

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


Subparsers = Any  # argparse's private _SubParsersAction

# The exit codes every command shares; each command's --help says what 0 and 1 mean for it.
USAGE_EXIT = "2  usage error (a bad option or setting)"


def command_parser(
    sub: Subparsers, name: str, summary: str, *, example: str, exits: Sequence[str], details: str = ""
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` gives its one-line ``summary``, an ``example`` and its exit codes.

    ``exits`` are the command's own codes ("0  ...", "1  ..."); the usage error (2) is added.
    """
    lines = [summary[0].upper() + summary[1:] + ".", *([f"\n{details}"] if details else [])]
    epilog = "\n".join(
        ["example:", *(f"  {line}" for line in example.splitlines()), "", "exit codes:",
         *(f"  {code}" for code in (*exits, USAGE_EXIT))]
    )
    return sub.add_parser(  # type: ignore[no-any-return]
        name,
        help=summary,
        description="\n".join(lines),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def progress_printer() -> ProgressCallback:
    """Progress on stderr: one rewritten line on a terminal, sparse plain lines otherwise."""
    tty = sys.stderr.isatty()

    def on_progress(n: int, total: int, m: Migration) -> None:
        if tty:
            end = "" if n < total else "\n"
            print(f"\r\033[Kmigration {n}/{total} {m.filename}", end=end, file=sys.stderr, flush=True)
        elif total <= 20 or n % max(1, total // 10) == 0 or n == total:
            print(f"Applying migration {m.filename} ({n}/{total})", file=sys.stderr)

    return on_progress


def add_project_dir(p: argparse.ArgumentParser) -> None:
    add_cli_options(
        p,
        "project_dir",
        help={"project_dir": "directory holding supabase/ (default: the nearest from here up with"
              " supabase/config.toml)"},
    )


def add_format(p: argparse.ArgumentParser, help: str = "text, json, or GitHub Actions annotations") -> None:
    p.add_argument("--format", choices=report.FORMATS, default="text", help=help)


def add_statement_timeout(p: argparse.ArgumentParser) -> None:
    add_cli_options(p, "statement_timeout")


def add_baseline_options(p: argparse.ArgumentParser) -> None:
    """``--since`` and ``--all``: which migrations are judged as new (see lint/baseline.py)."""
    p.add_argument(
        "--since",
        metavar="REV",
        help="git revision whose migrations count as applied (default: [lint] baseline, else HEAD);"
        " in CI, the base of the push or pull request",
    )
    p.add_argument(
        "--all",
        dest="judge_all",
        action="store_true",
        help="judge applied migrations too (by default their findings are counted in one info line)",
    )


def settings_of(args: argparse.Namespace) -> Settings:
    """The run's settings: its flags, then the environment, then the defaults (settings.py)."""
    return from_cli(args, os.environ)


def cache_of(settings: Settings) -> Cache | None:
    """The cache of clusters the settings ask for (None with --no-cache / SUPAMIGRATE_CACHE=0)."""
    from .cache import Cache

    if not settings.cache:
        return None
    return Cache(settings.cache_dir, max_entries=settings.cache_max_entries, max_mb=settings.cache_max_mb)


# -- check ----------------------------------------------------------------------------------------


def add_check(sub: Subparsers) -> None:
    p = command_parser(
        sub,
        "check",
        "lint, then apply stub, migrations and seed to an ephemeral server and report (before `supabase db push`)",
        example="supamigrate check --format github --fail-on warning",
        exits=["0  no finding reaches --fail-on", "1  a finding reaches --fail-on, or a migration failed"],
    )
    add_project_dir(p)
    add_statement_timeout(p)
    add_format(p)
    add_cli_options(
        p,
        "pg_bin",
        "cache",
        "fail_on",
        "pgdelta",
        help={
            "pg_bin": "directory of the PostgreSQL server binaries",
            "fail_on": "lowest finding level that fails the check (default: error)",
        },
    )
    add_baseline_options(p)
    p.add_argument(
        "--upgrade",
        action="store_true",
        default=None,
        help="also apply the migrations new since the base (--since) on the base's migrations and seed,"
        " and compare with the fresh build (default: the upgrade setting)",
    )


def run_check(args: argparse.Namespace) -> int:
    from . import commands
    from .project import Project

    settings = settings_of(args)
    result = commands.check(
        Project.load(settings.project_dir),
        pg_bin=settings.pg_bin,
        statement_timeout_ms=settings.statement_timeout_ms,
        fail_on=settings.fail_on,
        cache=cache_of(settings),
        lint_cache_dir=settings.cache_dir,
        since=args.since,
        judge_all=args.judge_all,
        on_progress=progress_printer(),
        os_user=settings.os_user,
        run_root=settings.run_dir,
        upgrade=bool(args.upgrade) or settings.upgrade,
        pgdelta=settings.pgdelta,
    )
    print(report.CHECK[args.format](result))
    if result.error is not None:  # also on stderr, where it always was, for a redirected stdout
        print(f"error: {result.error.render()}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAIL


# -- apply ----------------------------------------------------------------------------------------


def add_apply(sub: Subparsers) -> None:
    p = command_parser(
        sub,
        "apply",
        "apply stub, pending migrations and seed to an existing database",
        example='supamigrate apply --db-url "postgresql://postgres:postgres@127.0.0.1:54322/postgres"',
        exits=[
            "0  every pending migration applied",
            "1  a migration failed (rolled back whole), or the target was refused",
        ],
    )
    add_project_dir(p)
    add_statement_timeout(p)
    p.add_argument("--db-url", required=True, help="postgresql:// URL of the target database")
    p.add_argument("--no-stub", action="store_true", help="do not install the Supabase platform stub")
    add_cli_options(p, "seed")
    p.add_argument("--allow-remote", action="store_true", help="allow a target that is not on this machine")
    p.add_argument("--include-all", action="store_true", help="also apply files older than the last applied version")


def run_apply(args: argparse.Namespace) -> int:
    from . import commands
    from .project import Project

    settings = settings_of(args)
    applied = commands.apply(
        Project.load(settings.project_dir),
        args.db_url,
        stub=not args.no_stub,
        seed=settings.seed,
        allow_remote=args.allow_remote,
        include_all=args.include_all,
        statement_timeout_ms=settings.statement_timeout_ms,
        on_progress=progress_printer(),
    )
    print(report.apply_text(applied, commands.describe_target(args.db_url)))
    return EXIT_OK


# -- new ------------------------------------------------------------------------------------------


def add_new(sub: Subparsers) -> None:
    p = command_parser(
        sub,
        "new",
        "create supabase/migrations/<timestamp>_NAME.sql like `supabase migration new`",
        example="supamigrate new add_profiles",
        exits=["0  created", "1  an invalid name, or no Supabase project"],
    )
    add_project_dir(p)
    p.add_argument("name", help="migration name, e.g. add_profiles")


def run_new(args: argparse.Namespace) -> int:
    from . import commands
    from .project import Project

    project = Project.load(settings_of(args).project_dir)
    path = commands.new_migration(project, args.name)
    print(f"Created new migration at {path.relative_to(project.root)}")
    return EXIT_OK


# -- diff -----------------------------------------------------------------------------------------


def add_diff(sub: Subparsers) -> None:
    p = command_parser(
        sub,
        "diff",
        "write the migration from what supabase/migrations build to what supabase/schemas declares"
        " (`supabase db diff`, without Docker)",
        example="supamigrate diff -f add_notes",
        exits=[
            "0  no difference, or the migration was printed / written, and a second diff after applying it is empty",
            "1  the second diff is not empty (what could not be expressed is said), a destructive statement"
            " blocked -f, or a build failed",
        ],
        details="The declared schemas are [db.migrations] schema_paths of config.toml (globs, in order), else every"
        " *.sql under supabase/schemas. The engine is pg-delta (--pgdelta); what it gets wrong for Supabase is"
        " put right before the migration is proven.",
    )
    add_project_dir(p)
    add_statement_timeout(p)
    add_cli_options(p, "pg_bin", "cache", "pgdelta", help={"pg_bin": "directory of the PostgreSQL server binaries"})
    p.add_argument("-f", "--file", dest="name", metavar="NAME",
                   help="write supabase/migrations/<UTC timestamp>_NAME.sql instead of printing the SQL")
    p.add_argument("--allow-destructive", action="store_true",
                   help="write the file even when lint finds destructive statements (SB007, SB008) in it")


def run_diff(args: argparse.Namespace) -> int:
    from .build import ServerChoice
    from .diff import diff
    from .project import Project

    settings = settings_of(args)
    project = Project.load(settings.project_dir)
    result = diff(
        project,
        name=args.name,
        server=ServerChoice(pg_bin=settings.pg_bin, os_user=settings.os_user, run_root=settings.run_dir,
                            cache=cache_of(settings)),
        pgdelta=settings.pgdelta,
        allow_destructive=args.allow_destructive,
        statement_timeout_ms=settings.statement_timeout_ms,
    )
    print(report.diff_text(result, project.root), file=sys.stderr)
    if args.name is None and result.sql:
        print(result.sql, end="")
    return EXIT_OK if result.ok else EXIT_FAIL


# -- init -----------------------------------------------------------------------------------------


def add_init(sub: Subparsers) -> None:
    p = command_parser(
        sub,
        "init",
        "write what supamigrate needs in an existing Supabase project, never overwriting a file",
        example="supamigrate init --project-dir path/to/project",
        exits=["0  written (files that existed are left alone and named)", "1  no Supabase project here"],
        details="Writes supamigrate.toml (commented defaults), .sqlfluff, .github/workflows/supamigrate.yml,"
        " .pre-commit-config.yaml and tests/test_database.py; then run `supamigrate check` and `pytest`.",
    )
    add_project_dir(p)


def run_init(args: argparse.Namespace) -> int:
    from .init import init
    from .project import Project

    result = init(Project.load(settings_of(args).project_dir))
    for path in result.written:
        print(f"wrote       {path.relative_to(result.root)}")
    for path in result.kept:
        print(f"left alone  {path.relative_to(result.root)} (it exists)")
    print("next: supamigrate check, then pytest")
    return EXIT_OK


# -- cache ----------------------------------------------------------------------------------------


def add_cache(sub: Subparsers) -> None:
    p = command_parser(
        sub,
        "cache",
        "show or empty the cache of migrated clusters",
        example="supamigrate cache info",
        exits=["0  done", "1  the cache could not be read"],
    )
    p.add_argument("action", choices=("clear", "info"), help="clear: delete every entry; info: where and how big")


def run_cache(args: argparse.Namespace) -> int:
    from .cache import Cache

    settings = settings_of(args)
    cache = Cache(settings.cache_dir, max_entries=settings.cache_max_entries, max_mb=settings.cache_max_mb)
    if args.action == "clear":
        print(f"Removed {cache.clear()} cached cluster(s) from {cache.root}")
    else:
        info = cache.info()
        print(f"location: {info.root}")
        print(f"entries:  {info.entries} cluster(s), at most {info.max_entries} (cache_max_entries)")
        print(f"size:     {info.bytes / 1e6:.1f} MB, at most {info.max_bytes / 1e6:.0f} MB (cache_max_mb)")
    return EXIT_OK


# -- dump -----------------------------------------------------------------------------------------


def add_dump(sub: Subparsers) -> None:
    p = command_parser(
        sub,
        "dump",
        "write supabase/schema.sql, a reviewable snapshot of the schema the migrations build",
        example="supamigrate dump --check",
        exits=["0  written, or (--check) up to date", "1  stale (--check), or the build failed"],
    )
    add_project_dir(p)
    add_statement_timeout(p)
    add_cli_options(p, "pg_bin", help={"pg_bin": "directory of the PostgreSQL server binaries (and pg_dump)"})
    p.add_argument("--output", type=Path, help="the snapshot file (default: supabase/schema.sql)")
    p.add_argument("--check", action="store_true", help="write nothing; show the diff, exit 1 if stale")


def run_dump(args: argparse.Namespace) -> int:
    from . import commands
    from .project import Project

    settings = settings_of(args)
    project = Project.load(settings.project_dir)
    result = commands.dump(
        project,
        pg_bin=settings.pg_bin,
        output=args.output,
        write=not args.check,
        statement_timeout_ms=settings.statement_timeout_ms,
        cache=cache_of(settings),
        on_progress=progress_printer(),
        os_user=settings.os_user,
        run_root=settings.run_dir,
    )
    if args.check:
        if result.changed:
            print(result.diff, end="")
            print(f"{result.path}: stale; run `supamigrate dump` to update it", file=sys.stderr)
            return EXIT_FAIL
        print(f"{result.path}: up to date")
        return EXIT_OK
    print(report.dump_text(result, project.root))
    return EXIT_OK


# -- preflight ------------------------------------------------------------------------------------


def add_preflight(sub: Subparsers) -> None:
    p = command_parser(
        sub,
        "preflight",
        "read-only: what `supabase db push` would meet on a database (history, collisions)",
        example='supamigrate preflight --db-url "$DATABASE_URL" --format github',
        exits=["0  no finding reaches --fail-on", "1  a finding reaches --fail-on, or the database cannot be read"],
    )
    add_project_dir(p)
    p.add_argument("--db-url", required=True, help="postgresql:// URL of the target (it is only read)")
    add_format(p)
    add_cli_options(p, "fail_on", help={"fail_on": "lowest level that fails"})


def run_preflight(args: argparse.Namespace) -> int:
    from .preflight import preflight
    from .project import Project

    settings = settings_of(args)
    result = preflight(Project.load(settings.project_dir), args.db_url, fail_on=settings.fail_on)
    print(report.PREFLIGHT[args.format](result))
    return EXIT_OK if result.ok else EXIT_FAIL


# -- advise ---------------------------------------------------------------------------------------


def add_advise(sub: Subparsers) -> None:
    p = command_parser(
        sub,
        "advise",
        "read-only: every database advisor (splinter's lints) on a live database, live-only ones too",
        example='supamigrate advise --db-url "$DATABASE_URL" --format json',
        exits=["0  no finding reaches --fail-on", "1  a finding reaches --fail-on, or the database cannot be read"],
        details="Exposed schemas: --schema, else pgrst.db_schemas of the authenticator role, else [api] schemas\n"
        "of the project's supabase/config.toml (when there is a project), else public, graphql_public.\n"
        "[advisors] disable/ignore of supamigrate.toml apply. JSON codes are splinter's lint names.",
    )
    add_project_dir(p)
    p.add_argument("--db-url", required=True, help="postgresql:// URL of the database (it is only read)")
    p.add_argument("--schema", action="append", help="a schema the Data API exposes (repeatable)")
    p.add_argument("--only", action="append", metavar="ID", help="run only this advisor (repeatable)")
    add_format(p)
    add_cli_options(p, "fail_on", help={"fail_on": "lowest level that fails"})


def run_advise(args: argparse.Namespace) -> int:
    from .advise import advise
    from .errors import ProjectError
    from .project import Project

    settings = settings_of(args)
    try:
        project: Project | None = Project.load(settings.project_dir)
    except ProjectError:
        project = None  # a live database needs no project; its settings apply when there is one
    result = advise(args.db_url, project=project, schemas=args.schema, only=args.only, fail_on=settings.fail_on)
    print(report.ADVISE[args.format](result))
    return EXIT_OK if result.ok else EXIT_FAIL


# -- lint -----------------------------------------------------------------------------------------


# plpgsql.LEVELS and plpgsql.FAIL_ON, written out so that building the parser imports no core
# module (a test keeps them equal).
PLPGSQL_LEVELS = ("warning", "error")
PLPGSQL_FAIL_ON = ("none", "warning", "error")  # lowest first, as `supabase db lint` lists them


def add_lint(sub: Subparsers) -> None:
    p = command_parser(
        sub,
        "lint",
        "sqlfluff and the Supabase rules (SB000...) on migrations, seed and supabase/tests",
        example="supamigrate lint --since origin/main supabase/migrations",
        exits=["0  no errors", "1  findings (or --plpgsql findings reaching its --fail-on)"],
        details="With PATHS, report only findings in those files or directories (the rules still read"
        " the whole migration set).",
    )
    add_project_dir(p)
    add_format(p, "text (grouped by file), json, or GitHub Actions annotations")
    add_baseline_options(p)
    p.add_argument("--jobs", type=int, metavar="N", help="sqlfluff worker processes (default: one per CPU)")
    p.add_argument("paths", nargs="*", type=Path, help="files or directories to report on (default: all)")
    g = p.add_argument_group(
        "plpgsql_check", "check every PL/pgSQL function of the migrated database, trigger functions included"
    )
    g.add_argument("--plpgsql", action="store_true", help="also run plpgsql_check (builds the project first)")
    g.add_argument("--level", choices=PLPGSQL_LEVELS, default="warning", help="lowest plpgsql_check level shown")
    g.add_argument(
        "--fail-on", choices=PLPGSQL_FAIL_ON, default="none", help="lowest plpgsql_check level that exits 1"
    )
    g.add_argument("--schema", action="append", help="plpgsql_check only this schema (repeatable)")
    add_cli_options(g, "pg_bin", help={"pg_bin": "directory of the PostgreSQL server binaries"})


def run_lint(args: argparse.Namespace) -> int:
    from . import plpgsql
    from .lint import lint
    from .project import Project

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing or (args.jobs is not None and args.jobs < 1):
        usage = f"no such file or directory: {', '.join(missing)}" if missing else "--jobs must be at least 1"
        print(f"supamigrate lint: error: {usage}", file=sys.stderr)
        return EXIT_USAGE
    settings = settings_of(args)
    project = Project.load(settings.project_dir)
    result = lint(
        project, args.paths, since=args.since, judge_all=args.judge_all, jobs=args.jobs, cache_dir=settings.cache_dir
    )
    functions = (
        plpgsql.check_project(
            project,
            pg_bin=settings.pg_bin,
            schemas=args.schema,
            os_user=settings.os_user,
            run_root=settings.run_dir,
            cache=cache_of(settings),
        )
        if args.plpgsql
        else None
    )
    print(report.lint(result, args.format, plpgsql=functions, level=args.level))
    if functions is not None and functions.fails(args.fail_on):
        print(f"error: fail-on is set to {args.fail_on}, non-zero exit", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK if result.ok else EXIT_FAIL


# -- baseline -------------------------------------------------------------------------------------


def add_baseline(sub: Subparsers) -> None:
    p = command_parser(
        sub, "baseline",
        "mark the migrations production has applied: write [lint] baseline to supamigrate.toml",
        example="supamigrate baseline",
        exits=["0  written", "1  no migrations, or a supamigrate.toml it cannot edit safely"],
        details="Writes the newest migration's version (or VERSION) as [lint] baseline in supamigrate.toml,\n"
        "keeping the rest of the file. Findings that only an edit of a migration up to it could fix are\n"
        "then counted in one info line instead of failing `check` and `lint`.",
    )
    add_project_dir(p)
    p.add_argument("version", nargs="?", help="the version to write (default: the newest migration's)")


def run_baseline(args: argparse.Namespace) -> int:
    from .lint.baseline import write_baseline
    from .project import Project

    project = Project.load(settings_of(args).project_dir)
    path, version, previous = write_baseline(project, args.version)
    was = f" (was {previous})" if previous and previous != version else ""
    print(f"{path.name}: [lint] baseline = \"{version}\"{was}")
    return EXIT_OK


# -- wiring ---------------------------------------------------------------------------------------

COMMANDS: dict[str, tuple[Callable[[Subparsers], None], Callable[[argparse.Namespace], int]]] = {
    "check": (add_check, run_check),
    "apply": (add_apply, run_apply),
    "new": (add_new, run_new),
    "diff": (add_diff, run_diff),
    "init": (add_init, run_init),
    "cache": (add_cache, run_cache),
    "dump": (add_dump, run_dump),
    "preflight": (add_preflight, run_preflight),
    "advise": (add_advise, run_advise),
    "lint": (add_lint, run_lint),
    "baseline": (add_baseline, run_baseline),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supamigrate",
        description="Lint, apply and test Supabase migrations on a local PostgreSQL, without Docker.",
        epilog="The project is the nearest directory, from the current one up, holding supabase/config.toml"
        " (--project-dir chooses another). `supamigrate COMMAND --help` shows a command's options, an example"
        " and its exit codes (130: interrupted).",
    )
    parser.add_argument("--version", action="version", version=f"supamigrate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code: the CLI for programs (tests, scripts).

    A KeyboardInterrupt is not caught here, so a caller that is interrupted (a pytest session, a
    script) stops and cleans up as it would anywhere else.
    """
    return _execute(build_parser().parse_args(argv))


def _execute(args: argparse.Namespace) -> int:
    try:
        return COMMANDS[args.command][1](args)
    except SettingsError as exc:  # a bad environment variable: a usage error, as a bad flag is
        print(f"supamigrate {args.command}: error: {exc.render()}", file=sys.stderr)
        return EXIT_USAGE
    except SupamigrateError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return EXIT_FAIL


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``supamigrate`` console script: ``run``, with Ctrl-C and SIGTERM → 130."""
    # The arguments first: `--help` and usage errors exit here, before the core is imported.
    args = build_parser().parse_args(argv)
    from .signals import sigterm_as_interrupt

    restore = sigterm_as_interrupt()
    try:
        return _execute(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        restore()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
