"""The encrypted file on disk: round trip, fresh nonces, tamper and truncation, keys, modes."""

from __future__ import annotations

import os
import stat

import pytest

from mailstage.store import envelope
from mailstage.store.errors import Conflict, NotInitialized, StoreUnreadable, UnsafeFile
from mailstage.store.filestore import StoreFile
from mailstage.store.workspace import Workspace, describe_event
from tests.cli_runner import run_cli
from tests.store_factory import CLIENT_SECRET, PASSWORD, full_workspace, locations
from tests.store_versions import as_version, header_end, version_digit_at

UNREADABLE = "the key does not match, or the file is damaged or was changed outside mailstage"


def test_round_trip_of_a_full_organization(tmp_path):
    ws = full_workspace(tmp_path)
    again = Workspace.open(locations(tmp_path), user="alice")
    assert again.data == ws.data
    assert again.data.stage("QA").email.auth.password.get_secret_value() == PASSWORD
    prod = again.data.stage("Production").email.auth
    assert prod.client_secret.get_secret_value() == CLIENT_SECRET
    assert again.data.app("shop").test_list("QA").active is True
    assert again.file.generation == ws.file.generation


def test_every_save_uses_a_fresh_nonce_and_bumps_the_generation(tmp_path):
    ws = full_workspace(tmp_path)
    path = locations(tmp_path).store
    seen = set()
    for i in range(5):
        ws.add_app(f"App{i}")
        header = envelope.parse_prefix(path.read_bytes(), path)
        assert header.generation == ws.file.generation
        seen.add(header.sections[0].nonce)
    assert len(seen) == 5


def test_no_secret_or_address_in_clear_on_disk(tmp_path):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    for path in (loc.store, loc.backup):
        raw = path.read_bytes()
        for clear in (PASSWORD, CLIENT_SECRET, "tester1@example.com", "relay@example.com"):
            assert clear.encode() not in raw


