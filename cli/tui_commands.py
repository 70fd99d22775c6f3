"""`mailstage` alone and `mailstage demo`: the only way from the command line into the TUI.

Textual is imported here, lazily, and nowhere else in the command line.
"""

from __future__ import annotations

import argparse
from typing import Any

from mailstage.cli.context import CliContext


def register(groups: dict[str, Any]) -> None:
    text = (
        "open the full-screen app on a throwaway demo store whose Development stage sends "
        "to a local capture server (everything is removed on exit)"
    )
    parser = groups["root"].add_parser("demo", help=text, description=text)
    parser.set_defaults(func=cmd_demo)


def cmd_tui(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.tui import launch

    return launch.run_tui(ctx.locations)


def cmd_demo(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.tui import launch

    return launch.run_demo(ctx.out)
