"""Kind 7: every failure is a documented exit code and a sentence (DESIGN section 5), through
the real CLI in a subprocess: never "Unexpected error" (exit 1), never a traceback, and the
store exactly as it was."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.cli_runner import REPO, mailstage_command, run_cli
from tests.hostile_support import remount_read_only, small_file_system


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Unexpected error" not in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip(), "a failure says why"
    return result.stderr


def test_an_over_long_member_name_is_exit_3_and_not_echoed_whole(initialized):
    before = initialized["store"].read_bytes()
    name = "m" * 131_000
    stderr = assert_clean_failure(run_cli("member", "add", name, "--role", "Viewer"), 3)
    assert "Member is too long" in stderr and "256 at most" in stderr
    assert len(stderr) < 400
    assert initialized["store"].read_bytes() == before


@pytest.mark.parametrize("name", ["bob\x1b[2Jx", "bob\nmallory", "bob\u202eevil", "bo\u200bb"])
def test_a_member_name_with_control_or_invisible_characters_is_exit_3(initialized, name):
    before = initialized["store"].read_bytes()
    stderr = assert_clean_failure(run_cli("member", "add", name, "--role", "Viewer"), 3)
    assert "Member must not contain" in stderr
    assert "\x1b" not in stderr and "\u202e" not in stderr
    assert initialized["store"].read_bytes() == before


def test_a_planted_lock_file_symlink_is_exit_5_and_not_followed(initialized, tmp_path):
    before = initialized["store"].read_bytes()
    lock = initialized["store"].with_name("store.json.lock")
    lock.unlink(missing_ok=True)
    target = tmp_path / "victim"
    lock.symlink_to(target)
    stderr = assert_clean_failure(run_cli("app", "add", "Shop"), 5)
    assert "symbolic link" in stderr and str(lock) in stderr
    assert not target.exists()
    assert initialized["store"].read_bytes() == before
    lock.unlink()
    assert run_cli("app", "add", "Shop").returncode == 0  # removing it, as told, fixes it


def test_a_deeply_nested_header_is_exit_5(initialized):
    store = initialized["store"]
    raw = store.read_bytes()
    nested = b"[" * 200_000 + b"]" * 200_000
    tampered = raw.replace(b'"wraps":[', b'"wraps":[' + nested + b",", 1)
    store.write_bytes(tampered)
    stderr = assert_clean_failure(run_cli("app", "list"), 5)
    assert "changed outside mailstage" in stderr
    assert store.read_bytes() == tampered


@pytest.mark.parametrize("size", [0, 16, 31, 33, 4096])
def test_a_key_file_of_the_wrong_size_says_so(initialized, size):
    key = initialized["key"]
    key.write_bytes(os.urandom(size))
    stderr = assert_clean_failure(run_cli("app", "list"), 5)
    assert f"holds {size} bytes" in stderr and "exactly 32" in stderr
    assert "damaged" not in stderr


def test_a_missing_key_file_says_so_and_not_damaged(initialized):
    initialized["key"].unlink()
    stderr = assert_clean_failure(run_cli("app", "list"), 5)
    assert f"key file {initialized['key']} does not exist" in stderr
    assert "damaged" not in stderr and "changed outside" not in stderr


def test_a_wrong_passphrase_says_so_and_not_damaged(store_env, monkeypatch):
    monkeypatch.setenv("MAILSTAGE_PASSPHRASE", "the right one, long enough")
    assert run_cli("init", "--passphrase").returncode == 0
    wrong = run_cli("app", "list", env={"MAILSTAGE_PASSPHRASE": "a wrong one"})
    stderr = assert_clean_failure(wrong, 5)
    assert "the passphrase does not match" in stderr
    assert "damaged" not in stderr


def test_a_closed_pipe_ends_quietly(initialized):
    """`mailstage audit | head`: the reader went away before anything was written."""
    for _ in range(3):
        run_cli("app", "add", f"App{_}")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is already gone: every write gets EPIPE
    try:
        result = subprocess.run(
            [*mailstage_command(), "audit", "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=REPO,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 0
    assert result.stderr == ""


def test_a_full_disk_is_exit_5_and_the_store_is_the_last_good_one(tmp_path):
    with small_file_system(tmp_path / "small", 96) as folder:
        env = {
            "MAILSTAGE_STORE": str(folder / "data" / "store.json"),
            "MAILSTAGE_KEY_FILE": str(folder / "conf" / "store.key"),
        }
        assert run_cli("init", env=env).returncode == 0
        result = None
        for number in range(200):
            result = run_cli("app", "add", f"App {number:03d} " + "x" * 180, env=env)
            if result.returncode != 0:
                break
        assert result is not None and result.returncode != 0, "the disk never filled"
        stderr = assert_clean_failure(result, 5)
        assert "the disk is full" in stderr
        workspace = Workspace.open(
            Locations(Path(env["MAILSTAGE_STORE"]), Path(env["MAILSTAGE_KEY_FILE"]))
        )
        assert len(workspace.data.apps) == number  # every app before the failure, no more
        leftovers = [p.name for p in (folder / "data").iterdir() if p.name.endswith(".tmp")]
        assert leftovers == []


def test_a_read_only_file_system_is_exit_5(tmp_path):
    with small_file_system(tmp_path / "ro", 512) as folder:
        env = {
            "MAILSTAGE_STORE": str(folder / "data" / "store.json"),
            "MAILSTAGE_KEY_FILE": str(folder / "conf" / "store.key"),
        }
        assert run_cli("init", env=env).returncode == 0
        before = (folder / "data" / "store.json").read_bytes()
        remount_read_only(folder)
        stderr = assert_clean_failure(run_cli("app", "add", "Shop", env=env), 5)
        assert "read-only" in stderr
        assert (folder / "data" / "store.json").read_bytes() == before
        assert run_cli("app", "list", env=env).returncode == 0  # reading still works
        other = {**env, "MAILSTAGE_STORE": str(folder / "new" / "store.json")}
        stderr = assert_clean_failure(run_cli("init", env=other), 5)
        assert "read-only" in stderr


# -- the TUI: the same faults give a dialog; a crash exits non-zero without the store --------

TUI_SIZE = (80, 24)


async def _add_member_in_the_tui(tmp_path: Path, user: str) -> tuple[str, bool]:
    """Paste a member into the Members modal and press F2: (what the screen shows outside
    the typed field, app still running)."""
    from mailstage.screens.members import MemberModal, MembersScreen
    from tests.test_tui_apps_support import HarnessApp, reopen, screen_text, settle

    app = HarnessApp(reopen(tmp_path), lambda: MembersScreen())
    async with app.run_test(size=TUI_SIZE) as pilot:
        await settle(pilot, MembersScreen)
        await pilot.press("n")
        await settle(pilot, MemberModal)
        app.screen.query_one("#member-user").value = user  # a paste
        await pilot.press("enter", "enter")  # to the role Select, open it
        await pilot.pause()
        await pilot.press("down", "enter", "f2")
        await pilot.pause()
        await pilot.pause()
        if app.screen.query("#member-user"):
            app.screen.query_one("#member-user").value = "(typed)"
            await pilot.pause()
        return screen_text(app), app.is_running


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("m" * 5000, "256 at most"),
        ("bob\x1b]0;pwned\x07", "must not contain control characters"),
        ("bo\u200db", "invisible or direction-changing"),
    ],
)
async def test_the_tui_names_a_bad_member_name_inline(tmp_path, user, expected):
    from tests.test_tui_apps_support import make_store

    make_store(tmp_path)
    before = (tmp_path / "store.json").read_bytes()
    text, running = await _add_member_in_the_tui(tmp_path, user)
    assert running
    assert expected in " ".join(text.split())
    assert "\x1b" not in text
    assert (tmp_path / "store.json").read_bytes() == before


async def test_the_tui_shows_a_planted_lock_symlink_in_a_dialog(tmp_path):
    from tests.test_tui_apps_support import make_store

    make_store(tmp_path)
    before = (tmp_path / "store.json").read_bytes()
    lock = tmp_path / "store.json.lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(tmp_path / "victim")
    text, running = await _add_member_in_the_tui(tmp_path, "dave")
    assert running
    flat = " ".join(text.split())
    assert "symbolic link" in flat and "Unexpected" not in flat
    assert not (tmp_path / "victim").exists()
    assert (tmp_path / "store.json").read_bytes() == before


async def test_the_tui_shows_a_read_only_file_system_in_a_dialog(tmp_path):
    from tests.test_tui_apps_support import make_store

    with small_file_system(tmp_path / "ro", 512) as folder:
        make_store(folder)
        before = (folder / "store.json").read_bytes()
        remount_read_only(folder)
        text, running = await _add_member_in_the_tui(folder, "dave")
        assert running
        flat = " ".join(text.split())
        assert "read-only" in flat and "Unexpected" not in flat
        assert (folder / "store.json").read_bytes() == before


CRASH_IN_HOME = """
import sys
from mailstage.screens import home

