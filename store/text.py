"""The one sanitizer for text from outside (servers, clients, files, stored names)
before a terminal, a log line or a JSON consumer sees it.

Control characters (C0, DEL, C1), format characters (bidi overrides and isolates,
zero-width characters, soft hyphen, tags), line and paragraph separators and lone
surrogates are shown as escapes such as ``\\x1b`` or ``\\u202e``: an ESC from a
server's banner cannot clear the screen, set the title or write the clipboard, a
``\\u202e`` cannot reverse what follows, ``Prod\\u200duction`` does not look like
Production, and a newline in a login name cannot forge a log line.

Applying it twice gives the same text as applying it once.
"""

from __future__ import annotations

import re
from functools import cache

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from datetime import datetime

# Every code point of the Unicode categories Cc, Cf, Zl, Zp and Cs (as of Unicode 15,
# Python 3.11/3.12); tests/test_hostile_escapes.py checks this class against
# unicodedata for every code point.
_UNSAFE_CLASS = (
    "\x00-\x1f\x7f-\x9f\xad"
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)


@cache  # compiled on first need (~1 ms each): plain ASCII text never needs them
def _unsafe(multiline: bool) -> re.Pattern[str]:
    if multiline:  # \t and \n are the only controls a multi-line text may keep
        return re.compile("[\x00-\x08\x0b-\x1f" + _UNSAFE_CLASS.removeprefix("\x00-\x1f") + "]")
    return re.compile(f"[{_UNSAFE_CLASS}]")


def _plain(text: str, *, multiline: bool) -> bool:
    """True when no character of the text is unsafe, told without a regex for ASCII: its
    only unsafe characters are the controls and DEL, which isprintable() rejects."""
    if multiline:
        text = text.replace("\n", "").replace("\t", "")
    return text.isascii() and text.isprintable()


ELLIPSIS = "…"


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: object, *, multiline: bool = False, limit: int | None = None) -> str:
    """``text`` with every unsafe character shown as an escape.

    ``multiline`` keeps line breaks (``\\r\\n`` and ``\\n`` become ``\\n``) and tabs;
    otherwise they are escaped too, so the result is one line. ``limit`` cuts the
    result to that many characters, ending with an ellipsis.
    """
    value = str(text)
    if multiline:
        value = value.replace("\r\n", "\n")
    if not _plain(value, multiline=multiline):
        value = _unsafe(multiline).sub(_escape, value)
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 0)] + ELLIPSIS
    return value


def has_unsafe(text: str, *, multiline: bool = False) -> bool:
    return not _plain(text, multiline=multiline) and _unsafe(multiline).search(text) is not None


def json_escape_unsafe(encoded: str) -> str:
    """JSON text (as ``json.dumps(..., ensure_ascii=False)`` writes it) with every
    unsafe character written as a ``\\uXXXX`` escape: the same JSON value, safe to print."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        if code < 0x10000:
            return f"\\u{code:04x}"
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

    # a raw line break or tab in json.dumps output is layout (indent): strings hold escapes
    if _plain(encoded, multiline=True):
        return encoded
    return _unsafe(True).sub(escape, encoded)


DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def utc_minute_text(stamp: str) -> str | None:
    """when_text of a moment stored as the models write one in UTC,
    ``2026-11-25T09:30:12.345678Z`` (or without the fraction), read without importing
    datetime (~1 ms of `email show`); None for any other text, which datetime reads."""
    if len(stamp) not in (20, 27) or stamp[4::3][:5] != "--T::" or stamp[-1] != "Z":
        return None
    digits = stamp[:4] + stamp[5:7] + stamp[8:10] + stamp[11:13] + stamp[14:16] + stamp[17:19]
    if len(stamp) == 27:
        if stamp[19] != ".":
            return None
        digits += stamp[20:26]
    if not (digits.isascii() and digits.isdigit()):
        return None
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    hour, minute, second = int(digits[8:10]), int(digits[10:12]), int(digits[12:14])
    # (strftime writes a year before 1000 without its zeros: datetime says those)
    if year < 1000 or not 1 <= month <= 12 or hour > 23 or minute > 59 or second > 59:
        return None
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= day <= DAYS_IN_MONTH[month - 1] + leap:
        return None
    return f"{stamp[:10]} {stamp[11:16]}"


def when_text(moment: datetime | None, *, seconds: bool = False) -> str:
    """A moment as UTC, ``2026-11-25 09:30`` (with ``:SS`` when asked); naive values are
    taken as UTC already. Empty for None."""
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        from datetime import UTC

        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
