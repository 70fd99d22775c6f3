"""One message an app handed to the relay, made ready for the stage's server: the
test list decides the recipients (the one routing function), the envelope sender is
the stage's sender, and a missing From, Date or Message-ID is filled in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid

from mailstage.mailer.routing import route
from mailstage.store.models import App, EmailConfig, Stage

# compat32 keeps header values as the plain text the app wrote (no parsing into
# structured objects: ~10x faster than the default policy, which is what keeps the
# relay's added latency low). Only the header block is parsed: the body goes on as the
# bytes it came as (line ends made CRLF), never turned into text and back, which for a
# 25 MiB message cost some 100 MiB of memory.
_PARSE = compat32
_WRITE = compat32.clone(linesep="\r\n")


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
    header, body = _split(content)
    message = BytesParser(_class=EmailMessage, policy=_PARSE).parsebytes(header, headersonly=True)
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
        data=b"".join((message.as_bytes(policy=_WRITE), body)),
        recipients=routed.recipients,
        original=_unique(envelope_recipients),
        redirected=routed.redirected,
        message_id=_header_text(message, "Message-ID"),
        subject=_header_text(message, "Subject"),
    )


def _split(content: bytes) -> tuple[bytes, memoryview | bytes]:
    """The header block (its lines, then the blank line) and the body, CRLF line ends
    (as SMTP has them; a bare LF or CR from a careless app is made CRLF, as the parser
    did when it read the whole message). The body is a view:
    not copied until the prepared message is put together."""
    first = _LINE_BREAK.match(content)
    if first is not None:  # no header at all
        header, start = b"\r\n", first.end()
    else:
        end = _HEADER_END.search(content)
        if end is None:  # no body
            header, start = content, len(content)
        else:
            header, start = content[: end.start()] + b"\r\n\r\n", end.end()
    body: memoryview | bytes = memoryview(content)[start:]
    line_ends = content.count(b"\r\n", start)
    if content.count(b"\n", start) != line_ends or content.count(b"\r", start) != line_ends:
        body = _BARE_LINE_END.sub(b"\r\n", body)
    return header, body


def _header_text(message: EmailMessage, name: str) -> str:
    """A header as people read it: encoded words decoded, raw 8-bit bytes read as UTF-8.
    The value is taken as stored (raw_items): compat32's get() wraps one with 8-bit bytes
    in a Header whose text has one replacement character per byte."""
    wanted = name.lower()
    raw = next((value for key, value in message.raw_items() if key.lower() == wanted), None)
    if raw is None:
        return ""
    text = str(raw).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        text = str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeError):  # a malformed encoded word: as written
        pass
    return " ".join(text.split())


def header_refusal(content: bytes) -> str | None:
    """Why the message's header cannot be passed on, as a 554 reply, or None: a header
    that is not UTF-8 (RFC 6532) or a line in the header that is no header field (the
    parser would make it and every header after it part of the body). Either is for
    good: retrying changes nothing."""
    if not content or content[:1] in (b"\r", b"\n"):
        return None  # no header at all: the relay adds From, Date and Message-ID
    end = _HEADER_END.search(content)
    block = content[: end.start()] if end else content.rstrip(b"\r\n")
    if block.isascii() and _NOT_A_FIELD.search(block) is None:
        return None  # the usual case, found without splitting the header
    for number, line in enumerate(_LINE_BREAK.split(block), start=1):
        if _NOT_A_FIELD.match(line):
            shown = line[:60].decode("ascii", "backslashreplace")
            return (
                f"554 5.6.0 Line {number} of the message header is no header field "
                f"(Name: value): {shown}. Fix the message; sending it again changes nothing."
            )
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            field = line.split(b":", 1)[0].decode("ascii", "backslashreplace")
            return (
                f"554 5.6.0 The message header {field} is not valid UTF-8 (byte "
                f"\\x{line[exc.start]:02x}); encode it as MIME encoded words or UTF-8."
            )
    return None


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LINE_BREAK = re.compile(rb"\r?\n")
_BARE_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")
# a line that neither starts a field (printable ASCII name, colon) nor continues one
_NOT_A_FIELD = re.compile(rb"^(?![ \t])(?![!-9;-~]+[ \t]*:)", re.M)


def _unique(addresses: list[str]) -> list[str]:
    return list(dict.fromkeys(addresses))
