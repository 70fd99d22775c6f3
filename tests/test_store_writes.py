"""The write path under faults and under two processes saving at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from cryptography.hazmat.primitives.ciphers import aead

from mailstage.store import file_backend, filestore, paths
from mailstage.store.errors import Conflict
from mailstage.store.workspace import Workspace
from tests.cli_runner import REPO
from tests.store_factory import full_workspace, locations

# A process that loads the store, says so, waits for "go" on stdin, then adds an app
# and saves (no lock held while waiting: an admin editing in the TUI).
RACER = textwrap.dedent(
    """
    import sys
    from mailstage.store.errors import MailstageError
    from mailstage.store.paths import Locations
    from mailstage.store.workspace import Workspace
    ws = Workspace.open(Locations.resolve(sys.argv[1], sys.argv[2]), user="alice")
    print("loaded", ws.file.generation, flush=True)
    sys.stdin.readline()
    try:
        ws.add_app(sys.argv[3])
    except MailstageError as exc:
        print(exc, file=sys.stderr)
        sys.exit(exc.exit_code)
    """
)


def test_two_processes_from_the_same_generation_one_wins_one_conflicts(tmp_path):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(loc.store), str(loc.key_file), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for name in ("First", "Second")
    ]
    generations = {r.stdout.readline().split()[1] for r in racers}
    assert len(generations) == 1  # both loaded the same generation
    racers[0].stdin.write("go\n")
    racers[0].stdin.flush()
    assert racers[0].wait(timeout=30) == 0
    racers[1].stdin.write("go\n")
    racers[1].stdin.flush()
    assert racers[1].wait(timeout=30) == 6
    assert "Another admin saved" in racers[1].stderr.read()
    for r in racers:
        r.stdin.close()
        r.stdout.close()
        r.stderr.close()
    names = {a.name for a in Workspace.open(loc).data.apps}
    assert "First" in names and "Second" not in names


def _fail(*_args, **_kwargs):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize(
    ("target", "name"),
    [
        (aead.AESGCM, "encrypt"),
        (paths.os, "write"),
        (paths.os, "fsync"),
        (filestore.os, "link"),
        (filestore.os, "replace"),
    ],
)
def test_a_fault_at_any_step_leaves_the_previous_file_and_no_temp(
    tmp_path, monkeypatch, target, name
):
    ws = full_workspace(tmp_path)
    loc = locations(tmp_path)
    before = loc.store.read_bytes()
    listing = sorted(p.name for p in loc.store.parent.iterdir())
    generation = ws.file.generation
    audit_len = len(ws.data.audit)
    monkeypatch.setattr(target, name, _fail)
    with pytest.raises(Exception) as info:
        ws.add_app("Doomed")
    monkeypatch.undo()
    assert "Traceback" not in str(info.value)
    assert loc.store.read_bytes() == before
    assert ws.data.app("Doomed") is None
    assert len(ws.data.audit) == audit_len
    assert ws.file.generation == generation
    assert sorted(p.name for p in loc.store.parent.iterdir()) == listing
    assert Workspace.open(loc).data.app("Shop") is not None


def test_a_folder_that_cannot_be_fsynced_does_not_fail_a_committed_save(tmp_path, monkeypatch):
    ws = full_workspace(tmp_path)
    monkeypatch.setattr(file_backend, "fsync_dir", _fail)
    ws.add_app("Durable")
    monkeypatch.undo()
    assert Workspace.open(locations(tmp_path)).data.app("Durable") is not None


def test_a_killed_writers_temp_file_is_cleaned_by_the_next_save(tmp_path):
    ws = full_workspace(tmp_path)
    loc = locations(tmp_path)
    stale = loc.store.parent / ".store.json.999.deadbeef.tmp"
    stale.write_bytes(b"half written")
    ws.add_app("Next")
    assert not stale.exists()


def test_the_backup_holds_the_previous_generation(tmp_path):
    ws = full_workspace(tmp_path)
    loc = locations(tmp_path)
    previous = loc.store.read_bytes()
    ws.add_app("Later")
    assert loc.backup.read_bytes() == previous


def test_cli_changes_take_the_lock_and_never_conflict(initialized):
    from tests.cli_runner import run_cli

    ws = Workspace.open(locations(initialized["store"].parent.parent))
    assert run_cli("app", "add", "ViaCli").returncode == 0
    with pytest.raises(Conflict):
        ws.add_app("Stale")
    # a CLI change made while the TUI holds an older generation still lands
    assert run_cli("app", "add", "AlsoViaCli").returncode == 0


def test_lock_timeout_is_exit_6(initialized, monkeypatch):
    from filelock import FileLock

    from tests.cli_runner import run_cli

    lock = FileLock(str(initialized["store"]) + ".lock")
    with lock:
        result = run_cli("app", "add", "Blocked", env={"MAILSTAGE_LOCK_TIMEOUT": "0.2"})
    assert result.returncode == 6
    assert "did not finish" in result.stderr
