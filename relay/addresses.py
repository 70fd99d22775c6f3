"""The envelope addresses an app gives at MAIL FROM and RCPT TO, checked once, when
they arrive: the address checked is the one logged and the one upstream receives.

aiosmtpd and aiosmtplib parse addresses differently: a bare CR inside a quoted local
part (``"a\\rBcc: v@evil.test"@example.org``) passes the first and is re-split by the
second, so upstream would receive another address than the one checked. Control
characters are refused wherever they are, and a recipient is accepted only when the
sending library would put exactly that address on the wire.
"""

from __future__ import annotations

from typing import Literal

from mailstage.mailer.intl_addresses import ascii_address
from mailstage.relay.replies import reply_line
from mailstage.store.text import has_unsafe, visible

Role = Literal["sender", "recipient"]
_SYNTAX_CODE = {"sender": "5.1.7", "recipient": "5.1.3"}


def envelope_refusal(address: str, *, role: Role, smtputf8: bool) -> str | None:
    """The 553 reply refusing the address (a sentence naming the rule), or None."""
    shown = reply_line(address)
    code = f"553 {_SYNTAX_CODE[role]}"
    what = f"The {role} address <{shown}>"
    if any("\ud800" <= char <= "\udfff" for char in address):
        return f"553 5.6.7 {what} is not valid UTF-8; addresses beyond ASCII are UTF-8."
    if "\x00" in address:
        return f"{code} {what} contains a NUL byte, which no address may hold."
    if has_unsafe(address):
        char = next(char for char in address if has_unsafe(char))
        return (
            f"{code} {what} contains the control character {visible(char)}; "
            "addresses hold no control or invisible formatting characters, not even "
            "between quotes."
        )
    if not address.isascii() and not smtputf8:
        return (
            f"553 5.6.7 {what} has characters beyond ASCII, which need SMTPUTF8 on MAIL "
            "FROM (RFC 6531)."
        )
    if role == "recipient" and not _passes_unchanged(address):
        return (
            f"{code} {what} cannot be passed on exactly as written; write it without "
            "quotes, comments or source routes, or quote only the local part."
        )
    return None


def _passes_unchanged(address: str) -> bool:
    """True when aiosmtplib would send this very address in RCPT TO (after the
    domain's xn-- form, which is the same address)."""
    from aiosmtplib.email import parse_address

    try:
        wire = ascii_address(address)
        return parse_address(wire) == wire
    except (ValueError, UnicodeError):
        return False
