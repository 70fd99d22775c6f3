"""`mailstage` in a real terminal: tmux at 80x24, keys sent, the screen read back."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store.paths import Locations
from store.workspace import Workspace

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _wait_for(session: str, text: str, timeout: float = 20.0) -> str:
    """Poll the pane until the text shows (a real terminal has no message to wait on)."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = subprocess.run(
            ["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True
        ).stdout
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never showed; the screen was:\n{screen}")


def _wait_gone(session: str, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = subprocess.run(
            ["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True
        ).stdout
        if text not in screen:
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} is still on screen")


def test_mailstage_in_tmux(tmp_path: Path) -> None:
    locations = Locations(tmp_path / "store.json", tmp_path / "store.key")
    Workspace.init(locations, user="alice")
    session = f"mailstage-test-{os.getpid()}"
    done = tmp_path / "exit-code"
    mailstage = str(Path(sys.executable).with_name("mailstage"))
    command = (
        f"{mailstage} --store {locations.store} --key-file {locations.key_file}; echo $? > {done}"
    )
    env = {**os.environ, "TERM": "xterm-256color"}
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command],
        check=True,
        env=env,
    )
    try:
        screen = _wait_for(session, "Configure > Emails")
        assert "alice · Organization Administrator" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "e"], check=True)
        screen = _wait_for(session, "not configured")
        assert "Development" in screen and "Production" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        _wait_for(session, "press e to configure it")
        subprocess.run(["tmux", "send-keys", "-t", session, "F1"], check=True)
        _wait_for(session, "Keys on this screen")
        subprocess.run(["tmux", "send-keys", "-t", session, "Escape"], check=True)
        _wait_gone(session, "Keys on this screen")  # Esc then q at once would read as alt+q
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 15
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert done.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_demo_cleans_up_when_the_terminal_hangs_up(tmp_path: Path) -> None:
    """An SSH session that drops sends SIGHUP: the demo still removes its store and mail."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    session = f"mailstage-demo-{os.getpid()}"
    pid_file = tmp_path / "pid"
    mailstage = str(Path(sys.executable).with_name("mailstage"))
    command = f"echo $$ > {pid_file}; exec {mailstage} demo"
    env = {**os.environ, "TERM": "xterm-256color", "TMPDIR": str(temp)}
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command],
        check=True,
        env=env,
    )
    try:
        _wait_for(session, "Configure > Emails")
        assert [p.name for p in temp.iterdir() if p.name.startswith("mailstage-demo-")]
        os.kill(int(pid_file.read_text()), signal.SIGHUP)
        deadline = time.monotonic() + 15
        while any(temp.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(temp.iterdir()) == []
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
