"""The PostgreSQL test server itself (tests/postgres_server.py): a role of its own logs in
over TCP with its password, is `current_user` (the identity mailstage will map to
members), owns its database, and both are gone after the test."""

from __future__ import annotations

import pytest

from tests.postgres_server import ScratchDatabase, postgres_admin, postgres_database

__all__ = ["postgres_admin", "postgres_database"]

pytestmark = pytest.mark.postgres


def test_a_test_role_logs_in_with_its_password_and_is_current_user(
    postgres_database: ScratchDatabase,
) -> None:
    import psycopg

    with psycopg.connect(postgres_database.url, connect_timeout=5) as connection:
        row = connection.execute("select current_user, current_database()").fetchone()
    assert row == (postgres_database.role, postgres_database.database)


def test_a_wrong_password_is_refused_by_the_server(postgres_database: ScratchDatabase) -> None:
    import psycopg

    wrong = postgres_database.url.replace(postgres_database.password, "not-the-password")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(wrong, connect_timeout=5).close()
