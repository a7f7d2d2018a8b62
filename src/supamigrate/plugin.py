"""The pytest face: options, and fixtures over the core.

The migrated database is built once per session as a template; ``db`` hands each test a
connection inside a transaction that is rolled back afterwards, and ``fresh_db`` gives a test
that must commit a database of its own, cloned from the template. Every fixture is small and can
be overridden in a project's ``conftest.py``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from .errors import SupamigrateError
from .settings import SETTINGS, Settings, as_plugin_spells, resolve
from .signals import sigterm_as_interrupt

# The core is imported by the fixtures and hooks that use it, not here: pytest imports every
# plugin at start-up, also for runs that never touch a database (`pytest --help`, other tests).
if TYPE_CHECKING:
    import psycopg

    from . import pgtap
    from .auth import AuthUser
    from .build import BuildResult, ProjectDatabase
    from .callers import ActAs
    from .database import Server
    from .inspect import Catalog
    from .migrator import Migrator, VersionTemplates
    from .project import Project
    from .smoke.storage import StoredObject

# The suffixes of pgTAP files (pgtap.TEST_SUFFIXES); a test keeps the two equal.
PGTAP_SUFFIXES = (".sql", ".pg")

PLUGIN_SETTINGS = tuple(s for s in SETTINGS if s.plugin)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("supamigrate", "Supabase migrations on an ephemeral PostgreSQL")
    for s in PLUGIN_SETTINGS:
        assert s.plugin_flag is not None and s.ini_key is not None
        group.addoption(s.plugin_flag, dest=s.dest, help=f"{s.help} [env {' / '.join(s.env)}]")
        parser.addini(s.ini_key, s.help)


_RESTORE_SIGTERM = pytest.StashKey[Callable[[], None]]()
_SETTINGS = pytest.StashKey[Settings]()


def pytest_configure(config: pytest.Config) -> None:
    # A SIGTERM (a CI time-out) unwinds like Ctrl-C: fixtures tear down and servers stop. Kept per
    # session: a session run inside another (pytester) must not undo the outer one's handler.
    config.stash[_RESTORE_SIGTERM] = sigterm_as_interrupt()


def pytest_unconfigure(config: pytest.Config) -> None:
    restore = config.stash.get(_RESTORE_SIGTERM, None)
    if restore is not None:
        del config.stash[_RESTORE_SIGTERM]
        restore()


def resolve_settings(config: pytest.Config) -> Settings:
    """The session's settings, resolved once (option > environment > ini > default) and kept."""
    settings = config.stash.get(_SETTINGS, None)
    if settings is None:
        where = f"{config.inipath}: ini key" if config.inipath else "ini key"
        settings = resolve(
            options={s.name: config.getoption(s.dest) for s in PLUGIN_SETTINGS},
            environ=os.environ,
            ini={s.name: config.getini(s.ini_key) for s in PLUGIN_SETTINGS if s.ini_key},
            ini_source=where,
            defaults={"project_dir": _default_project_dir(config)},
        )
        config.stash[_SETTINGS] = settings
    return settings


def _default_project_dir(config: pytest.Config) -> Path:
    """Where the project is when no option names it: found as the Supabase CLI finds it, from the
    directory pytest was started in, else from pytest's rootdir (``settings.resolve`` searches up)."""
    from .project import find_root

    here = find_root(config.invocation_params.dir)
    return here if (here / "supabase" / "config.toml").is_file() else config.rootpath


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    # A bad value (or a broken supamigrate.toml) is a usage error before anything runs, not a
    # failure of every test.
    try:
        resolve_settings(session.config)
    except SupamigrateError as exc:
        raise pytest.UsageError(as_plugin_spells(exc.render())) from None


class SupamigrateWarning(UserWarning):
    """Something about the test setup worth knowing (e.g. a server version config.toml does not name)."""


# The failures of session fixtures raised here: the first test that meets one shows it, the others
# point to that test (a broken build would otherwise print the same error for every test).
_FAILURES: set[str] = set()
_FIRST_SHOWN = pytest.StashKey[dict[str, str]]()


