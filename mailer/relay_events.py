"""The relay's event lines on stderr: one line per event, UTC time first, control
characters made visible, never a body, a password or a token."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from typing import TextIO

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def visible(text: object) -> str:
    """One line with every control or bidi character shown as an escape."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(escape, str(text))


class EventLog:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def event(self, text: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            self.stream.write(f"{stamp} {visible(text)}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must not stop the relay