def on_key(self, event):  # a key press once the store is open
    workspace = self.app.workspace  # the store in a local, as in any screen method
    data = workspace.data
    raise RuntimeError("injected fault " + data.apps[0].name)

home.HomeScreen.on_key = on_key
from mailstage.cli.main import main
sys.exit(main())
"""


def _plain(output: bytes) -> str:
    import re

    text = re.sub(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[]P^_].*?(\x07|\x1b\\)|\x1b.", b"", output)
    return " ".join(text.decode("utf-8", "replace").split())


@pytest.mark.parametrize("debug", ["", "1"])
def test_a_tui_crash_exits_non_zero_without_printing_the_store(initialized, debug):
    import sys

    from tests.hostile_support import Terminal

    for address in ("secret-tester@example.com", "second-tester@example.com"):
        assert run_cli("app", "add", "Confidential Shop").returncode in (0, 3)
        run_cli("testlist", "add", "Confidential Shop", "--stage", "QA", address)
    terminal = Terminal(
        command=[sys.executable, "-c", CRASH_IN_HOME],
        env={"MAILSTAGE_DEBUG": debug, "TERM": "xterm-256color"},
    )
    terminal.read_until(b"1 app")  # Home shows the opened store
    terminal.type("x")
    code = terminal.finish()
    shown = _plain(terminal.seen)
    assert code == 1, shown
    assert "mailstage stopped on an unexpected error (RuntimeError" in shown
    assert "tester@example.com" not in shown and "example.com" not in shown
    if debug:  # the traceback, without local variables (the message is the user's choice)
        assert "Traceback" in shown and "on_key" in shown
    else:  # not the locals, not the message either: it may quote a stored value
        assert "Confidential" not in shown


@pytest.mark.parametrize("fault", ["key of 16 bytes", "nested header"])
def test_the_tui_on_an_unreadable_store_exits_5_with_the_sentence(initialized, fault):
    from tests.hostile_support import Terminal

    store, key = initialized["store"], initialized["key"]
    if fault == "key of 16 bytes":
        key.write_bytes(os.urandom(16))
        expected = "holds 16 bytes"
    else:
        raw = store.read_bytes()
        store.write_bytes(raw.replace(b'"wraps":[', b'"wraps":[' + b"[" * 100_000, 1))
        expected = "changed outside mailstage"
    terminal = Terminal(env={"TERM": "xterm-256color"})
    code = terminal.finish()
    shown = _plain(terminal.seen)
    assert code == 5, shown[-500:]
    assert expected in shown
    assert "Traceback" not in shown and "Unexpected" not in shown


async def test_the_tui_shows_a_full_disk_in_a_dialog(tmp_path):
    from tests.test_tui_apps_support import make_store

    with small_file_system(tmp_path / "full", 512) as folder:
        make_store(folder)
        before = (folder / "store.json").read_bytes()
        filler = folder / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:  # take every free block
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        text, running = await _add_member_in_the_tui(folder, "dave")
        assert running
        flat = " ".join(text.split())
        assert "the disk is full" in flat and "Unexpected" not in flat
        assert (folder / "store.json").read_bytes() == before
        assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []
