"""`mailstage member` and `mailstage role`."""

from __future__ import annotations

import argparse
from typing import Any

from mailstage.cli.context import CliContext
from mailstage.cli.output import table, to_json


def register(groups: dict[str, Any]) -> None:
    member = groups["member"]
    p = member.add_parser("list", help="members and their roles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_member_list)
    p = member.add_parser("add", help="add a member or change their role")
    p.add_argument("user")
    p.add_argument("--role", required=True)
    p.set_defaults(func=cmd_member_add)
    p = groups["role"].add_parser("list", help="roles and their permissions")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_role_list)


def cmd_member_list(args: argparse.Namespace, ctx: CliContext) -> int:
    members = ctx.load().data.organization.members
    listed = [{"user": u, "role": r} for u, r in sorted(members.items())]
    ctx.out(
        to_json(listed)
        if args.json
        else table(["user", "role"], [(m["user"], m["role"]) for m in listed])
    )
    return 0


def cmd_member_add(args: argparse.Namespace, ctx: CliContext) -> int:
    ctx.change(lambda ws: ws.set_member(args.user, args.role))
    ctx.out(f"{args.user} now has the role {args.role}.")
    return 0


def cmd_role_list(args: argparse.Namespace, ctx: CliContext) -> int:
    roles = ctx.load().data.organization.roles
    listed = [{"name": r.name, "permissions": [p.value for p in r.permissions]} for r in roles]
    if args.json:
        ctx.out(to_json(listed))
    else:
        ctx.out(
            table(
                ["role", "permissions"],
                [
                    (r.name, ", ".join(p.label for p in r.permissions) or "(none: read only)")
                    for r in roles
                ],
            )
        )
    return 0
