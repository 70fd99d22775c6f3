"""Opening the full-screen app from the command line (filled in with the TUI)."""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli import CliContext


def register(groups: dict[str, Any]) -> None:
    return None


def run_tui(args: argparse.Namespace, ctx: CliContext) -> int:
    ctx.out("The full-screen app is not built yet; run `mailstage --help` for the commands.")
    return 0