def test_files_and_folders_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        full_workspace(tmp_path)
    finally:
        os.umask(old)
    loc = locations(tmp_path)
    for path in (loc.store, loc.backup, loc.key_file, loc.lock):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (loc.store.parent, loc.key_file.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def _expect_unreadable(loc, raw):
    with pytest.raises(StoreUnreadable) as info:
        StoreFile.open(loc)
    assert loc.store.read_bytes() == raw
    return str(info.value)


@pytest.mark.parametrize("version", [1, 2])
def test_flipping_any_byte_is_refused_without_naming_the_byte(tmp_path, version):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    original = as_version(loc, version)
    version_at = version_digit_at(original)
    messages = set()
    for pos in range(len(original)):
        for flip in (0x01, 0x80):
            if pos == version_at and flip == 0x01:
                continue  # '1' -> '0', '2' -> '3': reported by name, checked below
            tampered = bytearray(original)
            tampered[pos] ^= flip
            loc.store.write_bytes(bytes(tampered))
            messages.add(_expect_unreadable(loc, bytes(tampered)))
    # a flipped key wrap reads as "the key file does not match"; both say the file may
    # have been changed outside mailstage, and neither names a byte. A byte in a section
    # other than the core names that section (the key opened the header): no byte either
    assert envelope.unreadable(loc.store).message in messages
    named = {m for m in messages if "section (" in m}
    assert all("; the key is right" in m for m in named)
    assert len(messages - named) <= 2
    assert all("changed outside mailstage" in m and "left as it is" in m for m in messages)


@pytest.mark.parametrize("version", [1, 2])
def test_truncation_at_any_length_is_refused(tmp_path, version):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    original = as_version(loc, version)
    for length in range(len(original)):
        loc.store.write_bytes(original[:length])
        assert UNREADABLE in _expect_unreadable(loc, original[:length])


@pytest.mark.parametrize("version", [1, 2])
def test_tamper_and_truncation_through_the_cli_exit_5_and_leave_the_file(
    tmp_path, monkeypatch, version
):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    monkeypatch.setenv("MAILSTAGE_STORE", str(loc.store))
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(loc.key_file))
    original = as_version(loc, version)
    end = header_end(original)
    positions = [0, 5, 30, end - 3, end + 12, len(original) // 2, len(original) - 2]
    cases = [bytes(b ^ 0x04 if i == p else b for i, b in enumerate(original)) for p in positions]
    cases += [original[:n] for n in (0, 1, end, len(original) - 1)]
    outputs = set()
    for damaged in cases:
        loc.store.write_bytes(damaged)
        result = run_cli("member", "list")  # reads every section
        assert result.returncode == 5, result.stderr
        assert "Traceback" not in result.stderr
        outputs.add(result.stderr)
        assert loc.store.read_bytes() == damaged
    assert any(UNREADABLE in out for out in outputs)
    assert all("changed outside mailstage" in out for out in outputs)


@pytest.mark.parametrize("version", [1, 2])
def test_unknown_version_is_refused_by_name(tmp_path, version):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    raw = as_version(loc, version)
    raw = raw.replace(f'"version":{version}'.encode(), b'"version":7', 1)
    loc.store.write_bytes(raw)
    message = _expect_unreadable(loc, raw)
    assert "format version 7" in message and "reads only versions 1 and 2" in message


def test_wrong_key_file_is_refused_saying_it_does_not_match(tmp_path):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    loc.key_file.chmod(0o600)
    loc.key_file.write_bytes(os.urandom(32))
    raw = loc.store.read_bytes()
    message = _expect_unreadable(loc, raw)
    assert f"the key file {loc.key_file} does not match it" in message


def test_passphrase_store_right_and_wrong(tmp_path):
    full_workspace(tmp_path, passphrase="correct horse battery staple")
    loc = locations(tmp_path)
    assert not loc.key_file.exists()
    file, data = StoreFile.open(loc, passphrase="correct horse battery staple")
    assert data.app("Shop") is not None
    raw = loc.store.read_bytes()
    with pytest.raises(StoreUnreadable, match="the passphrase does not match"):
        StoreFile.open(loc, passphrase="wrong horse")
    with pytest.raises(StoreUnreadable):
        StoreFile.open(loc)  # no key file can open a passphrase-only store
    assert loc.store.read_bytes() == raw


def test_passphrase_through_the_cli(store_env, monkeypatch):
    monkeypatch.setenv("MAILSTAGE_PASSPHRASE", "s3cure pass phrase")
    assert run_cli("init", "--passphrase").returncode == 0
    assert run_cli("app", "add", "Shop").returncode == 0
    wrong = run_cli("app", "list", env={"MAILSTAGE_PASSPHRASE": "nope"})
    assert wrong.returncode == 5 and "the passphrase does not match" in wrong.stderr
    monkeypatch.delenv("MAILSTAGE_PASSPHRASE")
    no_tty = run_cli("app", "list")
    assert no_tty.returncode == 5 and "MAILSTAGE_PASSPHRASE" in no_tty.stderr


def test_kdf_parameters_above_the_cap_are_refused(tmp_path):
    full_workspace(tmp_path, passphrase="pp")
    loc = locations(tmp_path)
    original = loc.store.read_bytes()
    header = envelope.parse_prefix(original, loc.store)
    wraps = [dict(header.wraps[0], n=2**30)]
    prefix = envelope.build_prefix(header.generation, wraps, header.extra, header.sections)
    loc.store.write_bytes(prefix + original[len(header.prefix) :])
    with pytest.raises(StoreUnreadable):
        StoreFile.open(loc, passphrase="pp")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_readable_key_file_is_refused_with_the_fix(tmp_path, mode):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    loc.key_file.chmod(mode)
    with pytest.raises(UnsafeFile) as info:
        StoreFile.open(loc)
    assert f"chmod 600 {loc.key_file}" in str(info.value)


def test_readable_store_is_refused_through_the_cli(initialized):
    initialized["store"].chmod(0o644)
    result = run_cli("stage", "list")
    assert result.returncode == 5
    assert "chmod 600" in result.stderr and "other users" in result.stderr


def test_symlinked_store_is_refused(tmp_path):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    real = loc.store.with_name("real.json")
    loc.store.rename(real)
    loc.store.symlink_to(real)
    with pytest.raises(UnsafeFile, match="symbolic link"):
        StoreFile.open(loc)


def test_missing_store_says_how_to_create_one(store_env):
    result = run_cli("stage", "list")
    assert result.returncode == 5
    assert "mailstage init" in result.stderr
    with pytest.raises(NotInitialized):
        StoreFile.open(locations(store_env["store"].parent.parent))


def test_stale_save_is_a_conflict_and_never_overwrites(tmp_path):
    ws = full_workspace(tmp_path)
    loc = locations(tmp_path)
    other = Workspace.open(loc, user="alice")
    other.add_app("FromOther")
    saved = loc.store.read_bytes()
    with pytest.raises(Conflict) as info:
        ws.add_app("FromMe")
    assert "Another admin saved" in str(info.value)
    assert info.value.changes == [describe_event(other.data.audit[-1])]
    assert "alice added the app FromOther" in info.value.changes[0]
    assert loc.store.read_bytes() == saved
    assert ws.data.app("FromMe") is None  # the in-memory change was undone too
    ws.reload()
    ws.add_app("FromMe")
    names = {a.name for a in Workspace.open(loc).data.apps}
    assert {"FromOther", "FromMe"} <= names
