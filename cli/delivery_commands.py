"""`mailstage email send-test` and `mailstage sink`.

Registers its parsers only; the delivery libraries are imported when a command runs,
so that other commands start fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailstage.cli.arg_types import count, port_or_zero, seconds
from mailstage.cli.output import to_json
from mailstage.store.errors import DeliveryFailed, InvalidInput
from mailstage.store.paste import addresses_from_args

if TYPE_CHECKING:
    from mailstage.cli.context import CliContext
    from mailstage.mailer.send_test import SendTestResult
    from mailstage.mailer.steps import StepReport

MAX_TIMEOUT_SECONDS = 600
MAX_SINK_SIZE = 100 * 1024 * 1024


def register(groups: dict[str, Any]) -> None:
    p = groups["email"].add_parser(
        "send-test",
        help="send a test email through a stage's configuration, step by step",
        description="Connects, starts TLS, authenticates and sends a test message, "
        "reporting each step; on failure names the step, the server's reply and a hint.",
    )
    p.add_argument("stage")
    p.add_argument(
        "--to",
        action="append",
        default=[],
        metavar="ADDR",
        help="a recipient (repeat for several); default: the app's active test list, "
        "else its studio list",
    )
    p.add_argument("--app", metavar="APP", help="send as this app (its test list applies)")
    p.add_argument("--check-only", action="store_true", help="stop after AUTH: check, send nothing")
    p.add_argument("--timeout", type=seconds(0, 999_999), default=20.0, metavar="SECONDS")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="print the transcript (secrets redacted)"
    )
    p.set_defaults(func=cmd_send_test)

    p = groups["root"].add_parser(
        "sink",
        help="a local capture server: accepts any mail and keeps it as .eml files",
        description="An SMTP catch-all on loopback that accepts any login (PLAIN, LOGIN, "
        "XOAUTH2) and stores each message in a folder. Stop it with ctrl+c.",
    )
    p.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    p.add_argument(
        "--port", type=port_or_zero, default=2525, help="default 2525; 0 picks a free port"
    )
    p.add_argument("--dir", metavar="PATH", help="where to keep the messages")
    p.add_argument(
        "--tls", action="store_true", help="offer STARTTLS with a generated self-signed certificate"
    )
    p.add_argument(
        "--max-size",
        type=count,
        default=None,
        metavar="BYTES",
        help="refuse messages larger than this (default 10 MiB)",
    )
    p.add_argument(
        "--max-connections",
        type=count,
        default=None,
        metavar="N",
        help="clients served at once; more are told to retry later (default 4)",
    )
    p.set_defaults(func=cmd_sink)


def cmd_send_test(args: argparse.Namespace, ctx: CliContext) -> int:
    import asyncio

    from mailstage.mailer.send_test import send_test

    if not 0 < args.timeout <= MAX_TIMEOUT_SECONDS:
        raise InvalidInput(
            f"Timeout (timeout) must be more than 0 and at most {MAX_TIMEOUT_SECONDS} seconds.",
            [("timeout", "out of range")],
        )
    workspace = ctx.load()
    workspace.require_send_test()
    stage = workspace.stage(args.stage)
    app = workspace.app(args.app) if args.app else None
    if stage.email is None:
        raise InvalidInput(
            f"Stage {stage.name} has no email configuration; set one with: "
            f"mailstage email set {stage.name} --server HOST --auth basic|oauth2 ...",
            [("stage", "has no email configuration")],
        )

    def show_step(report: StepReport) -> None:
        if not args.json and report.status != "running":
            ctx.out(_step_line(report))
            ctx.stdout.flush()

    result = asyncio.run(
        send_test(
            stage.email,
            stage=stage,
            app=app,
            recipients=addresses_from_args(args.to),
            check_only=args.check_only,
            timeout=args.timeout,
            on_step=show_step,
            user=workspace.user,
        )
    )
    append_to_email_log(workspace, result, ctx)
    recipients = len(result.delivered_to or args.to or [])
    workspace.record_send_test(
        stage.name, app.name if app else None, recipients, result.outcome, result.tls_seen
    )
    if result.warning:
        ctx.warn(f"Warning: {result.warning}")
    if args.json:
        ctx.out(to_json(result.to_json()))
    if args.verbose and result.transcript:
        transcript = "\n".join(result.transcript)
        if args.json:
            ctx.warn(transcript)  # stdout holds the JSON only
        else:
            ctx.out(transcript)
    if not result.ok:
        raise DeliveryFailed(_failure_text(result))
    if not args.json:
        ctx.out(_success_text(result))
    return 0


def append_to_email_log(workspace: Any, result: SendTestResult, ctx: CliContext) -> None:
    from mailstage.mailer.maillog import append_to_store_log

    if warning := append_to_store_log(workspace.file, result.log_record()):
        ctx.warn(f"Warning: {warning}")


def _step_line(report: StepReport) -> str:
    mark = "ok  " if report.ok else "FAIL"
    return f"{mark} {report.name.value:<8} {report.ms:>6} ms  {report.detail}"


def _failure_text(result: SendTestResult) -> str:
    text = result.error or "The send test failed."
    if result.hint:
        text += f"\nHint: {result.hint}"
    return text


def _success_text(result: SendTestResult) -> str:
    if result.check_only:
        return "Check passed: connected, TLS and login work; nothing was sent."
    routed = " (redirected to the test list)" if result.redirected else ""
    return f"Sent to {', '.join(result.delivered_to)}{routed}."


def cmd_sink(args: argparse.Namespace, ctx: CliContext) -> int:
    import signal
    import threading

    from mailstage.mailer.capture import (
        DEFAULT_MAX_CONNECTIONS,
        DEFAULT_MAX_SIZE,
        CaptureServer,
    )

    if not 0 <= args.port <= 65535:
        raise InvalidInput("Port (port) must be from 0 to 65535.", [("port", "out of range")])
    max_size = DEFAULT_MAX_SIZE if args.max_size is None else args.max_size
    if not 1024 <= max_size <= MAX_SINK_SIZE:
        raise InvalidInput(
            f"Maximum size (max-size) must be from 1024 to {MAX_SINK_SIZE} bytes.",
            [("max-size", "out of range")],
        )
    max_connections = (
        DEFAULT_MAX_CONNECTIONS if args.max_connections is None else args.max_connections
    )
    if not 1 <= max_connections <= 64:
        raise InvalidInput(
            "Maximum connections (max-connections) must be from 1 to 64.",
            [("max-connections", "out of range")],
        )

    _log_captures_to(ctx.stdout)
    folder = Path(args.dir).expanduser() if args.dir else None
    server = CaptureServer(
        args.host,
        args.port,
        folder,
        tls=args.tls,
        max_size=max_size,
        max_connections=max_connections,
    )
    stop = threading.Event()
    previous = {
        number: signal.signal(number, lambda *_: stop.set())
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        server.start()
        ctx.out(f"Capturing mail on {server.host} port {server.port} into {server.folder}.")
        if server.cert_file is not None:
            ctx.out(f"STARTTLS offered; trust its certificate with --ca-file {server.cert_file}")
        ctx.out("Any login is accepted. Press ctrl+c to stop.")
        ctx.stdout.flush()
        stop.wait()
    finally:
        server.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)
    ctx.out("Stopped.")
    return 0


def _log_captures_to(stream: Any) -> None:
    """Show each login (mechanism and user, never the secret) and each captured message."""
    import logging

    from mailstage.store.visible_log import VisibleFormatter

    handler = logging.StreamHandler(stream)
    handler.setFormatter(VisibleFormatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("mailstage.capture")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
