"""International addresses on the wire (RFC 5890, RFC 6531).

Domains always go out in their ASCII form (``xn--``), in the envelope and in the
address headers. A local part with non-ASCII letters can only travel with SMTPUTF8:
when the server offers it, MAIL FROM carries SMTPUTF8 and the message is sent as
UTF-8; when it does not, ``plan_envelope`` refuses before MAIL FROM, naming every such
address, so nothing is sent to anyone (a test list with one such address fails loudly,
it never silently drops the others' mail or that address).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses

ADDRESS_HEADERS = ("From", "Sender", "Reply-To", "To", "Cc")


class NeedsSmtpUtf8(Exception):
    """Addresses whose local part is not ASCII, for a server without SMTPUTF8."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses
        shown = ", ".join(addresses)
        plural = "es" if len(addresses) > 1 else ""
        super().__init__(
            f"The server does not offer SMTPUTF8, which the address{plural} {shown} "
            f"need{'' if plural else 's'} (letters beyond ASCII before the @); nothing was "
            "sent to anyone. Remove or replace the address"
            f"{plural} (for example in the test list), or use a server that offers SMTPUTF8."
        )
        self.message = str(self)


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipients: list[str]
    smtputf8: bool

    @property
    def encoding(self) -> str:
        return "utf-8" if self.smtputf8 else "ascii"

    @property
    def mail_options(self) -> list[str]:
        return ["SMTPUTF8"] if self.smtputf8 else []


def ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    from email_validator import EmailNotValidError, validate_email

    try:  # the same IDNA (UTS 46) rules that validated the address on the way in
        return validate_email(f"x@{domain}", check_deliverability=False).ascii_domain
    except EmailNotValidError:
        return domain.encode("idna").decode("ascii")


def ascii_address(address: str) -> str:
    """The address with its domain in xn-- form; the local part as it is."""
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{ascii_domain(domain)}" if at else address


def needs_smtputf8(address: str) -> bool:
    return not ascii_address(address).isascii()


def plan_envelope(sender: str, recipients: list[str], *, smtputf8_offered: bool) -> Envelope:
    """The envelope as it goes on the wire; raises NeedsSmtpUtf8 naming the addresses
    that cannot go without SMTPUTF8 when the server does not offer it."""
    sender_out = ascii_address(sender)
    recipients_out = [ascii_address(address) for address in recipients]
    unsendable = [
        original
        for original, out in zip([sender, *recipients], [sender_out, *recipients_out], strict=True)
        if not out.isascii()
    ]
    if unsendable and not smtputf8_offered:
        raise NeedsSmtpUtf8(unsendable)
    return Envelope(sender_out, recipients_out, smtputf8=bool(unsendable))


def ascii_address_headers(message: EmailMessage) -> None:
    """Rewrite the address headers with xn-- domains (in place), for a message sent
    without SMTPUTF8; display names stay, encoded as MIME words as usual."""
    for name in ADDRESS_HEADERS:
        values = message.get_all(name)
        if not values or all(str(value).isascii() for value in values):
            continue
        pairs = getaddresses([str(value) for value in values])
        rewritten = ", ".join(
            str(Address(display_name=display, addr_spec=ascii_address(address)))
            for display, address in pairs
            if address
        )
        if len(values) == 1:
            message.replace_header(name, rewritten)  # keeps the header's place
        else:
            del message[name]
            message[name] = rewritten
