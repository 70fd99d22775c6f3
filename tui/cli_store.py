"""Store commands: init, locate, stage, email show/set, app, testlist, member, role, audit."""

from __future__ import annotations

import argparse
import os
from typing import Any

from tui.cli import CliContext, prompt_passphrase
from tui.output import pairs, table, to_json

SECURITY_LABELS = {"starttls": "STARTTLS", "implicit": "implicit TLS"}


def register(groups: dict[str, Any]) -> None:
    root = groups["root"]
    p = root.add_parser("init", help="create the encrypted store; you become its administrator")
    p.add_argument(
        "--passphrase",
        action="store_true",
        help="protect the store with a passphrase (MAILSTAGE_PASSPHRASE or a prompt) "
        "instead of a key file",
    )
    p.set_defaults(func=cmd_init)
    p = root.add_parser("locate", help="print where the store and its key file are")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_locate)
    p = root.add_parser("audit", help="the audit trail, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50, metavar="N")
    p.set_defaults(func=cmd_audit)

    stage = groups["stage"]
    p = stage.add_parser("list", help="every stage and its email state")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stage_list)
    p = stage.add_parser("add", help="add a stage")
    p.add_argument("name")
    p.add_argument("--production", action="store_true")
    p.set_defaults(func=cmd_stage_add)

    email = groups["email"]
    p = email.add_parser("show", help="a stage's SMTP configuration (secrets masked)")
    p.add_argument("stage")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_email_show)
    p = email.add_parser("set", help="change a stage's SMTP configuration (only what is given)")
    p.add_argument("stage")
    p.add_argument("--server", metavar="HOST")
    p.add_argument("--port", metavar="N")
    p.add_argument("--security", choices=["starttls", "implicit"])
    p.add_argument("--auth", choices=["basic", "oauth2"])
    p.add_argument("--username", metavar="U")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--token-url", metavar="URL")
    p.add_argument("--client-id", metavar="ID")
    p.add_argument(
        "--client-secret-stdin", action="store_true", help="read the client secret from stdin"
    )
    p.add_argument(
        "--scope",
        action="append",
        metavar="S",
        dest="scopes",
        help="an OAuth scope (repeat for several)",
    )
    p.add_argument("--sender-email", metavar="E")
    p.add_argument("--sender-name", metavar="N")
    p.add_argument("--ca-file", metavar="PEM")
    p.set_defaults(func=cmd_email_set)

    app = groups["app"]
    p = app.add_parser("list", help="every app")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_app_list)
    p = app.add_parser("add", help="add an app")
    p.add_argument("name")
    p.set_defaults(func=cmd_app_add)

    testlist = groups["testlist"]
    for action, help_text in (
        ("show", "an app's test list for a stage"),
        ("add", "add addresses to the test list"),
        ("remove", "remove addresses from the test list"),
        ("activate", "send all of the app's mail in this stage to the list"),
        ("deactivate", "let the app's mail reach its real recipients"),
    ):
        p = testlist.add_parser(action, help=help_text)
        p.add_argument("app")
        p.add_argument("--stage", required=True)
        if action in ("add", "remove"):
            p.add_argument("addresses", nargs="+", metavar="ADDR")
        if action == "show":
            p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_testlist, testlist_action=action)

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


# -- init, locate, audit --


def cmd_init(args: argparse.Namespace, ctx: CliContext) -> int:
    from store.workspace import Workspace

    passphrase = None
    if args.passphrase:
        passphrase = os.environ.get("MAILSTAGE_PASSPHRASE") or prompt_passphrase(confirm=True)
    workspace = Workspace.init(ctx.locations, passphrase=passphrase)
    key = "a passphrase" if passphrase is not None else f"the key file {ctx.locations.key_file}"
    ctx.out(f"Created the store {ctx.locations.store}, protected by {key}.")
    ctx.out(f"You ({workspace.user}) are its Organization Administrator.")
    return 0


def cmd_locate(args: argparse.Namespace, ctx: CliContext) -> int:
    where = {"store": str(ctx.locations.store), "key_file": str(ctx.locations.key_file)}
    ctx.out(
        to_json(where)
        if args.json
        else pairs([("store", where["store"]), ("key file", where["key_file"])])
    )
    return 0


