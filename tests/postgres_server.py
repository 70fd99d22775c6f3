"""A real PostgreSQL server for the tests (issue 18 item 4), or a skip that says why.

The server: MAILSTAGE_TEST_DATABASE_URL when set (a role that may create roles and
databases), else the local cluster through its socket as the `postgres` superuser
(`runuser -u postgres -- psql`, when running as root), else 127.0.0.1:5432 answering to
that same superuser. Each test gets its own login role and database, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

INSTALL = (
    "apt-get install -y postgresql && pg_ctlcluster --skip-systemctl-redirect 15 main start"
    " (or set MAILSTAGE_TEST_DATABASE_URL), and pip install -e '.[test,postgres]'"
)


@dataclass(frozen=True)
class Admin:
    """Runs SQL as a role that may create roles and databases."""

    run: Callable[[str], str]
    host: str  # where the test roles connect: 127.0.0.1 unless the admin URL names a host
    port: int


def _through_url(url: str) -> Admin | None:
    try:
        import psycopg
    except ImportError:
        return None
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error:
        return None

    def run(sql: str) -> str:
        with psycopg.connect(url, autocommit=True) as connection:
            cursor = connection.execute(sql)  # type: ignore[arg-type]  # test SQL, literal
            rows = cursor.fetchall() if cursor.description else []
        return "\n".join("|".join(str(v) for v in row) for row in rows)

    info = psycopg.conninfo.conninfo_to_dict(url)
    return Admin(run, str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432))


def _through_socket() -> Admin | None:
    if os.geteuid() != 0 or not shutil.which("runuser") or not shutil.which("psql"):
        return None

    def run(sql: str) -> str:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-Atc", sql],
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    try:
        run("select 1")
    except (RuntimeError, subprocess.TimeoutExpired):
        return None
    return Admin(run, "127.0.0.1", 5432)


def find_admin() -> tuple[Admin | None, str]:
    """The admin connection, or None and the reason for the skip."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, f"psycopg (the PostgreSQL extra) is not installed: {INSTALL}"
    url = os.environ.get("MAILSTAGE_TEST_DATABASE_URL")
    if url:
        admin = _through_url(url)
        return admin, "" if admin else "MAILSTAGE_TEST_DATABASE_URL does not answer"
    admin = _through_socket()
    return admin, "" if admin else f"no PostgreSQL server answers here: {INSTALL}"


@dataclass(frozen=True)
class ScratchDatabase:
    role: str
    password: str
    database: str
    host: str
    port: int
    admin: Admin
    other_roles: list[str] = field(default_factory=list)  # dropped with the database

    @property
    def url(self) -> str:
        return self.url_of(self.role, self.password)

    def url_of(self, role: str, password: str) -> str:
        return f"postgresql://{role}:{password}@{self.host}:{self.port}/{self.database}"

    def data_dump(self) -> str:
        """`pg_dump --data-only` of the database, as its owner (the password not in argv)."""
        where = f"postgresql://{self.role}@{self.host}:{self.port}/{self.database}"
        dump = subprocess.run(
            ["pg_dump", "--data-only", f"--dbname={where}"],
            capture_output=True,
            text=True,
            env={**os.environ, "PGPASSWORD": self.password},
            timeout=60,
        )
        assert dump.returncode == 0, dump.stderr
        return dump.stdout

    def add_role(self) -> tuple[str, str]:
        """Another login role (a second admin), allowed to connect; returns name, password."""
        role, password = f"ms_other_{secrets.token_hex(6)}", secrets.token_hex(16)
        self.admin.run(f"create role {role} login password '{password}'")
        self.other_roles.append(role)
        return role, password


@pytest.fixture(scope="session")
def postgres_admin() -> Admin:
    admin, reason = find_admin()
    if admin is None:
        pytest.skip(reason)
    return admin


@pytest.fixture
def postgres_database(postgres_admin: Admin) -> Iterator[ScratchDatabase]:
    """A new login role (password) owning a new database; both dropped afterwards."""
    suffix = secrets.token_hex(6)
    role, database, password = f"ms_role_{suffix}", f"ms_db_{suffix}", secrets.token_hex(16)
    postgres_admin.run(f"create role {role} login password '{password}'")
    scratch = None
    try:
        # a CREATEROLE admin (not a superuser) must be a member to give it a database
        postgres_admin.run(f"grant {role} to current_user")
        postgres_admin.run(f"create database {database} owner {role}")
        scratch = ScratchDatabase(
            role, password, database, postgres_admin.host, postgres_admin.port, postgres_admin
        )
        yield scratch
    finally:
        postgres_admin.run(f"drop database if exists {database} with (force)")
        for other in scratch.other_roles if scratch else ():
            postgres_admin.run(f"drop role if exists {other}")
        postgres_admin.run(f"drop role if exists {role}")
