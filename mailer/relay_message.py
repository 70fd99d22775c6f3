"""One message an app handed to the relay, made ready for the stage's server: the
test list decides the recipients (the one routing function), the envelope sender is
the stage's sender, and a missing From, Date or Message-ID is filled in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr, make_msgid

from mailstage.mailer.routing import route
from mailstage.store.models import App, EmailConfig, Stage

# Headers the app wrote are written back as they came (no refolding); only what
# routing or the relay adds is folded anew. CRLF on the wire.
_POLICY = default_policy.clone(refold_source="none", linesep="\r\n")


@dataclass(frozen=True)
class PreparedMessage:
    data: bytes
    recipients: list[str]  # the upstream envelope
    original: list[str]  # what the app asked for
    redirected: bool
    message_id: str
    subject: str


def prepare(
    content: bytes,
    envelope_recipients: list[str],
    *,
    app: App,
    stage: Stage,
    config: EmailConfig,
) -> PreparedMessage:
    """Raises InvalidInput when the test list is active but empty."""
    message = BytesParser(_class=EmailMessage, policy=_POLICY).parsebytes(content)
    assert isinstance(message, EmailMessage)
    routed = route(message, app=app, stage=stage, envelope=list(envelope_recipients))
    if message["From"] is None:
        message["From"] = formataddr((config.sender_name, config.sender_email))
    if message["Date"] is None:
        message["Date"] = format_datetime(datetime.now(UTC))
    if message["Message-ID"] is None:
        message["Message-ID"] = make_msgid(
            "mailstage", domain=config.sender_email.rpartition("@")[2]
        )
    return PreparedMessage(
        data=message.as_bytes(policy=_POLICY),
        recipients=routed.recipients,
        original=_unique(envelope_recipients),
        redirected=routed.redirected,
        message_id=_header_text(message, "Message-ID"),
        subject=_header_text(message, "Subject"),
    )


def _header_text(message: EmailMessage, name: str) -> str:
    try:
        value = message[name]
    except Exception:  # a header the parser cannot make sense of: log it as absent
        return ""
    return " ".join(str(value or "").split())


def _unique(addresses: list[str]) -> list[str]:
    return list(dict.fromkeys(addresses))
