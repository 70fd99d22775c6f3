"""The test message: says which stage and app it came from and who sent it."""

from __future__ import annotations

import html
import socket
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from mailstage.mailer.intl_addresses import ascii_domain
from mailstage.store.models import App, EmailConfig, Stage

# in the body until the session knows whether TLS was used (see with_connection)
CONNECTION = "connection not made yet"


def build_test_message(
    config: EmailConfig, *, stage: Stage, app: App | None, recipients: list[str], user: str
) -> EmailMessage:
    origin = f"stage {stage.name}" + (f", app {app.name}" if app is not None else "")
    sender = user or "an unknown user"
    host = _host_name()
    now = datetime.now(UTC)

    message = EmailMessage()
    # an Address, not formataddr: that one fails on an international sender address
    message["From"] = Address(display_name=config.sender_name, addr_spec=config.sender_email)
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"mailstage test from {origin}"
    message["Date"] = format_datetime(now)
    domain = ascii_domain(config.sender_email.rpartition("@")[2])
    message["Message-ID"] = make_msgid("mailstage", domain=domain)
    message["X-Mailer"] = "mailstage"

    lines = [
        f"This is a test email sent by mailstage from {origin}.",
        "",
        f"Sent by: {sender} on {host}",
        f"Server: {config.server}:{config.port} ({CONNECTION}, {config.auth_label})",
        f"Sender: {config.sender_email}",
        f"Time: {now.isoformat(timespec='seconds')}",
        "",
        "If you received it, this stage's email configuration works.",
    ]
    message.set_content("\n".join(lines) + "\n")
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    message.add_alternative(
        f"<!DOCTYPE html><html><body><h1>mailstage test</h1>{paragraphs}</body></html>\n",
        subtype="html",
    )
    return message


def describe_connection(tls: str) -> str:
    """What the connection was, as it happened: the TLS version and cipher, or plain."""
    return f"TLS: {tls}" if tls else "no TLS: plain text to a loopback address"


def with_connection(message: EmailMessage, tls: str) -> None:
    """Write what the session did (TLS or not) into the body's Server line, in place."""
    for part in message.walk():
        if part.get_content_maintype() != "text":
            continue
        text = part.get_content()
        if CONNECTION in text:
            shown = describe_connection(tls)
            subtype = part.get_content_subtype()
            part.set_content(
                text.replace(CONNECTION, html.escape(shown) if subtype == "html" else shown),
                subtype=subtype,
            )


def _host_name() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return "unknown host"
