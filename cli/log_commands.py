"""`mailstage log`: the email log (what the relay and Send test handled), newest first."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from mailstage.cli.arg_types import count
from mailstage.cli.context import CliContext
from mailstage.store.errors import InvalidInput
from mailstage.store.text import json_escape_unsafe, visible

if TYPE_CHECKING:
    from mailstage.mailer.maillog import LogRecord

OUTCOMES = ("sent", "refused", "deferred", "queued", "expired", "deleted")


def register(groups: dict[str, Any]) -> None:
    p = groups["root"].add_parser(
        "log",
        help="the email log: every message the relay or Send test handled, newest first",
        description="Every message the relay or Send test handled: who sent it, to whom it "
        "went, and what the server answered. --follow keeps printing new records.",
    )
    p.add_argument("--app", metavar="APP")
    p.add_argument("--stage", metavar="STAGE")
    p.add_argument("--outcome", choices=OUTCOMES)
    p.add_argument("--limit", type=count, default=50, metavar="N")
    p.add_argument("--json", action="store_true", help="one JSON object a line")
    p.add_argument("--follow", action="store_true", help="then print new records as they come")
    p.set_defaults(func=cmd_log)


def cmd_log(args: argparse.Namespace, ctx: CliContext) -> int:
    from mailstage.mailer.maillog import MailLog, newest_first

    if args.limit < 1:
        raise InvalidInput("Limit (limit) must be 1 or more.", [("limit", "out of range")])
    workspace = ctx.load()
    log = MailLog.of_store(workspace.file)
    wanted = {"app": args.app, "stage": args.stage, "outcome": args.outcome}
    shown = newest_first(log.read(), limit=args.limit, **wanted)
    for record in shown:
        _print(ctx, record, as_json=args.json)
    if log.skipped:
        ctx.warn(f"{log.skipped} record(s) could not be read (another store's key, or damaged).")
    if not shown and not args.json and not args.follow:
        ctx.out("No records.")
    if args.follow:
        ctx.stdout.flush()
        for record in log.follow():
            if newest_first([record], **wanted):
                _print(ctx, record, as_json=args.json)
                ctx.stdout.flush()
    return 0


def _print(ctx: CliContext, record: LogRecord, *, as_json: bool) -> None:
    if as_json:
        # one line a record; a control character in a subject cannot reach the terminal raw
        ctx.out(json_escape_unsafe(json.dumps(record.to_json(), ensure_ascii=False)))
        return
    ctx.out(record_line(record))


def record_line(record: LogRecord) -> str:
    """One line: time, outcome, stage/app, source, subject, who received it, the reply."""
    who = ", ".join(record.delivered_to or record.recipients)
    routed = " (test list)" if record.redirected else ""
    app = f"/{record.app}" if record.app else ""
    refused = "".join(f"; refused {address}: {words}" for address, words in record.refused.items())
    return visible(
        f"{record.time}  {record.outcome:<8} {record.stage}{app}  {record.source}  "
        f"{record.subject!r} -> {who}{routed}  {record.reply}{refused}  {record.ms} ms"
    )
