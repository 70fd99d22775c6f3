"""Past a bound, older audit events move to an encrypted archive beside the store,
readable with `mailstage audit --all`; the store keeps only the newest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from mailstage.store import envelope
from mailstage.store.audit_archive import archive_path
from mailstage.store.models import AuditEvent
from mailstage.store.sections import AUDIT_CHUNK
from mailstage.store.workspace import Workspace
from tests.cli_runner import run_cli
from tests.store_factory import full_workspace, locations

KEEP = 500


def _grow_audit(ws: Workspace, count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(count):
        ws.data.audit.append(
            AuditEvent(
                at=start + timedelta(seconds=i), user="bulk", action="bulk", target=f"event {i}"
            )
        )


def _env(monkeypatch, tmp_path):
    loc = locations(tmp_path)
    monkeypatch.setenv("MAILSTAGE_STORE", str(loc.store))
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(loc.key_file))
    return loc


def test_old_events_move_to_the_archive_and_audit_all_reads_them(tmp_path, monkeypatch):
    ws = full_workspace(tmp_path)
    ws.file.audit_keep = KEEP
    _grow_audit(ws, 2 * AUDIT_CHUNK + 300)
    every = [e.target for e in ws.data.audit]
    ws.add_app("After bulk")  # this save archives
    every.append("After bulk")
    loc = _env(monkeypatch, tmp_path)

    kept = len(ws.data.audit)
    assert KEEP <= kept < KEEP + AUDIT_CHUNK
    assert ws.file.archive.events == len(every) - kept and ws.file.archive.events % AUDIT_CHUNK == 0
    assert archive_path(loc.store).stat().st_mode & 0o777 == 0o600
    raw = archive_path(loc.store).read_bytes()
    assert b"bulk" not in raw and b"event 1" not in raw  # encrypted

    reopened = Workspace.open(loc, user="alice")
    assert [e.target for e in reopened.data.audit] == every[-kept:]
    header = envelope.parse_prefix(loc.store.read_bytes(), loc.store)
    assert len(header.of_kind("audit")) == -(-kept // AUDIT_CHUNK)

    result = run_cli("audit", "--all", "--json")
    assert result.returncode == 0, result.stderr
    assert [e["target"] for e in json.loads(result.stdout)] == list(reversed(every))
    recent = run_cli("audit", "--json")
    assert len(json.loads(recent.stdout)) == 50


def test_a_damaged_archive_is_reported_and_the_store_still_opens(tmp_path, monkeypatch):
    ws = full_workspace(tmp_path)
    ws.file.audit_keep = KEEP
    _grow_audit(ws, AUDIT_CHUNK + KEEP)
    ws.add_app("After bulk")
    loc = _env(monkeypatch, tmp_path)
    path = archive_path(loc.store)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    damaged = run_cli("audit", "--all")
    assert damaged.returncode == 5 and "audit archive" in damaged.stderr
    assert "Traceback" not in damaged.stderr
    assert run_cli("audit").returncode == 0


def test_an_archive_record_from_a_save_that_did_not_finish_is_ignored_then_cut(tmp_path):
    ws = full_workspace(tmp_path)
    ws.file.audit_keep = KEEP
    _grow_audit(ws, AUDIT_CHUNK + KEEP)
    ws.add_app("First")
    loc = locations(tmp_path)
    committed = archive_path(loc.store).read_bytes()
    with archive_path(loc.store).open("ab") as handle:  # as if a save died after this
        handle.write(b"\x00\x00\x00\x40" + bytes(64))
    again = Workspace.open(loc, user="alice")
    assert len(again.file.archived_events()) == AUDIT_CHUNK
    again.file.audit_keep = KEEP
    _grow_audit(again, AUDIT_CHUNK)
    again.add_app("Second")
    assert archive_path(loc.store).read_bytes().startswith(committed)
    assert len(Workspace.open(loc).file.archived_events()) == 2 * AUDIT_CHUNK
