"""`mailstage studiolist show|add|remove`: an app's default test recipients, used by
Send test when the stage's test list is inactive."""

from __future__ import annotations

import argparse
from typing import Any

from mailstage.cli.context import CliContext
from mailstage.cli.output import to_json

HELP = "an app's studio list: Send test's recipients when the test list is inactive"


def register(groups: dict[str, Any]) -> None:
    studiolist = groups["studiolist"]
    p = studiolist.add_parser("show", help="the addresses of an app's studio list")
    p.add_argument("app")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_studiolist_show)
    for action, help_text in (
        ("add", "add addresses to the studio list"),
        ("remove", "remove addresses from the studio list"),
    ):
        p = studiolist.add_parser(action, help=help_text)
        p.add_argument("app")
        p.add_argument("addresses", nargs="+", metavar="ADDR")
        p.set_defaults(func=cmd_studiolist_change, studiolist_action=action)


def cmd_studiolist_show(args: argparse.Namespace, ctx: CliContext) -> int:
    app = ctx.load().app(args.app)
    if args.json:
        ctx.out(to_json({"app": app.name, "addresses": list(app.studio_list)}))
        return 0
    ctx.out(f"{app.name}: studio list, {len(app.studio_list)} address(es)")
    for address in app.studio_list:
        ctx.out(f"  {address}")
    return 0


def cmd_studiolist_change(args: argparse.Namespace, ctx: CliContext) -> int:
    adding = args.studiolist_action == "add"

    def apply(ws: Any) -> tuple[Any, list[str]]:
        if adding:
            return ws.app(args.app), ws.add_to_studio_list(args.app, args.addresses)
        return ws.app(args.app), ws.remove_from_studio_list(args.app, args.addresses)

    app, changed = ctx.change(apply)
    if adding:
        ctx.out(
            f"Added {len(changed)} address(es) to the studio list of {app.name}; "
            f"{len(app.studio_list)} in all."
        )
    else:
        ctx.out(
            f"Removed {len(changed)} address(es) from the studio list of {app.name}; "
            f"{len(app.studio_list)} left."
        )
    return 0
