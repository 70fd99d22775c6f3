"""Captured mail shows on Home when `mailstage sink` starts after the TUI: the real
`mailstage` in tmux, the real sink in a subprocess, a real message sent to it."""

from __future__ import annotations

import shutil
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest

from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.loopback import refused_port as free_port
from tests.tmux import private_tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_captured_mail_appears_when_the_sink_starts_later(tmp_path: Path) -> None:
    locations = Locations(tmp_path / "store.json", tmp_path / "store.key")
    Workspace.init(locations)
    done = tmp_path / "exit-code"
    mailstage = str(Path(sys.executable).with_name("mailstage"))
    port = free_port()
    with private_tmux() as tmux:
        tmux.start_mailstage(locations.store, locations.key_file, done)
        screen = tmux.wait_for("Organization Administrator")  # Home, store open
        assert "Captured mail" not in screen
        sink = subprocess.Popen(
            [mailstage, "sink", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert sink.stdout is not None
            sink.stdout.readline()  # the sink says where it listens once it does
            screen = tmux.wait_for("Captured mail  (c)")
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail("a@example.com", ["late@example.com"], b"Subject: hi\r\n\r\nx")
            tmux.keys("c")
            tmux.wait_for("late@example.com")
        finally:
            sink.terminate()
            sink.wait(timeout=10)
        tmux.keys("Escape")
        tmux.wait_for("Where to?")
        tmux.keys("q")
        assert tmux.exit_code(done) == "0"
