"""The CLI on a PostgreSQL store (issue 18), in a subprocess against the real server: each
test has its own role and database (tests/postgres_server.py).

init makes the tables and the connecting role the Organization Administrator, and
refuses a database that holds a store; the everyday commands work as on a file; a
Viewer's role cannot change email settings; a wrong password or a server that does not
answer is exit 5 naming host and database; `pg_dump --data-only` shows only ciphertext.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mailstage.store import pg_schema
from tests.cli_runner import REPO, run_cli
from tests.postgres_server import ScratchDatabase, postgres_admin, postgres_database

__all__ = ["postgres_admin", "postgres_database"]

pytestmark = pytest.mark.postgres

SMTP_PASSWORD = "Smtp-Pa55word-Quokka"
SMTP_USER = "relay-login-wombat"
SERVER = "smtp.numbat-mail.example"
SENDER = "noreply@platypus-sender.example"
TEST_ADDRESS = "echidna.tester@bilby-inbox.example"
APP = "Kookaburra Billing"
MEMBER = "dingo_reviewer"


def as_role(db: ScratchDatabase, role: str | None = None, password: str | None = None):
    url = db.url if role is None else db.url_of(role, password or "")

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli("--store", url, *args, input=input)

    return run


def configure_staging(run) -> None:
    assert run("stage", "add", "Staging").returncode == 0
    options = ["--server", SERVER, "--port", "587", "--username", SMTP_USER]
    options += ["--password-stdin", "--sender-email", SENDER]
    configured = run("email", "set", "Staging", *options, input=SMTP_PASSWORD + "\n")
    assert configured.returncode == 0, configured.stderr


def grant_to(db: ScratchDatabase, role: str) -> None:
    """What the README says the store's owner runs for another admin's role."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(db.url, autocommit=True) as connection:
        for statement in pg_schema.GRANTS:
            connection.execute(sql.SQL(statement).format(role=sql.Identifier(role)))


@pytest.fixture(autouse=True)
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "store.key"
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(path))
    return path


@pytest.fixture
def store(postgres_database: ScratchDatabase) -> ScratchDatabase:
    created = as_role(postgres_database)("init")
    assert created.returncode == 0, created.stderr
    return postgres_database


def test_init_makes_the_tables_and_the_role_administrator_and_refuses_a_second_time(
    postgres_database: ScratchDatabase, key_file: Path
) -> None:
    db = postgres_database
    before = sorted(p.name for p in REPO.iterdir())
    created = as_role(db)("init")
    assert created.returncode == 0, created.stderr
    assert f"postgresql://{db.role}@{db.host}:{db.port}/{db.database}" in created.stdout
    assert f"You ({db.role}) are its Organization Administrator." in created.stdout
    assert key_file.is_file()  # the key stays on this host, never in the database
    assert db.password not in created.stdout + created.stderr
    assert sorted(p.name for p in REPO.iterdir()) == before  # no file named after the URL

    again = as_role(db)("init")
    assert again.returncode == 3, again.stderr
    assert f"the database {db.database} on {db.host}:{db.port} already holds" in again.stderr
    assert "Traceback" not in again.stderr
    members = as_role(db)("member", "list", "--json")
    assert members.returncode == 0, members.stderr
    assert db.role in members.stdout  # the first store was left as it was


def test_the_schema_version_is_recorded(store: ScratchDatabase) -> None:
    import psycopg

    with psycopg.connect(store.url) as connection:
        rows = connection.execute("select version from mailstage_schema_version").fetchall()
    assert rows == [(n,) for n in range(1, pg_schema.LATEST + 1)]


def test_the_everyday_commands_work_on_the_database(store: ScratchDatabase) -> None:
    run = as_role(store)
    configure_staging(run)
    shown = json.loads(run("email", "show", "Staging", "--json").stdout)
    assert shown["server"] == SERVER and shown["auth"]["password"] == "********"
    assert run("app", "add", APP).returncode == 0
    assert run("testlist", "add", APP, "--stage", "Staging", TEST_ADDRESS).returncode == 0
    assert run("testlist", "activate", APP, "--stage", "Staging").returncode == 0
    assert run("member", "add", MEMBER, "--role", "Viewer").returncode == 0

    stages = json.loads(run("stage", "list", "--json").stdout)
    assert [s["name"] for s in stages] == ["Development", "QA", "Production", "Staging"]
    listed = json.loads(run("testlist", "show", APP, "--stage", "Staging", "--json").stdout)
    assert listed == {"app": APP, "stage": "Staging", "active": True, "addresses": [TEST_ADDRESS]}
    audit = json.loads(run("audit", "--json").stdout)
    assert {e["user"] for e in audit} == {store.role}
    assert [e["action"] for e in audit][:3] == ["member.set", "testlist.save", "testlist.save"]
    checked = run("check", "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["ok"] is True
    assert SMTP_PASSWORD not in json.dumps(audit) + checked.stdout


def test_pg_dump_shows_no_secret_address_or_name(store: ScratchDatabase) -> None:
    run = as_role(store)
    configure_staging(run)
    run("app", "add", APP)
    run("testlist", "add", APP, "--stage", "Staging", TEST_ADDRESS)
    assert run("member", "add", MEMBER, "--role", "Viewer").returncode == 0
    dump = store.data_dump()
    assert "COPY public.mailstage_store" in dump  # the row is there, as ciphertext
    for plain in (SMTP_PASSWORD, SMTP_USER, SERVER, SENDER, TEST_ADDRESS, APP, MEMBER, "Staging"):
        assert plain not in dump, plain
        assert plain.encode().hex() not in dump, plain  # nor as bytea hex


def test_a_viewer_role_cannot_change_email_settings(store: ScratchDatabase) -> None:
    viewer, password = store.add_role()
    grant_to(store, viewer)
    assert as_role(store)("member", "add", viewer, "--role", "Viewer").returncode == 0
    as_viewer = as_role(store, viewer, password)

    listed = as_viewer("stage", "list")
    assert listed.returncode == 0, listed.stderr
    refused = as_viewer(
        "email", "set", "Development", "--server", SERVER, "--username", "u", "--password-stdin",
        "--sender-email", SENDER, input="pw\n",
    )  # fmt: skip
    assert refused.returncode == 4, refused.stderr
    assert f"You ({viewer}) lack the permission Manage Email Configurations" in refused.stderr
    assert SERVER not in as_role(store)("email", "show", "Development").stdout

    outsider, outsider_password = store.add_role()
    grant_to(store, outsider)
    stranger = as_role(store, outsider, outsider_password)("stage", "add", "Mine")
    assert stranger.returncode == 4, stranger.stderr
    assert f"You ({outsider}) are not a member" in stranger.stderr


def test_a_role_without_grants_is_told_so(store: ScratchDatabase) -> None:
    role, password = store.add_role()
    result = as_role(store, role, password)("stage", "list")
    assert result.returncode == 5, result.stderr
    assert f"the role {role} has no access to mailstage's tables" in result.stderr
    assert "GRANT" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("change", ["password", "port"])
def test_a_wrong_password_or_a_silent_server_is_exit_5_naming_host_and_database(
    store: ScratchDatabase, change: str
) -> None:
    wrong = "N0tThePassw0rd-Tapir"
    port = 1 if change == "port" else store.port
    secret = store.password if change == "port" else wrong
    url = f"postgresql://{store.role}:{secret}@{store.host}:{port}/{store.database}"
    for args in (["stage", "list"], ["stage", "add", "X"], ["init"]):
        result = run_cli("--store", url, *args)
        assert result.returncode == 5, result.stderr
        assert f"the database {store.database} on {store.host}:{port}" in result.stderr
        assert secret not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_database_without_a_store_says_how_to_make_one(
    postgres_database: ScratchDatabase,
) -> None:
    result = as_role(postgres_database)("stage", "list")
    assert result.returncode == 5, result.stderr
    assert "There is no store in the database" in result.stderr
    assert "mailstage --store postgresql://" in result.stderr and "init" in result.stderr
    assert postgres_database.password not in result.stderr


def test_concurrent_adds_from_several_processes_all_land(store: ScratchDatabase) -> None:
    """Each change takes the row lock and re-reads before applying: none is lost."""
    env = {**os.environ, "MAILSTAGE_STORE": store.url}
    from tests.cli_runner import mailstage_command

    processes = [
        subprocess.Popen(
            [*mailstage_command(), "stage", "add", f"Parallel {i}"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    names = {s["name"] for s in json.loads(as_role(store)("stage", "list", "--json").stdout)}
    assert {f"Parallel {i}" for i in range(6)} <= names


def test_a_database_put_back_from_an_older_dump_is_noticed_and_can_be_accepted(
    store: ScratchDatabase,
) -> None:
    """Rollback detection works as for a file: this user saw a newer version."""
    import psycopg

    run = as_role(store)
    with psycopg.connect(store.url, autocommit=True) as connection:
        old = connection.execute("select generation, envelope from mailstage_store").fetchone()
        assert run("stage", "add", "Staging").returncode == 0
        connection.execute(
            "update mailstage_store set generation = %s, envelope = %s", old
        )  # a restored backup
    refused = run("stage", "list")
    assert refused.returncode == 5 and "older than the one you last saw" in refused.stderr
    accepted = run("restore", "--accept-older")
    assert accepted.returncode == 0, accepted.stderr
    assert f"Accepted the store postgresql://{store.role}@" in accepted.stdout
    assert run("stage", "list").returncode == 0


def test_the_email_log_of_a_new_database_store_is_empty(store: ScratchDatabase) -> None:
    result = as_role(store)("log")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "No records."


def test_members_are_database_role_names(store: ScratchDatabase) -> None:
    run = as_role(store)
    long_role = "r" * 63
    assert run("member", "add", long_role, "--role", "Viewer").returncode == 0
    assert run("member", "add", "alice@corp.example", "--role", "Viewer").returncode == 0
    refused = run("member", "add", "r" * 64, "--role", "Viewer")
    assert refused.returncode == 3
    assert "must be a database role name: 1 to 63" in refused.stderr
    names = {m["user"] for m in json.loads(run("member", "list", "--json").stdout)}
    assert {long_role, "alice@corp.example", store.role} <= names
