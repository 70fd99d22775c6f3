"""`mailstage init`, `share`, `restore`, `locate` and `audit`: the store itself."""

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
    p = leaf(
        root,
        "init",
        "create the encrypted store; you become its administrator",
        "Creates the store (--store, MAILSTAGE_STORE, or the default data folder) and a "
        "new key file that opens it (--key-file, MAILSTAGE_KEY_FILE, or the default "
        "config folder), both readable by you only. You become its Organization "
        "Administrator. Back up the key file: without it nobody can open the store.\n\n"
        "With --passphrase the store opens with a passphrase instead (at least "
        f"{MIN_PASSPHRASE} characters, from MAILSTAGE_PASSPHRASE or a prompt).\n\n"
        "With --group GROUP (team mode) the store's folder is shared with that OS group "
        "(2770, setgid), the store and its files are 0660 and the key file sits beside "
        "the store, 0640: each admin works under their own login.\n\n"
        "With --store postgresql://USER@HOST/DB the store goes into that (empty) database: "
        "its tables are created, the key file stays on this host, and the database role "
        "you connect as becomes the Organization Administrator.",
        [
            "mailstage init",
            "mailstage --store postgresql://alice@db.example.org/mailstage init",
            "mailstage --store /srv/mail/store.json init --passphrase",
            "mailstage --store /srv/mailstage/store.json init --group mailadmins",
        ],
    )
    p.add_argument(
        "--passphrase",
        action="store_true",
        help="protect the store with a passphrase (MAILSTAGE_PASSPHRASE or a prompt) "
        "instead of a key file",
    )
    p.add_argument(
        "--group",
        metavar="GROUP",
        help="team mode: the store's folder is shared with this OS group (2770), its files "
        "0660 and the key file beside the store 0640",
    )
    p.set_defaults(func=cmd_init)
    p = leaf(
        root,
        "share",
        "turn an existing private store into a team's store shared with a group",
        "The store's folder becomes the group's (2770, setgid), its files 0660, and the "
        "key file is copied beside the store (0640); the group is recorded in the store. "
        "Needs Manage Members. Each admin then works under their own login.",
        ["mailstage --store /srv/mailstage/store.json share --group mailadmins"],
    )
    p.add_argument("--group", metavar="GROUP", required=True, help="an OS group you are in")
    p.set_defaults(func=cmd_share)
    p = leaf(
        root,
        "restore",
        "adopt on purpose a store older than (or other than) the one you saw",
        "mailstage remembers, per user, the newest version and the id of each store it "
        "opened, and refuses an older copy put back in place (a restored backup) or "
        "another store swapped in. After restoring a backup on purpose, this accepts the "
        "store as it is now; the acceptance is recorded in the audit trail.",
        ["mailstage restore --accept-older"],
    )
    p.add_argument(
        "--accept-older",
        action="store_true",
        required=True,
        help="confirm that the older or other store in place is the one to use from now on",
    )
    p.set_defaults(func=cmd_restore)
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
    p = leaf(
        root,
        "check",
        "read and verify every part of the store, its audit archive and email log",
        "Commands decrypt only the parts they need, so a damaged part can go unnoticed "
        "until something reads it. This opens every one and names each that fails. Exit "
        "0 when all are whole, 5 when one is not (or the store does not open at all).",
        ["mailstage check", "mailstage check --json"],
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_check)


def cmd_init(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.store.sharing import PRIVATE, team_sharing
    from mailstage.store.workspace import Workspace

    sharing = team_sharing(args.group) if args.group else PRIVATE
    locations = ctx.locations
    if sharing.team and not (args.key_file or os.environ.get("MAILSTAGE_KEY_FILE")):
        locations = locations.beside_key()  # every member reads the key beside the store
    passphrase = None
    if args.passphrase:
        passphrase = os.environ.get("MAILSTAGE_PASSPHRASE") or prompt_passphrase(confirm=True)
        check_new_passphrase(passphrase)
    workspace = Workspace.init(locations, passphrase=passphrase, sharing=sharing)
    key = "a passphrase" if passphrase is not None else f"the key file {locations.key_file}"
    ctx.out(f"Created the store {locations.shown}, protected by {key}.")
    ctx.out(f"You ({workspace.user}) are its Organization Administrator.")
    if passphrase is None:
        ctx.out(
            f"Back up the key file {locations.key_file} (a password manager or an "
            "offline copy): without it nobody can open the store."
        )
    if locations.database is not None:
        ctx.out(
            "Each host that opens it needs a copy of that key file (see README, "
            "PostgreSQL); add each admin's database role with: mailstage member add ROLE "
            "--role ROLE_NAME"
        )
    if sharing.team:
        ctx.out(
            f"It is shared with the group {sharing.group}: add each admin with "
            f"mailstage member add LOGIN --role ROLE, and let them set "
            f"MAILSTAGE_STORE={locations.store}"
        )
    return 0


def cmd_share(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.store.sharing import team_sharing

    sharing = team_sharing(args.group)
    workspace = ctx.load()
    workspace.share(sharing)
    ctx.out(
        f"The store {workspace.file.locations.store} is now shared with the group "
        f"{sharing.group}; its key file is {workspace.file.locations.key_file}."
    )
    return 0


def cmd_restore(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.store.workspace import Workspace

    workspace = Workspace.open(ctx.locations, passphrase=ctx.passphrase(), accept_older=True)
    details = workspace.accept_older()
    seen_version = details.get("seen_version")
    before = f" (you had seen version {seen_version})" if seen_version is not None else ""
    ctx.out(
        f"Accepted the store {ctx.locations.shown} as it is, version "
        f"{details['found_version']}{before}; this was recorded in the audit trail."
    )
    return 0


def cmd_locate(args: argparse.Namespace, ctx: CliContext) -> int:
    where = {"store": ctx.locations.shown, "key_file": str(ctx.locations.key_file)}
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


def cmd_check(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.cli.log_check import email_log_check
    from mailstage.store.check import check_store

    parts = check_store(ctx.locations, ctx.passphrase(), [email_log_check(ctx.locations)])
    bad = [p.part for p in parts if not p.ok]
    if args.json:
        ctx.out(
            to_json(
                {
                    "ok": not bad,
                    "store": ctx.locations.shown,
                    "parts": [{"part": p.part, "ok": p.ok, "detail": p.detail} for p in parts],
                }
            )
        )
    else:
        rows = [("ok" if p.ok else "DAMAGED", p.part, p.detail) for p in parts]
        ctx.out(table(["", "part", "detail"], rows))
    if not bad:
        return 0
    backup = (
        f"the previous save is kept as {ctx.locations.store}.bak"
        if ctx.locations.database is None
        else "restore the database from its backup"
    )
    ctx.warn(
        f"The store {ctx.locations.shown} has {len(bad)} damaged part(s): "
        f"{'; '.join(bad)}; the key is right (it opened the header). Nothing was changed; "
        f"{backup}."
    )
    return 5
