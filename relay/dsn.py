"""Delivery status notifications (RFC 3464) for `--notify-to`: a multipart/report that
says, per recipient, that a queued message was refused or expired, with upstream's
words, and carries the original message's headers (never its body)."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid

from mailstage.relay.queue import QueueEntry
from mailstage.store.models import EmailConfig
from mailstage.store.text import visible


def status_of(reply: str, *, expired: bool) -> str:
    """The enhanced status code for a recipient: the reply's own (5.1.1) when it has
    one, else 5.0.0; an expiry is 4.4.7 (delivery time expired)."""
    words = reply.split()
    if len(words) > 1 and words[1][:2] in ("4.", "5.") and words[1].count(".") == 2:
        code = words[1]
        return code if not expired else "4.4.7" if code[0] == "4" else code
    return "4.4.7" if expired else "5.0.0"


def build_dsn(
    entry: QueueEntry,
    failed: dict[str, str],
    *,
    config: EmailConfig,
    notify_to: str,
    reporting_host: str,
    expired: bool,
) -> bytes:
    """The notification as bytes, ready for upstream. ``failed``: recipient -> reply."""
    why = "expired in the queue" if expired else "was refused for some recipients"
    subject = visible(f"Delivery status: {(entry.subject or entry.message_id or entry.id)[:120]}")
    domain = config.sender_email.rpartition("@")[2]
    boundary = f"mailstage-dsn-{secrets.token_hex(12)}"
    headers = [
        f"From: {formataddr(('mailstage relay', config.sender_email))}",
        f"To: {notify_to}",
        f"Subject: {Header(f'{subject} {why}', 'utf-8').encode()}",
        f"Date: {format_datetime(datetime.now(UTC))}",
        f"Message-ID: {make_msgid('mailstage-dsn', domain=domain)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
    ]
    lines = [
        f"The relay for stage {entry.stage} could not deliver a message of app "
        f"{entry.app or '-'} (queue entry {entry.id}, {entry.message_id or 'no Message-ID'}) "
        f"to {len(failed)} recipient(s):",
        "",
        *(f"  {address}: {visible(reply)}" for address, reply in failed.items()),
    ]
    if entry.accepted:
        lines += ["", f"It was delivered to {len(entry.accepted)} other recipient(s)."]
    text = base64.encodebytes("\n".join(lines).encode("utf-8")).decode("ascii")
    arrival = format_datetime(datetime.fromtimestamp(entry.queued_at, UTC))
    status = [f"Reporting-MTA: dns; {reporting_host}", f"Arrival-Date: {arrival}"]
    for address, reply in failed.items():
        status += [
            "",
            f"Final-Recipient: rfc822; {_one_line(address)}",
            "Action: failed",
            f"Status: {status_of(reply, expired=expired)}",
            f"Diagnostic-Code: smtp; {_one_line(reply)}",
        ]
    original_headers = entry.message.partition(b"\r\n\r\n")[0].decode("ascii", "replace")
    parts = [
        "\r\n".join(headers),
        "",
        "This is a delivery status notification (RFC 3464).",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        text.rstrip("\n").replace("\n", "\r\n"),
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        "\r\n".join(status),
        "",
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
        original_headers,
        "",
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(parts).encode("ascii", "replace")


def _one_line(text: str) -> str:
    """Printable ASCII on one line (a DSN field; the address keeps its xn-- form upstream)."""
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return " ".join(cleaned.split())[:400]
