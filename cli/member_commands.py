"""`mailstage member` and `mailstage role`."""

from __future__ import annotations

import argparse
from typing import Any

from mailstage.cli.context import CliContext
from mailstage.cli.help_text import leaf, required
from mailstage.cli.output import table, to_json


def register(groups: dict[str, Any]) -> None:
    member = groups["member"]
    p = leaf(
        member,
        "list",
        "members and their roles",
        "Every member of the organization (their OS login name) and their role.",
        ["mailstage member list", "mailstage member list --json"],
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_member_list)
    p = leaf(
        member,
        "add",
        "add a member or change their role",
        "Gives USER (an OS login name on this machine) a role; run again to change it. "
        "Needs the permission Manage Members.\n\nBuilt-in roles:\n"
        + "\n".join(f"  {name:<27} {grants}" for name, grants in BUILT_IN_ROLES)
        + "\n\nmailstage role list shows the roles of this store and what they grant.",
        [
            'mailstage member add bob --role "Email Manager"',
            "mailstage member add carol --role Viewer",
        ],
    )
    p.add_argument("user", help="the member's OS login name")
    required(p).add_argument(
        "--role", required=True, help="one of the roles above (quote names with spaces)"
    )
    p.set_defaults(func=cmd_member_add)
    p = leaf(
        member,
        "remove",
        "take a member out of the organization",
        "USER loses their role and every permission in this store (their OS login stays). "
        "The last Organization Administrator cannot be removed. Needs Manage Members.",
        ["mailstage member remove bob"],
    )
    p.add_argument("user", help="the member's OS login name")
    p.set_defaults(func=cmd_member_remove)
    p = leaf(
        groups["role"],
        "list",
        "roles and their permissions",
        "Every role of this store and the permissions it grants.",
        ["mailstage role list"],
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_role_list)


# the built-in roles (store/models.py makes them; a test keeps this list in step)
BUILT_IN_ROLES = (
    ("Organization Administrator", "every permission"),
    ("Email Manager", "Manage Email Configurations (SMTP settings, Send test)"),
    ("App Developer", "Manage Test Lists (test lists, studio lists, Send test)"),
    ("Viewer", "none: sees everything, changes nothing"),
)


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
    from mailstage.store.identity import no_such_login

    ctx.change(lambda ws: ws.set_member(args.user, args.role))
    ctx.out(f"{args.user} now has the role {args.role}.")
    if warning := no_such_login(args.user, ctx.locations):
        ctx.warn(f"Warning: {warning}")
    return 0


def cmd_member_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    role = ctx.change(lambda ws: ws.remove_member(args.user))
    ctx.out(f"{args.user.strip()} ({role}) is no longer a member.")
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
