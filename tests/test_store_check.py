"""`mailstage check` reads every part of the store; a part that fails after the key opened
the header is named ("the audit section is damaged; the key is right"), by check and by
the commands that read it, and nothing is changed."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailstage.store import envelope
from mailstage.store.audit_archive import archive_path
from mailstage.store.models import AuditEvent
from mailstage.store.paths import Locations
from mailstage.store.sections import AUDIT_CHUNK
from tests.cli_runner import run_cli
from tests.store_factory import full_workspace, locations


@pytest.fixture
def loc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Locations:
    full_workspace(tmp_path)
    where = locations(tmp_path)
    monkeypatch.setenv("MAILSTAGE_STORE", str(where.store))
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(where.key_file))
    return where


def _flip_in_section(store: Path, kind: str, index: int = 0) -> bytes:
    """Flip one byte inside the ciphertext of a section; the file's bytes before."""
    before = store.read_bytes()
    section = envelope.parse_prefix(before, store).of_kind(kind)[index]
    raw = bytearray(before)
    raw[section.offset + section.length // 2] ^= 0x01
    store.write_bytes(bytes(raw))
    return bytes(raw)


def _parts(result) -> dict[str, dict]:
    return {p["part"]: p for p in json.loads(result.stdout)["parts"]}


def test_a_whole_store_checks_clean_part_by_part(loc: Locations) -> None:
    result = run_cli("check", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    parts = _parts(result)
    assert {"core section", "apps section (1 of 1)", "audit section (1 of 1)"} <= set(parts)
    assert {"audit archive", "email log"} <= set(parts)
    assert all(p["ok"] for p in parts.values())
    assert "2 app(s)" in parts["apps section (1 of 1)"]["detail"]
    text = run_cli("check")
    assert text.returncode == 0 and "DAMAGED" not in text.stdout
    assert "core section" in text.stdout


def test_a_damaged_audit_section_is_named_by_check_and_by_audit(loc: Locations) -> None:
    damaged = _flip_in_section(loc.store, "audit")
    assert run_cli("stage", "list").returncode == 0  # reads the core only

    check = run_cli("check", "--json")
    assert check.returncode == 5
    parts = _parts(check)
    assert parts["audit section (1 of 1)"]["ok"] is False
    assert parts["apps section (1 of 1)"]["ok"] is True and parts["core section"]["ok"]
    assert "audit section (1 of 1)" in check.stderr and "the key is right" in check.stderr

    audit = run_cli("audit")
    assert audit.returncode == 5
    assert (
        "audit section (1 of 1) is damaged" in audit.stderr and "the key is right" in audit.stderr
    )
    assert "key does not match" not in audit.stderr and "Traceback" not in audit.stderr
    assert loc.store.read_bytes() == damaged  # nothing was written back


def test_a_damaged_apps_section_is_named_when_an_app_is_read(loc: Locations) -> None:
    _flip_in_section(loc.store, "apps")
    shown = run_cli("testlist", "show", "Shop", "--stage", "QA")
    assert shown.returncode == 5
    assert "apps section (1 of 1) is damaged" in shown.stderr and "the key is right" in shown.stderr
    check = run_cli("check")
    assert check.returncode == 5
    assert "DAMAGED  apps section (1 of 1)" in check.stdout


def test_a_wrong_key_is_still_the_key_that_does_not_match(loc: Locations, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    other.chmod(0o600)
    result = run_cli("check", env={"MAILSTAGE_KEY_FILE": str(other)})
    assert result.returncode == 5
    assert "the key is right" not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_damaged_email_log_line_is_reported(loc: Locations) -> None:
    log = loc.store.with_name("maillog.jsonl")
    log.write_bytes(b"1:" + b"QUJD" * 20 + b"\n")
    log.chmod(0o600)
    check = run_cli("check", "--json")
    assert check.returncode == 5
    assert _parts(check)["email log"]["ok"] is False
    assert "email log" in check.stderr


def test_a_damaged_audit_archive_is_reported(tmp_path: Path, monkeypatch) -> None:
    ws = full_workspace(tmp_path)
    ws.file.audit_keep = 500
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(AUDIT_CHUNK + 500):
        ws.data.audit.append(
            AuditEvent(at=start + timedelta(seconds=i), user="bulk", action="bulk", target=str(i))
        )
    ws.add_app("After bulk")  # this save archives a chunk
    where = locations(tmp_path)
    monkeypatch.setenv("MAILSTAGE_STORE", str(where.store))
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(where.key_file))
    assert _parts(run_cli("check", "--json"))["audit archive"]["ok"] is True
    path = archive_path(where.store)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    check = run_cli("check", "--json")
    assert check.returncode == 5
    assert _parts(check)["audit archive"]["ok"] is False
