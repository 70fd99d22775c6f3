"""`mailstage init`, `locate` and `audit`: the store itself."""

from __future__ import annotations

import argparse
import os
from typing import Any

from mailstage.cli.arg_types import count
from mailstage.cli.context import CliContext, prompt_passphrase
from mailstage.cli.help_text import leaf
from mailstage.cli.output import pairs, table, to_json
from mailstage.store.passphrase_rule import MIN_PASSPHRASE, check_new_passphrase
from mailstage.store.text import when_text
from mailstage.store.words import event_summary


def register(groups: dict[str, Any]) -> None:
    root = groups["root"]
    root = groups["root"]
    p = leaf(
        root,
        "init",
        "create the encrypted store; you become its administrator",
        "Creates the store (--store, MAILSTAGE_STORE, or the default data folder) and a "
        "new key file that opens it (--key-file, MAILSTAGE_KEY_FILE, or the default "
        "config folder), both readable by you only. You become its Organization "
        "Administrator. Back up the key file: without it nobody can open the store.\n\n"
        "With --passphrase the store opens with a passphrase instead (at least "
        f"{MIN_PASSPHRASE} characters, from MAILSTAGE_PASSPHRASE or a prompt).",
        ["mailstage init", "mailstage --store /srv/mail/store.json init --passphrase"],
    )
    p.add_argument(
        "--passphrase",
        action="store_true",
        help="protect the store with a passphrase (MAILSTAGE_PASSPHRASE or a prompt) "
        "instead of a key file",
    )
    p.set_defaults(func=cmd_init)
    p = leaf(
        root,
        "locate",
        "print where the store and its key file are",
        "The store and key file this command line uses (after --store, --key-file and "
        "the environment).",
        ["mailstage locate"],
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_locate)
    p = leaf(
        root,
        "audit",
        "the audit trail, newest first",
        "Every change made to the store: when (UTC), who, what, on which stage or app. "
        "Secrets are never recorded.",
        ["mailstage audit --limit 20", "mailstage audit --json"],
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--limit", type=count, metavar="N", help="at most N events (default 50; all with --all)"
    )
    p.add_argument(
        "--all", action="store_true", help="every event, the archived ones too (oldest first)"
    )
    p.set_defaults(func=cmd_audit)


def cmd_init(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.store.workspace import Workspace

    passphrase = None
    if args.passphrase:
        passphrase = os.environ.get("MAILSTAGE_PASSPHRASE") or prompt_passphrase(confirm=True)
        check_new_passphrase(passphrase)
    workspace = Workspace.init(ctx.locations, passphrase=passphrase)
    key = "a passphrase" if passphrase is not None else f"the key file {ctx.locations.key_file}"
    ctx.out(f"Created the store {ctx.locations.store}, protected by {key}.")
    ctx.out(f"You ({workspace.user}) are its Organization Administrator.")
    if passphrase is None:
        ctx.out(
            f"Back up the key file {ctx.locations.key_file} (a password manager or an "
            "offline copy): without it nobody can open the store."
        )
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
    ws = ctx.load()
    events = list(ws.data.audit)
    if args.all:
        events = ws.file.archived_events() + events
    limit = args.limit if args.limit is not None else (len(events) if args.all else 50)
    events = list(reversed(events))[: max(limit, 0)]
    if args.json:
        ctx.out(to_json([e.model_dump(mode="json") for e in events]))
        return 0
    rows = [
        (
            when_text(e.at, seconds=True) + "Z",
            e.user,
            e.action,
            e.target,
            event_summary(e.fields, e.details),
        )
        for e in events
    ]
    ctx.out(table(["when (UTC)", "who", "action", "target", "what"], rows))
    return 0
