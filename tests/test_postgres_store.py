"""The PostgreSQL backend (store/pg_backend.py) against the real server: a save is a
compare-and-set on the generation (a stale one is a conflict, exit 6, the row
untouched), the audit archive lives in its own rows, a schema newer than this mailstage
is refused, and the row's generation and store id match the envelope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from mailstage.store import pg_schema
from mailstage.store.backend import Stamp, backend_for
from mailstage.store.errors import Conflict, StoreUnreadable
from mailstage.store.filestore import StoreFile
from mailstage.store.models import AuditEvent
from mailstage.store.paths import Locations
from mailstage.store.sections import AUDIT_CHUNK
from mailstage.store.sharing import PRIVATE
from mailstage.store.workspace import Workspace
from tests.postgres_server import ScratchDatabase, postgres_admin, postgres_database

__all__ = ["postgres_admin", "postgres_database"]

pytestmark = pytest.mark.postgres


@pytest.fixture
def where(postgres_database: ScratchDatabase, tmp_path) -> Locations:
    locations = Locations.resolve(postgres_database.url, tmp_path / "store.key")
    Workspace.init(locations)
    return locations


def row(db: ScratchDatabase) -> tuple[object, ...] | None:
    with psycopg.connect(db.url) as connection:
        return connection.execute(
            "select generation, store_id, length(envelope) from mailstage_store"
        ).fetchone()


def test_the_row_carries_the_generation_and_store_id_of_the_envelope(
    where: Locations, postgres_database: ScratchDatabase
) -> None:
    workspace = Workspace.open(where)
    assert workspace.user == postgres_database.role  # identity: the database role
    workspace.add_stage("Staging")
    generation, store_id, _ = row(postgres_database)  # type: ignore[misc]
    assert generation == workspace.file.generation == 1
    assert store_id == workspace.file.store_id


def test_a_stale_save_is_a_conflict_and_leaves_the_row(
    where: Locations, postgres_database: ScratchDatabase
) -> None:
    first, data_first = StoreFile.open(where)
    second, data_second = StoreFile.open(where)
    data_second.stages[0].order = 7
    second.save(data_second)
    before = row(postgres_database)
    with pytest.raises(Conflict) as conflict:
        first.save(data_first)
    assert conflict.value.exit_code == 6
    assert row(postgres_database) == before
    # the database's own guard: a write that skipped the generation check still loses
    backend = backend_for(where)
    with pytest.raises(Conflict), backend.locked():
        backend.write([b"not a store"], PRIVATE, Stamp(9, 0, "x"))
    assert row(postgres_database) == before


def test_old_audit_events_move_to_archive_rows_and_read_back(
    where: Locations, postgres_database: ScratchDatabase
) -> None:
    workspace = Workspace.open(where)
    workspace.file.audit_keep = 100
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(AUDIT_CHUNK + 150):
        workspace.data.audit.append(
            AuditEvent(at=start + timedelta(seconds=i), user="bulk", action="bulk", target=f"e{i}")
        )
    workspace.add_app("After bulk")  # this save archives
    assert workspace.file.archive.chunks == 1
    with psycopg.connect(postgres_database.url) as connection:
        records = connection.execute("select chunk, record from mailstage_audit_archive").fetchall()
    assert [chunk for chunk, _ in records] == [0]
    assert b"bulk" not in bytes(records[0][1])  # ciphertext
    again = Workspace.open(where)
    archived = again.file.archived_events()
    assert len(archived) == AUDIT_CHUNK
    assert [e.target for e in archived][:3] == ["store", "e0", "e1"]  # init's event first


def test_a_schema_from_a_newer_mailstage_is_refused(
    where: Locations, postgres_database: ScratchDatabase, tmp_path
) -> None:
    with psycopg.connect(postgres_database.url, autocommit=True) as connection:
        connection.execute("insert into mailstage_schema_version (version) values (99)")
    fresh = Locations.resolve(postgres_database.url + "?application_name=x", tmp_path / "store.key")
    with pytest.raises(StoreUnreadable) as refused:
        Workspace.open(fresh)
    assert "made by a newer mailstage (schema version 99" in refused.value.message


def test_a_store_made_at_schema_version_1_gains_the_email_log_and_queue_on_first_use(
    where: Locations, postgres_database: ScratchDatabase, tmp_path
) -> None:
    with psycopg.connect(postgres_database.url, autocommit=True) as connection:
        connection.execute("drop table mailstage_email_log")
        connection.execute("drop table mailstage_queue")
        connection.execute("delete from mailstage_schema_version where version > 1")
    fresh = Locations.resolve(postgres_database.url + "?application_name=y", tmp_path / "store.key")
    Workspace.open(fresh).add_stage("Staging")
    with psycopg.connect(postgres_database.url) as connection:
        versions = connection.execute("select version from mailstage_schema_version").fetchall()
        logged = connection.execute("select count(*) from mailstage_email_log").fetchone()
        queued = connection.execute("select count(*) from mailstage_queue").fetchone()
    assert versions == [(n,) for n in range(1, pg_schema.LATEST + 1)]
    assert logged == queued == (0,)


def test_a_one_shot_read_fetches_sections_by_range_from_the_generation_it_opened(
    where: Locations,
) -> None:
    from mailstage.store.models import App, TestList
    from mailstage.store.reader import FIRST_READ, open_store

    workspace = Workspace.open(where)
    for i in range(40):  # well past the first read: the last apps section is fetched later
        addresses = [f"tester{j}@app{i}.example.com" for j in range(100)]
        lists = {"QA": TestList.model_construct(addresses=addresses, active=True)}
        workspace.data.apps.append(App.model_construct(name=f"App {i}", test_lists=lists))
    workspace.file.save(workspace.data)

    with open_store(where) as opened:
        assert opened.raw.size > FIRST_READ == len(opened.raw.head)
        found = opened.find_app("App 39")
        assert found is not None and found["test_lists"]["QA"]["addresses"][0].startswith("tester0")
    with open_store(where) as opened:
        Workspace.open(where).add_stage("Staging")  # another admin saves meanwhile
        with pytest.raises(Conflict) as moved:
            opened.find_app("App 39")
    assert moved.value.exit_code == 6 and "while this command read it" in moved.value.message
