"""Which list has the focus is obvious in every terminal (issue 19): in 256 colours, with
TERM=screen's 8 colours and with NO_COLOR the focused list draws its highlighted row in
reverse, a list without the focus underlines it instead (still findable, never reverse)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.sgr import line_with, text_cells
from tests.test_tui_plain_terminals import MODES, drawn, start_in
from tests.tmux import private_tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.mark.parametrize("mode", list(MODES))
def test_the_focused_list_shows_in_every_terminal(tmp_path: Path, mode: str) -> None:
    locations = Locations(tmp_path / "store.json", tmp_path / "store.key")
    ws = Workspace.init(locations)
    for name in ("Billing", "Shop"):
        ws.add_app(name)
    with private_tmux() as tmux:
        start_in(tmux, mode, locations)
        tmux.keys("a")
        tmux.wait_for("2 apps")
        drawn(tmux, "Billing")  # the table has the focus
        tmux.keys("/")  # now the filter has it
        screen = drawn(tmux, "Billing", reverse=False)
        assert all(cell.underline for cell in text_cells(line_with(screen, "Billing"), "Billing"))
        tmux.keys("Enter")  # back to the table
        drawn(tmux, "Billing")
        tmux.keys("C-q")
