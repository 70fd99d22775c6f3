"""The `mailstage` command: global options, dispatch, and errors turned into exit codes.

Kept free of Textual and of the delivery libraries at import time: `mailstage
email show` must start fast. Each command module registers its own subcommands.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from mailstage.cli import (
    app_commands,
    delivery_commands,
    email_commands,
    log_commands,
    member_commands,
    relay_commands,
    stage_commands,
    store_commands,
    tui_commands,
)
from mailstage.cli.context import CliContext
from mailstage.cli.suggest import suggest_choices
from mailstage.store.errors import MailstageError
from mailstage.store.paths import Locations

COMMAND_MODULES = (
    store_commands,
    stage_commands,
    email_commands,
    delivery_commands,
    app_commands,
    relay_commands,
    log_commands,
    member_commands,
    tui_commands,
)

GROUPS = {
    "stage": "stages (Development, QA, Production, ...)",
    "email": "a stage's SMTP configuration and Send test",
    "app": "apps",
    "testlist": "an app's test list for a stage",
    "member": "organization members",
    "role": "roles and their permissions",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailstage",
        description="Configure how your apps send email, per stage. Without a command, "
        "opens the full-screen app.",
    )
    parser.add_argument("--store", metavar="PATH", help="the store file (env MAILSTAGE_STORE)")
    parser.add_argument("--key-file", metavar="PATH", help="the key file (env MAILSTAGE_KEY_FILE)")
    root = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, Any] = {"root": root}
    for name, help_text in GROUPS.items():
        group = root.add_parser(name, help=help_text, description=help_text)
        groups[name] = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    for module in COMMAND_MODULES:
        module.register(groups)
    suggest_choices(parser)  # did you mean, for a mistyped command or action
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = CliContext(Locations.resolve(args.store, args.key_file))
    handler = getattr(args, "func", None)
    if handler is None:
        handler = tui_commands.cmd_tui
    try:
        return int(handler(args, ctx) or 0)
    except MailstageError as exc:
        ctx.warn(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        ctx.warn("Interrupted; nothing more was changed.")
        return 130
    except Exception as exc:  # never a traceback: it could carry local values
        if os.environ.get("MAILSTAGE_DEBUG"):
            raise
        ctx.warn(f"Unexpected error ({type(exc).__name__}); set MAILSTAGE_DEBUG=1 to see details.")
        return 1


if __name__ == "__main__":
    sys.exit(main())
