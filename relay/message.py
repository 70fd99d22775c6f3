"""One message an app handed to the relay, made ready for the stage's server: the
test list decides the recipients (the one routing function), the envelope sender is
the stage's sender, and a missing From, Date or Message-ID is filled in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid

from mailstage.mailer.routing import route
from mailstage.mailer.smtp_data import BARE_LINE_END, has_bare_line_ends
from mailstage.relay.events import SecondStamp
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
    fields, body = _plain_header(content)
    if fields is not None:  # the usual case: the header's own lines kept as they came
        message = EmailMessage(policy=_PARSE)
        for name, value, _ in fields:
            message.set_raw(name, value)
        kept = {(name, value): raw for name, value, raw in fields}
    else:
        header, body = _split(content)
        parser = BytesParser(_class=EmailMessage, policy=_PARSE)
        parsed = parser.parsebytes(header, headersonly=True)
        assert isinstance(parsed, EmailMessage)
        message, kept = parsed, {}
    routed = route(message, app=app, stage=stage, envelope=list(envelope_recipients))
    if message["From"] is None:
        message["From"] = formataddr((config.sender_name, config.sender_email))
    if message["Date"] is None:
        message["Date"] = _date_now()  # made once a second
    if message["Message-ID"] is None:
        message["Message-ID"] = make_msgid(
            "mailstage", domain=config.sender_email.rpartition("@")[2]
        )
    if fields is not None:
        # a field route() or this function added is written as the generator would
        lines = [_kept_or_written(item, kept) for item in message.raw_items()]
        data = b"".join((*lines, b"\r\n", body))
    else:
        data = b"".join((message.as_bytes(policy=_WRITE), body))
    return PreparedMessage(
        data=data,
        recipients=routed.recipients,
        original=_unique(envelope_recipients),
        redirected=routed.redirected,
        message_id=_header_text(message, "Message-ID"),
        subject=_header_text(message, "Subject"),
    )


def _plain_header(
    content: bytes,
) -> tuple[list[tuple[str, str, bytes]] | None, memoryview | bytes]:
    """The header's fields (name, value as compat32 reads it, the field's own lines)
    and the body, read without the email parser, when the header is plain: CRLF line
    ends only, every line a field (a name, then at once its colon) or the continuation
    of one, no mbox From line. Else (None, b""): the parser's reading is the rule."""
    end = content.find(b"\r\n\r\n")
    block = content[:end] if end >= 0 else content.removesuffix(b"\r\n")
    if (
        not block
        or block.count(b"\n") != block.count(b"\r\n")
        or block.count(b"\r") != block.count(b"\r\n")
        or block.startswith(b"From ")
        or _PLAIN_FIELD.match(block) is None
        or _NOT_PLAIN_LINE.search(block) is not None
    ):
        return None, b""
    fields: list[tuple[str, str, bytes]] = []
    start = 0
    for found in _FIELD_START.finditer(block, 1):
        fields.append(_field(block[start : found.start()]))
        start = found.start() + 2
    fields.append(_field(block[start:]))
    return fields, _body(content, end + 4) if end >= 0 else b""


def _kept_or_written(item: tuple[str, str], kept: dict[tuple[str, str], bytes]) -> bytes:
    """A field of the app's as it came (the same name and value: the same field); one
    route() or prepare() added, as the generator writes it."""
    return kept.get(item) or written_field(*item)


def written_field(name: str, value: str) -> bytes:
    """The field as compat32's generator writes it. A short value of printable ASCII
    words with single spaces (a Date, a Message-ID, most From lines) is written as it
    is, which is what the generator's folding makes of it, some 20 times faster."""
    if (
        len(name) + len(value) <= _SHORT_FIELD
        and value.isascii()
        and _ONE_LINE_WORDS.fullmatch(value) is not None
    ):
        return f"{name}: {value}\r\n".encode("ascii")
    return _WRITE.fold_binary(name, value)


def _field(raw: bytes) -> tuple[str, str, bytes]:
    """One field's lines as compat32's header_source_parse reads them."""
    name, _, value = raw.decode("ascii", "surrogateescape").partition(":")
    return name, value.lstrip(" \t"), raw + b"\r\n"


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
    return header, _body(content, start)


def _body(content: bytes, start: int) -> memoryview | bytes:
    """content[start:] with CRLF line ends: a view (not copied until the prepared
    message is put together) unless a bare CR or LF had to be made CRLF."""
    body = memoryview(content)[start:]
    return BARE_LINE_END.sub(b"\r\n", body) if has_bare_line_ends(content, start) else body


def _header_text(message: EmailMessage, name: str) -> str:
    """A header as people read it: encoded words decoded, raw 8-bit bytes read as UTF-8.
    The value is taken as stored (raw_items): compat32's get() wraps one with 8-bit bytes
    in a Header whose text has one replacement character per byte."""
    wanted = name.lower()
    raw = next((value for key, value in message.raw_items() if key.lower() == wanted), None)
    if raw is None:
        return ""
    if isinstance(raw, str) and raw.isascii() and "=?" not in raw:  # no encoded word
        return " ".join(raw.split())
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


_date_now = SecondStamp(format_datetime)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_SHORT_FIELD = 76  # with ": " at most 78 characters, RFC 5322 2.1.1's line
_ONE_LINE_WORDS = re.compile(r"[!-~]+(?: [!-~]+)*")
# the email parser's reading of a header line: a field's name runs up to its colon
_PLAIN_FIELD = re.compile(rb"[\041-\071\073-\176]+:")
_NOT_PLAIN_LINE = re.compile(rb"\r\n(?![ \t]|[\041-\071\073-\176]+:)")
_FIELD_START = re.compile(rb"\r\n(?![ \t])")
_LINE_BREAK = re.compile(rb"\r?\n")
# a line that neither starts a field (printable ASCII name, colon) nor continues one
_NOT_A_FIELD = re.compile(rb"^(?![ \t])(?![!-9;-~]+[ \t]*:)", re.M)


def _unique(addresses: list[str]) -> list[str]:
    return list(dict.fromkeys(addresses))
