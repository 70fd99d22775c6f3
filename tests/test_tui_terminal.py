"""`mailstage` in a real terminal: tmux at 80x24, keys sent, the screen read back."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from mailstage.store.identity import login_name
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.tmux import private_tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_mailstage_in_tmux(tmp_path: Path) -> None:
    locations = Locations(tmp_path / "store.json", tmp_path / "store.key")
    Workspace.init(locations)  # the real user: the TUI names whoever runs it
    done = tmp_path / "exit-code"
    with private_tmux() as tmux:
        tmux.start_mailstage(locations.store, locations.key_file, done)
        screen = tmux.wait_for("Configure > Emails")
        screen = tmux.wait_for(f"{login_name()} · Organization Administrator")  # once open
        tmux.keys("e")
        screen = tmux.wait_for("not configured")
        assert "Development" in screen and "Production" in screen
        tmux.keys("Enter")
        tmux.wait_for("press e to configure it")
        tmux.keys("F1")
        tmux.wait_for("Keys on this screen")
        tmux.keys("Escape")
        tmux.wait_gone("Keys on this screen")  # Esc then q at once would read as alt+q
        tmux.keys("q")
        assert tmux.exit_code(done) == "0"


def test_demo_cleans_up_when_the_terminal_hangs_up(tmp_path: Path) -> None:
    """An SSH session that drops sends SIGHUP: the demo still removes its store and mail."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    pid_file = tmp_path / "pid"
    mailstage = str(Path(sys.executable).with_name("mailstage"))
    command = f"echo $$ > {pid_file}; exec {mailstage} demo"
    env = {**os.environ, "TERM": "xterm-256color", "TMPDIR": str(temp)}
    with private_tmux() as tmux:
        tmux.start(command, env=env)
        tmux.wait_for("Configure > Emails")
        assert [p.name for p in temp.iterdir() if p.name.startswith("mailstage-demo-")]
        os.kill(int(pid_file.read_text()), signal.SIGHUP)
        deadline = time.monotonic() + 15
        while any(temp.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(temp.iterdir()) == []