def _fail(exc: SupamigrateError) -> None:
    # `from None`: called in an `except` block, the failure would otherwise show the error twice
    # ("During handling of the above exception ..."). Options are named as pytest spells them.
    message = as_plugin_spells(exc.render())
    _FAILURES.add(message)
    raise pytest.fail.Exception(message, pytrace=False) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    error = call.excinfo.value if call.when == "setup" and call.excinfo is not None else None
    if isinstance(error, pytest.fail.Exception) and str(error) in _FAILURES:
        first = item.config.stash.setdefault(_FIRST_SHOWN, {}).setdefault(str(error), item.nodeid)
        if first != item.nodeid:
            report.longrepr = f"the supamigrate error shown at setup of {first}"
    return report


@pytest.fixture(scope="session")
def supamigrate_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved supamigrate settings (options, environment, ini), a frozen ``Settings``."""
    return resolve_settings(pytestconfig)


@pytest.fixture(scope="session")
def supamigrate_project(supamigrate_settings: Settings) -> Project:
    """The Supabase project under test (``supabase/`` and its config.toml)."""
    from .project import Project

    try:
        return Project.load(supamigrate_settings.project_dir)
    except SupamigrateError as exc:
        _fail(exc)
        raise


@pytest.fixture(scope="session")
def supamigrate_templates(
    supamigrate_settings: Settings, supamigrate_project: Project
) -> Iterator[ProjectDatabase]:
    """The session's server with the migrated template on it (from the cache when nothing changed)."""
    from . import pgtap
    from .build import ProjectDatabase, ServerChoice, Target
    from .server import EphemeralServer, version_mismatch

    settings = supamigrate_settings
    try:
        ts = ProjectDatabase.start(
            supamigrate_project,
            target=Target.TEMPLATE,
            db_url=settings.db_url,
            server=ServerChoice.from_settings(settings),
            seed=settings.seed,
            statement_timeout_ms=settings.statement_timeout_ms,
            # As `supabase test db`: pgTAP in schema extensions, for the items of the pgTAP files.
            with_pgtap=bool(pgtap.test_files(supamigrate_project.root)),
        )
    except SupamigrateError as exc:
        _fail(exc)
        raise
    if isinstance(ts.server, EphemeralServer):
        mismatch = version_mismatch(ts.server, supamigrate_project.config.major_version)
        if mismatch:
            warnings.warn(mismatch, SupamigrateWarning, stacklevel=1)
    if settings.seed:
        for problem in supamigrate_project.seed_warnings():
            warnings.warn(problem, SupamigrateWarning, stacklevel=1)
    try:
        yield ts
    finally:
        ts.stop()


@pytest.fixture(scope="session")
def supamigrate_server(supamigrate_templates: ProjectDatabase) -> Server:
    """The PostgreSQL server of the session: an ephemeral one, or the one named by --supamigrate-db-url."""
    return supamigrate_templates.server


@pytest.fixture(scope="session")
def supamigrate_template(supamigrate_templates: ProjectDatabase) -> BuildResult:
    """The migrated template database: platform stub, migrations and seed, built once (or cached)."""
    return supamigrate_templates.database


@dataclass(frozen=True)
class TestDatabase:
    """A database cloned from the template: its name and how to connect to it."""

    __test__: ClassVar[bool] = False  # a fixture's value, not a test class

    server: Server
    name: str

    @property
    def conninfo(self) -> str:
        return self.server.conninfo(self.name, _app_user(self.server))

    def connect(self, user: str | None = None, **kwargs: Any) -> psycopg.Connection:
        """A new connection, as ``postgres`` on the ephemeral server (the URL's user otherwise)."""
        from .database import connect

        return connect(self.server.conninfo(self.name, user or _app_user(self.server)), **kwargs)


def _app_user(server: Server) -> str | None:
    from .server import EphemeralServer

    # Tests act as the dashboard's `postgres` role, as the platform has it; not as a superuser.
    return "postgres" if isinstance(server, EphemeralServer) else None


def _clone(server: Server, template: BuildResult, prefix: str) -> TestDatabase:
    from .database import create_database, unique_name

    name = unique_name(prefix)
    create_database(server, name, template=template.dbname)
    return TestDatabase(server, name)


@pytest.fixture(scope="session")
def supamigrate_database(supamigrate_templates: ProjectDatabase) -> Iterator[TestDatabase]:
    """The session's database for rolled-back tests, cloned from the template."""
    from .database import drop_database

    supamigrate_server = supamigrate_templates.server
    database = TestDatabase(supamigrate_server, supamigrate_templates.take_spare("supamigrate_test"))
    try:
        yield database
    finally:
        drop_database(supamigrate_server, database.name)