def cmd_audit(args: argparse.Namespace, ctx: CliContext) -> int:
    events = list(reversed(ctx.load().data.audit))[: max(args.limit, 0)]
    if args.json:
        ctx.out(to_json([e.model_dump(mode="json") for e in events]))
        return 0
    rows = [
        (
            e.at.strftime("%Y-%m-%d %H:%M:%SZ"),
            e.user,
            e.action,
            e.target,
            ", ".join(e.fields) or describe_details(e.details),
        )
        for e in events
    ]
    ctx.out(table(["when (UTC)", "who", "action", "target", "what"], rows))
    return 0


def describe_details(details: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in details.items() if not isinstance(v, list))


# -- stages and email --


def stage_state(stage: Any) -> dict[str, Any]:
    email = stage.email
    return {
        "name": stage.name,
        "production": stage.production,
        "order": stage.order,
        "configured": email is not None,
        "server": email.server if email else None,
        "port": email.port if email else None,
        "auth_type": email.auth.type if email else None,
        "sender_email": email.sender_email if email else None,
    }


def cmd_stage_list(args: argparse.Namespace, ctx: CliContext) -> int:
    stages = [stage_state(s) for s in ctx.load().data.ordered_stages()]
    if args.json:
        ctx.out(to_json(stages))
        return 0
    rows = [
        (
            s["name"] + (" (production)" if s["production"] else ""),
            f"{s['server']}:{s['port']}" if s["configured"] else "not configured",
            s["auth_type"] or "",
            s["sender_email"] or "",
        )
        for s in stages
    ]
    ctx.out(table(["stage", "server", "auth", "sender"], rows))
    return 0


def cmd_stage_add(args: argparse.Namespace, ctx: CliContext) -> int:
    stage = ctx.change(lambda ws: ws.add_stage(args.name, args.production))
    ctx.out(f"Added the stage {stage.name}" + (" (production)." if stage.production else "."))
    return 0


def email_json(stage: Any) -> dict[str, Any]:
    email = stage.email
    if email is None:
        return {
            "stage": stage.name,
            "server": None,
            "port": None,
            "security": None,
            "sender_email": None,
            "sender_name": None,
            "auth": None,
            "ca_file": None,
            "updated_at": None,
            "updated_by": None,
        }
    return {"stage": stage.name, **email.model_dump(mode="json")}


def cmd_email_show(args: argparse.Namespace, ctx: CliContext) -> int:
    stage = ctx.load().stage(args.stage)
    if args.json:
        ctx.out(to_json(email_json(stage)))
        return 0
    email = stage.email
    if email is None:
        ctx.out(
            f"{stage.name}: not configured. Set it with: mailstage email set {stage.name} "
            "--server HOST --auth basic|oauth2 ..."
        )
        return 0
    items: list[tuple[str, Any]] = [
        ("Stage", stage.name + (" (production)" if stage.production else "")),
        ("SMTP server", email.server),
        ("SMTP port", f"{email.port} ({SECURITY_LABELS[email.security]})"),
        ("Authentication type", email.auth_label),
    ]
    auth = email.auth
    if auth.type == "basic":
        items += [("Username", auth.username), ("Password", "********")]
    else:
        items += [
            ("Server Token URL", auth.token_url),
            ("Client ID", auth.client_id),
            ("Client Secret", "********"),
            ("Scopes", " ".join(auth.scopes)),
        ]
    items += [("Sender email", email.sender_email), ("Sender name", email.sender_name or "-")]
    if email.ca_file:
        items.append(("CA file", email.ca_file))
    if email.updated_at:
        items.append(("Last changed", f"{email.updated_at:%Y-%m-%d %H:%M}Z by {email.updated_by}"))
    ctx.out(pairs(items))
    return 0


def read_secret_line(ctx: CliContext, what: str) -> Any:
    from pydantic import SecretStr

    from store.errors import InvalidInput

    line = ctx.stdin.readline()
    value = line[:-1] if line.endswith("\n") else line
    value = value[:-1] if value.endswith("\r") else value
    if not value:
        raise InvalidInput(
            f"{what} is mandatory: nothing was read from standard input.", [(what, "is mandatory")]
        )
    return SecretStr(value)


