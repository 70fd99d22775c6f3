"""Focus is obvious in every terminal (issue 19): in 256 colours, with TERM=screen's 8
colours and with NO_COLOR, the focused field's label is drawn in reverse and the
dropdown's box changes its line; the box is never drawn black on black."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.sgr import SGR, line_with, text_cells
from tests.tmux import Tmux, private_tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

MODES = {
    "256 colours": "env -u NO_COLOR TERM=xterm-256color",
    "TERM=screen": "env -u NO_COLOR TERM=screen",
    "NO_COLOR": "env NO_COLOR=1 TERM=xterm-256color",
}
BLACK = {"30", "40", "38;5;0", "48;5;0", "38;5;16", "48;5;16"}


def reversed_label(screen: str, label: str) -> bool:
    return all(cell.reverse for cell in text_cells(line_with(screen, label), label))


def drawn(tmux: Tmux, text: str, *, reverse: bool = True, timeout: float = 15.0) -> str:
    """Wait until ``text`` is drawn in reverse (or, asked so, not); the screen, with SGR."""
    deadline = time.monotonic() + timeout
    while True:
        screen = tmux.screen(escapes=True)
        if text in SGR.sub("", screen) and reversed_label(screen, text) == reverse:
            return screen
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never drawn with reverse={reverse}:\n{screen!r}")
        time.sleep(0.1)


def focus_on(tmux: Tmux, label: str) -> str:
    """Wait until ``label`` is drawn in reverse, as the focused field's label is."""
    return drawn(tmux, label)


def start_in(tmux: Tmux, mode: str, locations: Locations) -> None:
    """mailstage on the store, in one of the MODES, at Home with the store open."""
    mailstage = Path(sys.executable).with_name("mailstage")
    command = f"{MODES[mode]} {mailstage} --store {locations.store} --key-file {locations.key_file}"
    tmux.start(command, env=dict(os.environ))
    tmux.wait_for("· Organization Administrator")


@pytest.mark.parametrize("mode", list(MODES))
def test_the_focused_field_shows_in_every_terminal(tmp_path: Path, mode: str) -> None:
    locations = Locations(tmp_path / "store.json", tmp_path / "store.key")
    Workspace.init(locations)
    with private_tmux() as tmux:
        start_in(tmux, mode, locations)
        tmux.keys("e")
        tmux.wait_for("not configured")
        tmux.keys("Enter")
        tmux.wait_for("press e to configure it")
        tmux.keys("e")
        screen = focus_on(tmux, "SMTP server *")
        assert not reversed_label(screen, "SMTP port *")
        tmux.keys("Tab", "Tab")  # to the Authentication type dropdown
        screen = focus_on(tmux, "Authentication type *")
        assert "┏━" in screen  # its box turns heavy
        assert not reversed_label(screen, "SMTP server *")
        tmux.keys("Tab")
        screen = focus_on(tmux, "Sender email *")
        assert "┏━" not in screen and not reversed_label(screen, "Authentication type *")
        row = line_with(screen, "Choose the authentication type")
        side = text_cells(row, "│")[0]  # the blurred box's left line
        assert side.fg not in BLACK, f"the dropdown's box is drawn black ({side})"
        assert side.fg != side.bg or side.fg == ""
        tmux.keys("C-q")
