"""The message an app sends after DATA, read up to the line holding only a dot.

Fed the bytes as they arrive (relay/app_session.py hands over what each read brought)
into one buffer, not line by line into a list: aiosmtpd's own reading kept a 25 MiB
message as some 340,000 line objects, about 3 times its size, before joining them. The
rules are RFC 5321's: the end is CRLF "." CRLF (or "." CRLF right after DATA's 354), a
line starting with a dot loses that dot (4.5.2), a line longer than 1,000 characters
with its CRLF (4.5.3.1.6) or a message over the size limit is read to its end and
refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

END = b".\r\n"
LINE_END_THEN_END = b"\r\n" + END


@dataclass(frozen=True)
class Received:
    content: bytes | None  # None when refused
    refusal: Literal["too_much", "too_long"] | None = None


class MessageReader:
    """One message's bytes, fed in pieces; ``feed`` answers once the end has come."""

    def __init__(self, *, size_limit: int | None, line_limit: int) -> None:
        self.size_limit = size_limit
        self.line_limit = line_limit
        self._buffer = bytearray()
        self._size = 0  # bytes taken, the end included
        self._too_much = False  # then the buffer keeps only the tail that finds the end

    def feed(self, data: bytes | bytearray) -> tuple[Received, bytes] | None:
        """None while the end has not come; else the message (or its refusal) and what
        came after the end (the app's next commands), which is not the message's."""
        searched = max(0, len(self._buffer) - len(LINE_END_THEN_END) + 1)
        self._buffer += data
        if not self._too_much and self._buffer.startswith(END):  # nothing before the dot
            rest = bytes(self._buffer[len(END) :])
            self._buffer.clear()
            return Received(b""), rest
        found = self._buffer.find(LINE_END_THEN_END, searched)
        if found < 0:
            self._size += len(data)
            if self.size_limit and self._size - len(END) > self.size_limit:
                self._too_much = True
                del self._buffer[: -len(LINE_END_THEN_END)]  # only what may start the end
            return None
        end = found + len(LINE_END_THEN_END)
        rest = bytes(self._buffer[end:])
        self._size += len(data) - len(rest)
        del self._buffer[end:]
        if self._too_much or (self.size_limit and self._size - len(END) > self.size_limit):
            return Received(None, "too_much"), rest
        del self._buffer[-len(END) :]
        return self._message(), rest

    def _message(self) -> Received:
        buffer = self._buffer
        if _line_too_long(buffer, self.line_limit):
            return Received(None, "too_long")
        if buffer.startswith(b"."):
            del buffer[0]
        # plain replace, not a regular expression: some 50 times faster on 25 MiB
        return Received(bytes(buffer.replace(b"\r\n.", b"\r\n")))


def _line_too_long(content: bytearray, line_limit: int) -> bool:
    """A line (its CRLF included) longer than ``line_limit``. The pattern is anchored
    on a line end so it is tried once a line, not at every byte."""
    first = content.find(b"\n")
    if (first if first >= 0 else len(content)) >= line_limit:
        return True
    return re.search(rb"\n[^\n]{%d}" % line_limit, content) is not None
