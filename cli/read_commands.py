"""The one-shot reads admins run in loops and prompts: `email show STAGE`, `stage list`
and `testlist show APP --stage STAGE`, each with `--json`.

One module for the three, imported alone on their way (cli/read_argv.py gives them
their arguments without argparse; email_commands, stage_commands and app_commands
register them for argparse): they print from the store's plain JSON views
(store/views.py), never building the models, so pydantic, the write path and the
delivery libraries stay unloaded (tests/test_startup_imports.py).
"""

from __future__ import annotations

from mailstage.cli.output import pairs, table, to_json

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from mailstage.cli.context import CliContext


def email_json(stage: dict[str, Any]) -> dict[str, Any]:
    """`email show --json` of a stage as stored (store/views.py), secrets masked."""
    from mailstage.store.views import masked_email

    email = stage.get("email")
    if email is None:
        return {
            "stage": stage["name"],
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
    return {"stage": stage["name"], **masked_email(email)}


def cmd_email_show(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.store import views

    with ctx.read() as opened:
        stage = views.stage(opened, args.stage)
    if args.json:
        ctx.out(to_json(email_json(stage)))
        return 0
    email, name = stage.get("email"), stage["name"]
    if email is None:
        ctx.out(
            f"{name}: not configured. Set it with: mailstage email set {name} "
            "--server HOST --auth basic|oauth2 ..."
        )
        return 0
    from mailstage.store.config_rows import config_rows

    items = [("Stage", name + (" (production)" if stage.get("production") else ""))]
    items += config_rows(email)
    ctx.out(pairs(items))
    return 0


def stage_state(stage: dict[str, Any]) -> dict[str, Any]:
    """A stage as stored (store/views.py), as `stage list` shows it."""
    email = stage.get("email")
    return {
        "name": stage["name"],
        "production": bool(stage.get("production")),
        "order": stage.get("order", 0),
        "configured": email is not None,
        "server": email["server"] if email else None,
        "port": email["port"] if email else None,
        "auth_type": email["auth"]["type"] if email else None,
        "sender_email": email["sender_email"] if email else None,
    }


def cmd_stage_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.store import views
    from mailstage.store.fields import AUTH_LABELS

    with ctx.read() as opened:
        stages = [stage_state(s) for s in views.ordered_stages(opened)]
    if args.json:
        ctx.out(to_json(stages))
        return 0
    rows = [
        (
            s["name"] + (" (production)" if s["production"] else ""),
            f"{s['server']}:{s['port']}" if s["configured"] else "not configured",
            AUTH_LABELS.get(s["auth_type"], s["auth_type"]) if s["auth_type"] else "",
            s["sender_email"] or "",
        )
        for s in stages
    ]
    ctx.out(table(["stage", "server", "auth", "sender"], rows))
    return 0


def cmd_testlist_show(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.store import views
    from mailstage.store.words import count_text

    with ctx.read() as opened:  # the core and the one section that holds the app
        app = views.app(opened, args.app)
        stage = views.stage(opened, args.stage)
    tl = views.test_list(app, stage["name"])
    shown = {
        "app": app["name"],
        "stage": stage["name"],
        "active": tl["active"],
        "addresses": tl["addresses"],
    }
    if args.json:
        ctx.out(to_json(shown))
        return 0
    state = "active" if shown["active"] else "inactive"
    ctx.out(
        f"{app['name']} / {stage['name']}: test list {state}, {count_text(len(shown['addresses']))}"
    )
    for address in shown["addresses"]:
        ctx.out(f"  {address}")
    return 0
