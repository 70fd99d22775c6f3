"""`mailstage app` and `mailstage testlist`: apps and their test lists."""

from __future__ import annotations

import argparse
from typing import Any

from mailstage.cli.confirm import add_yes, require_yes
from mailstage.cli.context import CliContext
from mailstage.cli.help_text import leaf, required
from mailstage.cli.output import table, to_json
from mailstage.cli.read_commands import cmd_testlist_show
from mailstage.store.text import visible
from mailstage.store.words import count_text


def register(groups: dict[str, Any]) -> None:
    app = groups["app"]
    p = leaf(
        app,
        "list",
        "every app",
        "Every app with, per stage, whether its test list is on and how many addresses it has.",
        ["mailstage app list", "mailstage app list --json"],
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_app_list)
    p = leaf(
        app,
        "add",
        "add an app",
        "Adds an app (its name as in ODC; unique, ignoring case). Its test lists start "
        "empty and inactive in every stage. Needs the permission Manage Apps.",
        ['mailstage app add "Customer Portal"'],
    )
    p.add_argument("name", help="the app's name")
    p.set_defaults(func=cmd_app_add)
    p = app.add_parser(
        "remove", help="remove an app with its test lists, studio list and relay credentials"
    )
    p.add_argument("name")
    add_yes(p)
    p.set_defaults(func=cmd_app_remove)

    testlist = groups["testlist"]
    for action, help_text, description, example in TESTLIST_HELP:
        p = leaf(testlist, action, help_text, description, [example])
        p.add_argument("app", help="the app's name")
        required(p).add_argument("--stage", required=True, help="the stage's name")
        if action in ("add", "remove"):
            p.add_argument(
                "addresses",
                nargs="+",
                metavar="ADDR",
                help="addresses as pasted: several per argument (commas or spaces) and "
                "'Name <address>' forms",
            )
        if action == "show":
            p.add_argument("--json", action="store_true", help="print JSON")
        handler = cmd_testlist_show if action == "show" else cmd_testlist
        p.set_defaults(func=handler, testlist_action=action)


_ACTIVE = (
    "While a test list is active, every email the app sends in that stage goes to the "
    "list's addresses only (To, Cc and Bcc replaced). Needs the permission Manage Test "
    "Lists; in a production stage real users then receive nothing."
)
TESTLIST_HELP = (
    (
        "show",
        "an app's test list for a stage",
        "The test list of an app in a stage: active or not, and its addresses.",
        "mailstage testlist show Shop --stage QA",
    ),
    (
        "add",
        "add addresses to the test list",
        "Adds addresses to the list (kept in order, duplicates ignored). The valid ones "
        "are added and the invalid ones named (exit 3); with none valid nothing changes. "
        + _ACTIVE,
        'mailstage testlist add Shop --stage QA "Eve <eve@example.com>, qa@example.com"',
    ),
    (
        "remove",
        "remove addresses from the test list",
        "Removes addresses from the list; each must be in it. " + _ACTIVE,
        "mailstage testlist remove Shop --stage QA qa@example.com",
    ),
    (
        "activate",
        "send all of the app's mail in this stage to the list",
        "Turns the test list on. " + _ACTIVE,
        "mailstage testlist activate Shop --stage QA",
    ),
    (
        "deactivate",
        "let the app's mail reach its real recipients",
        "Turns the test list off: the app's email reaches its real recipients again.",
        "mailstage testlist deactivate Shop --stage QA",
    ),
)


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


def production_warning(stage: Any, app: Any) -> str:
    return (
        f"Warning: {stage.name} is a production stage; while this test list is active, "
        f"real users of {app.name} receive none of its email."
    )


def cmd_app_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.yes:
        app = ctx.load().app(args.name)
        require_yes(
            args,
            f"Removing the app {app.name} also removes its {len(app.test_lists)} test "
            f"list(s), its studio list and its relay credentials.",
        )
    app = ctx.change(lambda ws: ws.remove_app(args.name))
    ctx.out(f"Removed the app {app.name}.")
    return 0


def cmd_testlist(args: argparse.Namespace, ctx: CliContext) -> int:
    action = args.testlist_action
    pasted: list[str] = []
    invalid: list[tuple[str, str]] = []
    if action in ("add", "remove"):
        from mailstage.store.paste import addresses_from_args
        from mailstage.store.validation import normalize_addresses

        # the TUI's rule: as pasted (commas, spaces, Name <address>); the good ones are
        # added and the bad ones named (none valid: nothing changes, exit 3)
        pasted = addresses_from_args(args.addresses)
        if action == "add":
            good, invalid = normalize_addresses(pasted)
            if good:
                pasted = good

    def apply(ws: Any) -> tuple[Any, Any, Any]:
        if action == "add":
            result = ws.add_to_test_list(args.app, args.stage, pasted)
        elif action == "remove":
            result = ws.remove_from_test_list(args.app, args.stage, pasted)
        else:
            result = ws.set_test_list_active(args.app, args.stage, action == "activate")
        return ws.app(args.app), ws.stage(args.stage), result

    app, stage, result = ctx.change(apply)
    tl = app.test_list(stage.name)
    if action == "add":
        skipped = len(pasted) - len(result)
        ctx.out(
            f"Added {count_text(len(result))} to {app.name} / {stage.name}"
            + (f" ({skipped} already there)." if skipped else ".")
            + f" {len(tl.addresses)} in all."
        )
        for raw, why in invalid:
            ctx.warn(f"Not added: {visible(raw)!r} {why}")
        if invalid:
            return 3
    elif action == "remove":
        ctx.out(
            f"Removed {count_text(len(result))} from {app.name} / {stage.name}; "
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
