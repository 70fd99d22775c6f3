"""`mailstage queue`: the relay's queued messages (list, retry, hold, release, delete)."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from mailstage.cli.confirm import add_yes, require_yes
from mailstage.cli.context import CliContext
from mailstage.cli.help_text import leaf
from mailstage.cli.output import table
from mailstage.store.errors import InvalidInput
from mailstage.store.text import json_escape_unsafe

STEERING = "Needs the permission Manage Email Configurations."


def register(groups: dict[str, Any]) -> None:
    queue = groups["queue"]
    p = leaf(
        queue,
        "list",
        "the messages the relay still has to deliver",
        "Every message the relay answered `250 Queued` for and has not yet delivered, "
        "refused, expired or had deleted, oldest first: its id, stage, app, state (queued, "
        "held, sending), age, attempts, next attempt and upstream's last reply.",
        ["mailstage queue list", "mailstage queue list --stage QA --json"],
    )
    p.add_argument("--stage", metavar="STAGE", help="only this stage's messages")
    p.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    p.set_defaults(func=cmd_queue_list)
    p = leaf(
        queue,
        "retry",
        "try a queued message again now",
        "The message (or --all) is due at once: a running relay tries it within a second. "
        "A held message stays held. " + STEERING,
        ["mailstage queue retry 3f2a9c01b4d7", "mailstage queue retry --all --stage QA"],
    )
    p.add_argument("id", nargs="?", help="the queue entry's id (from `mailstage queue list`)")
    p.add_argument("--all", action="store_true", help="every queued message")
    p.add_argument("--stage", metavar="STAGE", help="with --all: only this stage's messages")
    p.set_defaults(func=cmd_queue_retry)
    for name, summary, what in (
        ("hold", "keep a queued message from being sent", "The relay leaves it alone until "),
        ("release", "let a held message be sent again", "Undoes "),
    ):
        p = leaf(
            queue,
            name,
            summary,
            what
            + ("`mailstage queue release ID`. " if name == "hold" else "`queue hold`. ")
            + STEERING,
            [f"mailstage queue {name} 3f2a9c01b4d7"],
        )
        p.add_argument("id", help="the queue entry's id")
        p.set_defaults(func=cmd_queue_hold if name == "hold" else cmd_queue_release)
    p = leaf(
        queue,
        "delete",
        "drop a queued message for good",
        "The message is never sent (to the recipients that have not yet accepted it); "
        "the deletion is audited and logged `deleted` in the email log. " + STEERING,
        ["mailstage queue delete 3f2a9c01b4d7 --yes"],
    )
    p.add_argument("id", help="the queue entry's id")
    add_yes(p)
    p.set_defaults(func=cmd_queue_delete)


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


def cmd_queue_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.relay import steering
    from mailstage.relay.steering import age_text as _age

    items = steering.entries(ctx.load(), args.stage)
    if args.json:
        listed = [
            item.to_json()
            | {"queued_at": _iso(item.queued_at), "next_attempt": _iso(item.next_attempt)}
            for item in items
        ]
        ctx.out(json_escape_unsafe(json.dumps(listed, ensure_ascii=False, indent=2)))
        return 0
    if not items:
        ctx.out("The queue is empty.")
        return 0
    now = time.time()
    ctx.out(
        table(
            ["id", "stage", "app", "state", "age", "attempts", "next", "subject", "last reply"],
            [
                (
                    item.id,
                    item.stage,
                    item.app or "-",
                    item.state,
                    _age(now - item.queued_at),
                    str(item.attempts),
                    "now" if item.next_attempt <= now else "in " + _age(item.next_attempt - now),
                    item.subject[:40],
                    item.last_reply[:60],
                )
                for item in items
            ],
        )
    )
    return 0


def cmd_queue_retry(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.relay import steering

    if (args.id is None) == (not args.all):
        raise InvalidInput(
            "Queue entry (id): give one id or --all, not both and not neither.",
            [("id", "one id or --all")],
        )
    if args.stage is not None and not args.all:
        raise InvalidInput("Stage (stage) goes with --all only.", [("stage", "with --all")])
    retried = steering.retry(ctx.load(), args.id, args.stage)
    if args.id is not None:
        ctx.out(f"Queue entry {args.id} is due now: a running relay tries it within a second.")
    else:
        ctx.out(f"{len(retried)} queued message(s) due now.")
    return 0


def cmd_queue_hold(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.relay import steering

    steering.hold(ctx.load(), args.id)
    ctx.out(f"Queue entry {args.id} is held: the relay leaves it until it is released.")
    return 0


def cmd_queue_release(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.relay import steering

    entry = steering.release(ctx.load(), args.id)
    when = "now" if entry.next_attempt <= time.time() else f"at {_iso(entry.next_attempt)}"
    ctx.out(f"Queue entry {args.id} is released: the relay tries it {when}.")
    return 0


def cmd_queue_delete(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.relay import steering

    require_yes(args, f"Deleting queue entry {args.id} drops the message for good.")
    entry, warning = steering.delete(ctx.load(), args.id)
    ctx.out(
        f"Queue entry {entry.id} ({entry.app or '-'}, stage {entry.stage}) is deleted; "
        f"{len(entry.pending)} recipient(s) will not receive it."
    )
    if warning:
        ctx.warn(warning)
    return 0
