"""A real terminal for tests: tmux on a private server, never the user's own.

`tmux new-session` on a running server ignores the caller's environment, and people run
the suite from inside tmux: every test gets its own socket (`-L`), no config (`-f
/dev/null`), and the server is killed at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OUTER_TMUX = {"TMUX", "TMUX_PANE"}


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.session = "mailstage"

    def _run(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
        # an outer tmux's variables (we may be running inside one) never reach our server
        clean = {k: v for k, v in (env or os.environ).items() if k not in OUTER_TMUX}
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=check,
            env=clean,
        ).stdout

    def start(
        self, command: str, *, env: dict[str, str], width: int = 80, height: int = 24
    ) -> None:
        size = ["-x", str(width), "-y", str(height)]
        self._run("new-session", "-d", "-s", self.session, *size, command, env=env)

    def start_mailstage(self, store: Path, key_file: Path, exit_file: Path) -> None:
        """The real `mailstage` on that store; its exit code is written to ``exit_file``."""
        mailstage = Path(sys.executable).with_name("mailstage")
        command = f"{mailstage} --store {store} --key-file {key_file}; echo $? > {exit_file}"
        self.start(command, env={**os.environ, "TERM": "xterm-256color"})

    @staticmethod
    def exit_code(exit_file: Path, timeout: float = 15.0) -> str:
        """What `start_mailstage` wrote once the app ended ('' if it never did)."""
        deadline = time.monotonic() + timeout
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return exit_file.read_text().strip() if exit_file.exists() else ""

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", self.session, *keys)

    def screen(self, *, escapes: bool = False) -> str:
        """The pane's text; with ``escapes``, its colours and attributes as SGR codes."""
        extra = ["-e"] if escapes else []
        return self._run("capture-pane", "-t", self.session, "-p", *extra, check=False)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """Poll the pane until the text shows (a real terminal has no message to wait on)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never showed; the screen was:\n{screen}")

    def wait_gone(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text not in self.screen():
                return
            time.sleep(0.1)
        raise AssertionError(f"{text!r} is still on screen")

    def kill(self) -> None:
        self._run("kill-server", check=False)


@contextmanager
def private_tmux() -> Iterator[Tmux]:
    tmux = Tmux(f"mailstage-test-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield tmux
    finally:
        tmux.kill()
