"""Connecting to a PostgreSQL store (store/pgstore.py) against a real server: a wrong
password, an unreachable port, a missing database and an unknown host are each exit 5
with a sentence naming the server and the database, never the password."""

from __future__ import annotations

import pytest

from mailstage.store.database_url import parse_database_url
from mailstage.store.pgstore import DatabaseUnreachable, connect
from tests.postgres_server import ScratchDatabase, postgres_admin, postgres_database

__all__ = ["postgres_admin", "postgres_database"]

pytestmark = pytest.mark.postgres


def test_the_right_password_connects_as_its_role(postgres_database: ScratchDatabase) -> None:
    with connect(parse_database_url(postgres_database.url)) as connection:
        row = connection.execute("select current_user").fetchone()
    assert row == (postgres_database.role,)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("password", "refused the login of the role"),
        ("port", "unreachable"),
        ("database", "no such database"),
        ("host", "host name is unknown"),
    ],
)
def test_each_failure_names_server_and_database_and_never_the_password(
    postgres_database: ScratchDatabase, change: str, reason: str
) -> None:
    db = postgres_database
    secret = db.password
    user, host, port, name = db.role, db.host, db.port, db.database
    if change == "password":
        secret = "Wr0ngPassw0rdXYZ"
    elif change == "port":
        port = 1
    elif change == "database":
        name = name + "_missing"
    else:
        host = "no-such-host.invalid"
    url = parse_database_url(f"postgresql://{user}:{secret}@{host}:{port}/{name}")
    with pytest.raises(DatabaseUnreachable) as refused:
        connect(url)
    message = refused.value.message
    assert refused.value.exit_code == 5
    assert f"the database {name} on {host}:{port}" in message
    assert reason in message
    assert secret not in message and db.password not in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