@pytest.fixture(scope="session")
def _supamigrate_connection(supamigrate_database: TestDatabase) -> Iterator[psycopg.Connection]:
    conn = supamigrate_database.connect(prepare_threshold=None)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def db(_supamigrate_connection: psycopg.Connection, supamigrate_database: TestDatabase) -> Iterator[psycopg.Connection]:
    """A connection to the migrated database inside a transaction rolled back after the test.

    Acts as ``postgres``, as the Supabase dashboard does. ``commit()`` is refused; use
    ``with db.transaction():`` for a savepoint, or ``fresh_db`` for a test that must commit.
    """
    conn = _supamigrate_connection
    if conn.closed:  # a test closed it: open another for the tests that follow
        conn = supamigrate_database.connect(prepare_threshold=None)
    with conn.transaction(force_rollback=True):
        yield conn


@pytest.fixture
def fresh_db(supamigrate_server: Server, supamigrate_template: BuildResult) -> Iterator[TestDatabase]:
    """A database of the test's own, cloned from the migrated template; commits allowed, dropped after."""
    from .database import drop_database

    database = _clone(supamigrate_server, supamigrate_template, "supamigrate_fresh")
    try:
        yield database
    finally:
        drop_database(supamigrate_server, database.name)


@pytest.fixture
def make_user(db: psycopg.Connection) -> Callable[..., AuthUser]:
    """Factory: ``make_user("ada@example.com")`` inserts an auth user (with identity) and returns it.

    ``make_user(is_anonymous=True)`` makes an anonymous sign-in user. Make users before acting
    as a caller: the insert runs on ``db`` as ``postgres``.
    """

    from .auth import create_user

    def factory(email: str | None = None, **kwargs: Any) -> AuthUser:
        return create_user(db, email, **kwargs)

    return factory


@pytest.fixture
def sign_up(db: psycopg.Connection) -> Callable[..., AuthUser]:
    """Factory: ``sign_up("ada@example.com")`` signs a user up as Supabase Auth does and returns it.

    Auth's own statements as its role ``supabase_auth_admin`` (search_path ``auth``), so the
    project's triggers on ``auth.users`` run as on the platform: a trap there fails here with the
    error Auth answers (``SmokeError``: "Database error saving new user: 42501 ..."). Keywords:
    ``password``, ``user_metadata`` (the sign-up's ``options.data``), ``anonymous=True``.
    ``make_user`` stays the fast direct insert.
    """

    from .smoke.auth import sign_up as auth_sign_up

    def factory(
        email: str | None = None,
        *,
        password: str | None = None,
        user_metadata: dict[str, Any] | None = None,
        anonymous: bool = False,
    ) -> AuthUser:
        return auth_sign_up(db, email, password=password, user_metadata=user_metadata, anonymous=anonymous)

    return factory


@pytest.fixture
def delete_user(db: psycopg.Connection) -> Callable[[AuthUser], None]:
    """``delete_user(user)`` deletes the user as Supabase Auth's admin API does (as its role): the
    foreign keys to ``auth.users`` decide what happens to the user's rows, and one without
    ``ON DELETE`` raises ``SmokeError`` ("Database error deleting user: 23503 ...")."""

    from .smoke.auth import delete_user as auth_delete_user

    def delete(user: AuthUser) -> None:
        auth_delete_user(db, user)

    return delete


@pytest.fixture
def as_user(db: psycopg.Connection) -> ActAs:
    """``with as_user(user): db.execute(...)`` runs statements on ``db`` as that signed-in user.

    As PostgREST does with the user's access token: role ``authenticated``, ``request.jwt.claims``
    from ``user.claims()`` (extra claims: ``as_user(user, aal="aal2")``), the role's settings.
    The block runs in a savepoint: an error inside rolls back its writes, the role and the claims,
    and the test goes on as ``postgres``.
    """

    from .callers import Caller, acting_as

    def enter(user: AuthUser, **extra_claims: Any) -> AbstractContextManager[psycopg.Connection]:
        return acting_as(db, Caller.user(user, **extra_claims))

    return enter


@pytest.fixture
def as_anon(db: psycopg.Connection) -> ActAs:
    """``with as_anon(): db.execute(...)`` runs statements on ``db`` as a caller with the anon key.

    Role ``anon``, claims ``{"iss": ..., "role": "anon", "exp": ...}``: ``auth.uid()`` is NULL.
    """

    from .callers import Caller, acting_as

    def enter(**extra_claims: Any) -> AbstractContextManager[psycopg.Connection]:
        return acting_as(db, Caller.anon(**extra_claims))

    return enter


