"""DATA for a message that is already bytes (the relay's): sent in chunks that end at
line ends, each dot-stuffed and its line ends made CRLF on its own, waiting while the
connection's write buffer is full. aiosmtplib's data() makes the whole message over
at once (line ends, dot-stuffing, the final dot: some 4.5 times a 25 MiB message in
memory); here a message costs about one chunk more than itself.

A failure before the final dot is written raises NotHandedOver: the server cannot
have taken a message it never saw end, so the caller may say "not sent". After it,
aiosmtplib's own exceptions (a timeout, a disconnect) mean the outcome is unknown.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiosmtplib import SMTP, SMTPResponse

CHUNK = 256 * 1024
BARE_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")  # a CR or LF that is not part of CRLF


class NotHandedOver(Exception):
    """The connection failed (or stalled) before the message's end was sent."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def chunks(data: bytes, size: int = CHUNK) -> list[tuple[int, int]]:
    """(start, end) offsets of pieces of about ``size`` bytes, each ending just after a
    line end (the last one at the end of the data), so each starts at a line start."""
    pieces: list[tuple[int, int]] = []
    start = 0
    while start < len(data):
        cut = data.find(b"\n", min(start + size, len(data)) - 1)
        end = len(data) if cut < 0 else cut + 1
        pieces.append((start, end))
        start = end
    return pieces


def has_bare_line_ends(data: bytes, start: int = 0) -> bool:
    """Whether data[start:] has a CR or LF outside CRLF (three counts: no pattern run
    over a message that has none, the usual case)."""
    line_ends = data.count(b"\r\n", start)
    return data.count(b"\n", start) != line_ends or data.count(b"\r", start) != line_ends


def wire_form(piece: bytes) -> bytes:
    """A piece (starting at a line start) as it goes after DATA: line ends CRLF, a line
    starting with a dot doubled (plain replace: far faster than a pattern)."""
    if has_bare_line_ends(piece):
        piece = BARE_LINE_END.sub(b"\r\n", piece)
    stuffed = piece.replace(b"\n.", b"\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


async def send_data(smtp: SMTP, data: bytes, *, timeout: float) -> SMTPResponse:
    """DATA, the message, the final dot; returns the reply to the end (2xx). Raises
    aiosmtplib's SMTPDataError for a refusal, NotHandedOver for a failure before the
    end was sent, aiosmtplib's timeout or disconnect errors after it."""
    from aiosmtplib import SMTPDataError, SMTPServerDisconnected

    start = await smtp.execute_command(b"DATA", timeout=timeout)
    if start.code != 354:
        raise SMTPDataError(start.code, start.message)
    protocol = smtp.protocol
    if protocol is None:
        raise NotHandedOver(SMTPServerDisconnected("Connection lost"))
    # a reply the server sends before the end (some refuse early) is kept for the read
    protocol._response_pending = True
    try:
        async with asyncio.timeout(timeout):
            pieces = chunks(data)
            for begin, end in pieces[:-1]:
                protocol.write(wire_form(data[begin:end]))
                await protocol._drain_helper()  # flow control: the buffer drains first
            last = wire_form(data[pieces[-1][0] : pieces[-1][1]]) if pieces else b""
            if last and not last.endswith(b"\r\n"):
                last += b"\r\n"
            protocol.write(last + b".\r\n")  # one write: a small message is one TLS record
    except (OSError, SMTPServerDisconnected, TimeoutError) as exc:
        smtp.close()
        raise NotHandedOver(exc) from None
    try:
        response = await protocol.read_response(timeout=timeout)
    except Exception:
        smtp.close()
        raise
    if response.code // 100 != 2:
        raise SMTPDataError(response.code, response.message)
    return response
