"""The PostgreSQL store's tables, as numbered migrations (issue 18).

`mailstage_schema_version` lists the migrations applied. `mailstage init` applies them
all on an empty database; opening a store made by an older mailstage applies the ones
it lacks (under an advisory lock, in one transaction); a schema newer than this
mailstage knows is refused. Only ciphertext and the bookkeeping around it (ids,
generations, times) is ever stored: no name, address or secret is a plain column.
"""

from __future__ import annotations

from typing import LiteralString

MIGRATIONS: tuple[tuple[LiteralString, ...], ...] = (
    # 1: the store (the same encrypted envelope as a store file, in one row) and the
    # audit archive (its records, one a row)
    (
        """CREATE TABLE mailstage_schema_version (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )""",
        """CREATE TABLE mailstage_store (
            id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
            store_id text NOT NULL,
            generation bigint NOT NULL,
            envelope bytea NOT NULL,
            saved_at timestamptz NOT NULL DEFAULT now()
        )""",
        """CREATE TABLE mailstage_audit_archive (
            chunk integer PRIMARY KEY,
            record bytea NOT NULL
        )""",
    ),
    # 2: the email log, a record a row: sealed as a line of the file log is; only the
    # id, the time and the outcome are plain
    (
        """CREATE TABLE mailstage_email_log (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL,
            state text NOT NULL,
            record bytea NOT NULL
        )""",
    ),
    # 3: ciphertext does not compress: store it out of line as it is, without the
    # server trying (and failing) to compress megabytes on every save
    (
        "ALTER TABLE mailstage_store ALTER COLUMN envelope SET STORAGE EXTERNAL",
        "ALTER TABLE mailstage_audit_archive ALTER COLUMN record SET STORAGE EXTERNAL",
        "ALTER TABLE mailstage_email_log ALTER COLUMN record SET STORAGE EXTERNAL",
    ),
    # 4: the relay's queue (relay/pg_queue.py), an entry a row: sealed as an entry file
    # is (meta and body ciphertext); plain are only the id, the stage's tag (a keyed
    # hash, not its name), the times (seconds since the epoch), the state and the
    # attempt count. A relay leases a row with SELECT ... FOR UPDATE for its attempt.
    (
        """CREATE TABLE mailstage_queue (
            id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{12}$'),
            stage_tag text NOT NULL,
            queued_at double precision NOT NULL,
            next_attempt double precision NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            state text NOT NULL CHECK (state IN ('queued', 'held', 'damaged')),
            meta bytea NOT NULL,
            body bytea NOT NULL
        )""",
        "ALTER TABLE mailstage_queue ALTER COLUMN meta SET STORAGE EXTERNAL, "
        "ALTER COLUMN body SET STORAGE EXTERNAL",
        "CREATE INDEX mailstage_queue_due ON mailstage_queue (stage_tag, next_attempt) "
        "WHERE state = 'queued'",
    ),
)
LATEST = len(MIGRATIONS)
# pg_advisory_xact_lock key: two mailstage processes never migrate at once
MIGRATION_LOCK = 0x6D61696C73746167  # "mailstag"
# What another admin's role needs, run by the tables' owner (the README lists them).
# No DELETE and no DDL on the store: a role can change it only as a save does.
GRANTS: tuple[LiteralString, ...] = (
    "GRANT SELECT, UPDATE ON mailstage_store TO {role}",
    "GRANT SELECT, INSERT, DELETE ON mailstage_audit_archive TO {role}",
    "GRANT SELECT ON mailstage_schema_version TO {role}",
    "GRANT SELECT, INSERT ON mailstage_email_log TO {role}",
    "GRANT USAGE ON SEQUENCE mailstage_email_log_id_seq TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON mailstage_queue TO {role}",
)