@pytest.fixture
def as_service_role(db: psycopg.Connection) -> ActAs:
    """``with as_service_role(): db.execute(...)`` runs statements on ``db`` with the service_role key.

    Role ``service_role``, which bypasses row level security but still needs table privileges.
    """

    from .callers import Caller, acting_as

    def enter(**extra_claims: Any) -> AbstractContextManager[psycopg.Connection]:
        return acting_as(db, Caller.service_role(**extra_claims))

    return enter


@pytest.fixture
def storage_upload(db: psycopg.Connection) -> Callable[..., StoredObject]:
    """Factory: ``storage_upload(user, "avatars", f"{user.id}/me.png", data=b"...")`` uploads as ``user``.

    Runs the statements Supabase Storage runs for ``upload()`` (the policy check as the user, then
    the row as the service), so policies and triggers on ``storage.objects`` meet the request as
    on the platform. Returns the object's row; raises ``StorageApiError`` as Storage answers
    (``e.status == 403`` when a policy refuses). ``upsert=True`` replaces, ``content_type=`` sets
    the type. No bytes are kept: the row's metadata holds their size and etag.
    """
    from .smoke.storage import upload

    def factory(user: AuthUser, bucket: str, path: str, data: bytes = b"", **kwargs: Any) -> StoredObject:
        return upload(db, user, bucket, path, data, **kwargs)

    return factory


@pytest.fixture
def catalog(db: psycopg.Connection) -> Catalog:
    """Catalog helpers (foreign keys, indexes, triggers, enum labels, policies) on ``db``."""
    from .inspect import Catalog

    return Catalog(db)


@pytest.fixture(scope="session")
def supamigrate_versions(
    supamigrate_settings: Settings, supamigrate_templates: ProjectDatabase, supamigrate_project: Project
) -> Iterator[VersionTemplates]:
    """The session's templates per migration version (``migrator``'s), made as tests ask for them.

    On the ephemeral server they stay in its cluster, which the cache keeps between runs.
    """
    from .migrator import VersionTemplates
    from .server import EphemeralServer

    server = supamigrate_templates.server
    templates = VersionTemplates(
        server,
        supamigrate_project,
        keep=isinstance(server, EphemeralServer) and supamigrate_settings.cache,
        statement_timeout_ms=supamigrate_settings.statement_timeout_ms,
    )
    try:
        yield templates
    finally:
        templates.close()


@pytest.fixture
def migrator(supamigrate_versions: VersionTemplates) -> Iterator[Migrator]:
    """``migrator.at(version)``: a connection to a database of the test's own at that migration.

    It holds the stub and every migration up to and including ``version`` (``seed=True``: the seed
    too). Put rows there, then ``migrator.upgrade()`` (or ``upgrade(to=version)``) commits them and
    applies the next migrations as ``supamigrate apply`` does; a failing one raises its
    ``MigrationError`` (file:line:col). Databases are dropped after the test.
    """
    from .migrator import Migrator

    with Migrator(supamigrate_versions, user=_app_user(supamigrate_versions.server)) as m:
        yield m


# -- pgTAP files ----------------------------------------------------------------------------------


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect the project's pgTAP files (``supabase/tests/**/*.sql`` and ``*.pg``) as tests."""
    if file_path.suffix not in PGTAP_SUFFIXES:
        return None
    from . import pgtap

    if pgtap.is_test_file(file_path, resolve_settings(parent.config).project_dir):
        return PgTapFile.from_parent(parent, path=file_path)
    return None


class PgTapFile(pytest.File):
    """A pgTAP file: one test (``<file>::pgtap``) whose assertions are reported as subtests."""

    def collect(self) -> list[pytest.Item]:
        return [PgTapItem.from_parent(self, name="pgtap", callobj=_run_pgtap_file)]


class PgTapItem(pytest.Function):
    """Runs a pgTAP file as ``supabase test db`` does: its own session on the run's pgTAP database."""

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


@dataclass
class PgTapRun:
    """The run's pgTAP database and its files' results (``pgtap.TapSuite``), or why it has none."""

    suite: pgtap.TapSuite
    missing: SupamigrateError | None = None


