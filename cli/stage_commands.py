"""`mailstage stage list|add|remove`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mailstage.cli.confirm import add_yes, require_yes
from mailstage.cli.context import CliContext
from mailstage.cli.read_commands import cmd_stage_list

if TYPE_CHECKING:
    import argparse


def register(groups: dict[str, Any]) -> None:
    from mailstage.cli.help_text import leaf

    stage = groups["stage"]
    p = leaf(
        stage,
        "list",
        "every stage and its email state",
        "Every stage in order, whether its email is configured, and how: server, "
        "authentication type and sender.",
        ["mailstage stage list", "mailstage stage list --json"],
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_stage_list)
    p = leaf(
        stage,
        "add",
        "add a stage",
        "Adds a stage after the existing ones (names are unique, ignoring case). A "
        "production stage asks before a test list is activated in it. Needs the "
        "permission Manage Stages.",
        ["mailstage stage add Staging", "mailstage stage add Live --production"],
    )
    p.add_argument("name", help="the new stage's name")
    p.add_argument(
        "--production", action="store_true", help="mark it as a production stage (default: not)"
    )
    p.set_defaults(func=cmd_stage_add)
    p = stage.add_parser(
        "remove", help="remove a stage with its email configuration and the apps' test lists"
    )
    p.add_argument("name")
    add_yes(p)
    p.set_defaults(func=cmd_stage_remove)


def cmd_stage_add(args: argparse.Namespace, ctx: CliContext) -> int:
    stage = ctx.change(lambda ws: ws.add_stage(args.name, args.production))
    ctx.out(f"Added the stage {stage.name}" + (" (production)." if stage.production else "."))
    return 0


def cmd_stage_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.yes:
        ws = ctx.load()
        stage = ws.stage(args.name)
        lists = sum(1 for app in ws.data.apps if stage.name in app.test_lists)
        configured = "its email configuration" if stage.email else "no email configuration"
        require_yes(
            args,
            f"Removing the stage {stage.name} also removes {configured} and {lists} app "
            f"test list(s) for it.",
        )
    stage = ctx.change(lambda ws: ws.remove_stage(args.name))
    ctx.out(f"Removed the stage {stage.name}.")
    return 0
