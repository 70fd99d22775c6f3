"""`mailstage app credentials` (an app's relay password for a stage) and `mailstage relay`."""

from __future__ import annotations

import argparse
from typing import Any

from mailstage.cli.context import CliContext
from mailstage.cli.output import pairs, to_json


def register(groups: dict[str, Any]) -> None:
    p = groups["app"].add_parser(
        "credentials",
        help="make (or --rotate) the app's relay password for a stage; printed once",
        description="Makes the password the app uses to log in to `mailstage relay STAGE` "
        "(username: the app's name). It is printed once; the store keeps only a hash. "
        "--rotate replaces existing credentials: the old password stops working.",
    )
    p.add_argument("app")
    p.add_argument("--stage", required=True)
    p.add_argument("--rotate", action="store_true", help="replace existing credentials")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_app_credentials)


def cmd_app_credentials(args: argparse.Namespace, ctx: CliContext) -> int:
    def apply(ws: Any) -> tuple[str, str, str]:
        password = ws.make_relay_credentials(args.app, args.stage, rotate=args.rotate)
        return ws.app(args.app).name, ws.stage(args.stage).name, password

    app, stage, password = ctx.change(apply)
    if args.json:
        ctx.out(to_json({"app": app, "stage": stage, "username": app, "password": password}))
        return 0
    ctx.out(f"Relay credentials of {app} for {stage} (shown once; mailstage keeps only a hash):")
    ctx.out(pairs([("  username", app), ("  password", password)]))
    ctx.out(
        f"Put them in the app's mail settings with the relay's address (`mailstage relay "
        f"{stage}` listens on 127.0.0.1 port 1587 by default)."
    )
    return 0