def cmd_email_set(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.password_stdin and args.client_secret_stdin:
        ctx.warn(
            "Give --password-stdin or --client-secret-stdin, not both: a stage has one "
            "authentication type."
        )
        return 2
    options: dict[str, Any] = {
        "server": args.server,
        "port": args.port,
        "security": args.security,
        "auth": args.auth,
        "username": args.username,
        "token_url": args.token_url,
        "client_id": args.client_id,
        "scopes": args.scopes,
        "sender_email": args.sender_email,
        "sender_name": args.sender_name,
        "ca_file": args.ca_file,
    }
    if args.password_stdin:
        options["password"] = read_secret_line(ctx, "Password (password)")
    if args.client_secret_stdin:
        options["client_secret"] = read_secret_line(ctx, "Client Secret (client_secret)")

    def apply(ws: Any) -> tuple[str, list[str]]:
        config = ws.email_from_options(args.stage, options)
        return ws.stage(args.stage).name, ws.set_email(args.stage, config)

    name, changed = ctx.change(apply)
    if changed:
        ctx.out(f"Saved the email configuration of {name} (changed: {', '.join(changed)}).")
    else:
        ctx.out(f"Nothing changed in the email configuration of {name}.")
    return 0


# -- apps and test lists --


def cmd_app_list(args: argparse.Namespace, ctx: CliContext) -> int:
    data = ctx.load().data
    stages = [s.name for s in data.ordered_stages()]
    apps = [
        {
            "name": a.name,
            "test_lists": {
                s: {"active": a.test_list(s).active, "count": len(a.test_list(s).addresses)}
                for s in stages
            },
            "studio_list": a.studio_list,
        }
        for a in data.apps
    ]
    if args.json:
        ctx.out(to_json(apps))
        return 0
    rows = [
        (
            a["name"],
            *(
                ("on " if a["test_lists"][s]["active"] else "off ")
                + f"({a['test_lists'][s]['count']})"
                for s in stages
            ),
        )
        for a in apps
    ]
    ctx.out(table(["app", *(f"{s} test list" for s in stages)], rows))
    return 0


def cmd_app_add(args: argparse.Namespace, ctx: CliContext) -> int:
    app = ctx.change(lambda ws: ws.add_app(args.name))
    ctx.out(f"Added the app {app.name}.")
    return 0


def testlist_json(app: Any, stage: Any) -> dict[str, Any]:
    tl = app.test_list(stage.name)
    return {
        "app": app.name,
        "stage": stage.name,
        "active": tl.active,
        "addresses": list(tl.addresses),
    }


def production_warning(stage: Any, app: Any) -> str:
    return (
        f"Warning: {stage.name} is a production stage; while this test list is active, "
        f"real users of {app.name} receive none of its email."
    )


def cmd_testlist(args: argparse.Namespace, ctx: CliContext) -> int:
    action = args.testlist_action
    if action == "show":
        ws = ctx.load()
        app, stage = ws.app(args.app), ws.stage(args.stage)
        shown = testlist_json(app, stage)
        if args.json:
            ctx.out(to_json(shown))
        else:
            state = "active" if shown["active"] else "inactive"
            ctx.out(
                f"{app.name} / {stage.name}: test list {state}, "
                f"{len(shown['addresses'])} address(es)"
            )
            for address in shown["addresses"]:
                ctx.out(f"  {address}")
        return 0

    def apply(ws: Any) -> tuple[Any, Any, Any]:
        if action == "add":
            result = ws.add_to_test_list(args.app, args.stage, args.addresses)
        elif action == "remove":
            result = ws.remove_from_test_list(args.app, args.stage, args.addresses)
        else:
            result = ws.set_test_list_active(args.app, args.stage, action == "activate")
        return ws.app(args.app), ws.stage(args.stage), result

    app, stage, result = ctx.change(apply)
    tl = app.test_list(stage.name)
    if action == "add":
        skipped = len(args.addresses) - len(result)
        ctx.out(
            f"Added {len(result)} address(es) to {app.name} / {stage.name}"
            + (f" ({skipped} already there)." if skipped else ".")
            + f" {len(tl.addresses)} in all."
        )
    elif action == "remove":
        ctx.out(
            f"Removed {len(result)} address(es) from {app.name} / {stage.name}; "
            f"{len(tl.addresses)} left."
        )
    else:
        state = "active" if tl.active else "inactive"
        ctx.out(f"The test list of {app.name} / {stage.name} is {state}.")
        if tl.active and stage.production:
            ctx.warn(production_warning(stage, app))
        if tl.active and not tl.addresses:
            ctx.warn("Warning: the list is empty, so this app's email in this stage goes nowhere.")
    return 0


# -- members and roles --


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
