"""The email log of a PostgreSQL store (issue 18): a Send test through a real SMTP server
on loopback writes its record to `mailstage_email_log`, sealed like a line of the file
log; `mailstage log` and `mailstage check` read it; `pg_dump --data-only` shows the
id, time and outcome, never the recipient, subject, body or a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailstage.mailer.maillog import LogRecord, MailLog
from mailstage.store.filestore import StoreFile
from mailstage.store.paths import Locations
from tests.cli_runner import run_cli
from tests.postgres_server import ScratchDatabase, postgres_admin, postgres_database
from tests.test_delivery_cli import PASSWORD, USERNAME, set_basic

__all__ = ["postgres_admin", "postgres_database"]

pytestmark = pytest.mark.postgres

RECIPIENT = "quoll.receiver@potoroo-inbox.example"


@pytest.fixture
def store(
    postgres_database: ScratchDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ScratchDatabase:
    monkeypatch.setenv("MAILSTAGE_STORE", postgres_database.url)
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(tmp_path / "keys" / "store.key"))
    assert run_cli("init").returncode == 0
    return postgres_database


def test_a_send_test_is_logged_in_the_database_as_ciphertext(
    store: ScratchDatabase, smtp_server, certificates
) -> None:
    set_basic(smtp_server.port, ca_file=certificates.ca_file)
    sent = run_cli("email", "send-test", "QA", "--to", RECIPIENT)
    assert sent.returncode == 0, sent.stderr
    assert "email log could not be written" not in sent.stderr
    assert len(smtp_server.messages) == 1

    logged = run_cli("log", "--json")
    assert logged.returncode == 0, logged.stderr
    (record,) = [json.loads(line) for line in logged.stdout.splitlines()]
    assert (record["stage"], record["outcome"], record["source"]) == ("QA", "sent", "send-test")
    assert record["recipients"] == [RECIPIENT]
    assert record["subject"] == "mailstage test from stage QA"
    checked = json.loads(run_cli("check", "--json").stdout)
    assert {"part": "email log", "ok": True, "detail": "1 record(s)"} in checked["parts"]

    dump = store.data_dump()
    assert "COPY public.mailstage_email_log (id, at, state, record)" in dump
    assert "\tsent\t" in dump  # the state is a plain column
    body = smtp_server.messages[0].message.get_body(preferencelist=("plain",)).get_content()
    for plain in (RECIPIENT, "mailstage test from", PASSWORD, USERNAME, body.splitlines()[0]):
        assert plain not in dump, plain
        assert plain.encode().hex() not in dump, plain


def test_follow_sees_records_other_processes_append(store: ScratchDatabase) -> None:
    locations = Locations.resolve(store.url)
    file, _ = StoreFile.open(locations)
    log = MailLog.of_store(file)
    assert "DatabaseMailLog" in repr(log) and store.password not in repr(log)
    log.append(LogRecord("relay", "QA", "Shop", "sent", subject="first", recipients=[RECIPIENT]))
    following = log.follow(interval=0.05)
    writer = subprocess.Popen(  # another process, its own connection
        [
            sys.executable,
            "-c",
            "from mailstage.mailer.maillog import LogRecord, MailLog;"
            "from mailstage.store.filestore import StoreFile;"
            "from mailstage.store.paths import Locations;"
            "f, _ = StoreFile.open(Locations.resolve());"
            "MailLog.of_store(f).append("
            "LogRecord('relay', 'QA', 'Shop', 'deferred', subject='second'))",
        ],
        env=os.environ.copy(),
    )
    assert writer.wait(timeout=60) == 0
    assert next(following).subject == "second"  # the one written before following is not
    assert [r.subject for r in log.read()] == ["first", "second"]