@pytest.fixture(scope="session")
def supamigrate_pgtap(
    request: pytest.FixtureRequest, supamigrate_templates: ProjectDatabase, supamigrate_project: Project
) -> Iterator[PgTapRun]:
    """The database the run's pgTAP files share, cloned from the template at its start.

    As with ``pg_prove``, each file runs in a session of its own, in name order: what a file
    commits is there for the files after it, and the next run starts from the clean template again.
    """
    from . import pgtap
    from .database import connect, drop_database
    from .platform.extensions import ExtensionPolicy

    server = supamigrate_templates.server
    name = supamigrate_templates.clone("supamigrate_pgtap")
    try:
        missing: SupamigrateError | None = None
        with connect(server.conninfo(name)) as conn:
            try:
                pgtap.require(conn)
            except SupamigrateError as exc:
                missing = exc
            files = [p.resolve() for p in pgtap.test_files(supamigrate_project.root)]
            pgtap.prepare_database(conn, files)
        wanted = {item.path.resolve() for item in request.session.items if isinstance(item, PgTapItem)}
        suite = pgtap.TapSuite(
            TestDatabase(server, name).conninfo,
            files,
            wanted=wanted,
            extensions=ExtensionPolicy.for_project(supamigrate_project),
        )
        yield PgTapRun(suite, missing)
    finally:
        drop_database(server, name)


def _run_pgtap_file(
    supamigrate_pgtap: PgTapRun, subtests: pytest.Subtests, request: pytest.FixtureRequest
) -> None:
    path = request.node.path.resolve()
    if supamigrate_pgtap.missing is not None:
        _fail(supamigrate_pgtap.missing)
    run = supamigrate_pgtap.suite.result(path)
    for a in run.assertions:
        with subtests.test(msg=a.title):
            if a.directive == "SKIP":
                pytest.skip(a.reason or "skipped by the pgTAP file")
            if a.directive == "TODO" and not a.ok:
                pytest.xfail(a.reason or "TODO")
            if not a.ok:
                pytest.fail(_relative(a.render(), request.config.rootpath), pytrace=False)
    problems = run.problems()
    if problems:
        lines = list(problems)
        if run.notices:
            lines += ["notices:", *run.notices]
        pytest.fail(_relative("\n".join(lines), request.config.rootpath), pytrace=False)


def _relative(text: str, root: Path) -> str:
    # Paths in messages as the user typed them: relative to pytest's rootdir.
    return text.replace(f"{root}/", "")


# -- the upgrade check (opt-in) -------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect, so that they apply to it too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--supamigrate-upgrade`` (ini ``supamigrate_upgrade = true``), one more test: the upgrade check."""
    settings = resolve_settings(config)
    if settings.upgrade:
        # Under the migrations directory (``supabase/migrations::upgrade``), which it is about.
        migrations = MigrationsDirectory.from_parent(session, path=Path(settings.project_dir).resolve() / MIGRATIONS)
        items.append(UpgradeItem.from_parent(migrations, name="upgrade"))


MIGRATIONS = Path("supabase") / "migrations"


class MigrationsDirectory(pytest.File):
    """The project's ``supabase/migrations``: the node the upgrade check belongs to."""

    def collect(self) -> list[pytest.Item]:
        return [UpgradeItem.from_parent(self, name="upgrade")]


class UpgradeItem(pytest.Item):
    """The migrations new since the git base, applied on the base's migrations and seed, give the
    schema a fresh build gives, and none fails on the seed's rows (``supamigrate check --upgrade``)."""

    def runtest(self) -> None:
        from .build import ServerChoice
        from .commands import failure_finding
        from .findings import Level
        from .project import Project
        from .report import findings_text
        from .upgrade import check_upgrade

        settings = resolve_settings(self.config)
        try:
            project = Project.load(settings.project_dir)
            result = check_upgrade(
                project, server=ServerChoice.from_settings(settings), statement_timeout_ms=settings.statement_timeout_ms
            )
        except SupamigrateError as exc:
            _fail(exc)
            raise
        if result.ok:
            return
        found = [f.relative_to(project.root) for f in result.findings if f.level is not Level.INFO]
        if result.error is not None:
            found.append(failure_finding(result.error).relative_to(project.root))
        pytest.fail(as_plugin_spells("\n".join(findings_text(found))), pytrace=False)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, "upgrade check"
