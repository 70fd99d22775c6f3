"""Helpers for the hostile-input tests: a real terminal (pty) and small file systems."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import subprocess
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runner import REPO, mailstage_command


class Terminal:
    """The real `mailstage` on a pseudo-terminal that is its controlling terminal, as a
    user at a keyboard runs it: /dev/tty is the pty, so getpass reads from it."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        size: tuple[int, int] = (80, 24),
    ) -> None:
        self.master, slave = os.openpty()
        columns, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.process = subprocess.Popen(
            [*(command or mailstage_command()), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # noqa: PLW1509
            env=full_env,
            cwd=REPO,
        )
        os.close(slave)
        self.seen = b""

    def read_until(self, marker: bytes, timeout: float = 30) -> bytes:
        while marker not in self.seen:
            ready, _, _ = select.select([self.master], [], [], timeout)
            if not ready:
                raise AssertionError(f"no {marker!r} on the terminal; saw {self.seen[-800:]!r}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the process closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"closed before {marker!r}; saw {self.seen[-800:]!r}")
            self.seen += chunk
        return self.seen

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 60) -> int:
        """Read everything until the process ends; its exit code."""
        while True:
            ready, _, _ = select.select([self.master], [], [], timeout)
            if not ready:
                self.process.kill()
                raise AssertionError(f"the process did not end; saw {self.seen[-800:]!r}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        os.close(self.master)
        return self.process.wait(timeout=timeout)


def is_root() -> bool:
    return os.geteuid() == 0


@contextlib.contextmanager
def small_file_system(folder: Path, size_kib: int) -> Iterator[Path]:
    """A real tmpfs of ``size_kib`` mounted on ``folder`` (root only; skipped otherwise)."""
    if not is_root():
        pytest.skip("mounting a small file system needs root")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
