"""Test-list routing: the one place that decides who receives a message.

Every sender in mailstage passes its message through ``route``: with an active
test list for (app, stage), To, Cc and Bcc are all replaced by the list and the
original recipients are kept in a header; otherwise the real recipients receive it.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses

from mailstage.store.errors import InvalidInput
from mailstage.store.models import App, Stage
from mailstage.store.validation import check_address

ORIGINAL_RECIPIENTS_HEADER = "X-Mailstage-Original-Recipients"
RECIPIENT_HEADERS = ("To", "Cc", "Bcc")


@dataclass(frozen=True)
class Routed:
    message: EmailMessage
    recipients: list[str]
    redirected: bool
    warning: str | None = None


def route(
    message: EmailMessage, *, app: App | None, stage: Stage, envelope: list[str] | None = None
) -> Routed:
    """Decide the envelope recipients and rewrite the headers to match.

    The original recipients are ``envelope`` when given (the relay: what the app said in
    RCPT TO, Bcc included), else those in the To, Cc and Bcc headers (Send test). The
    message is changed in place (and returned in ``Routed``); Bcc never stays in the
    headers.
    """
    original = _unique(envelope) if envelope is not None else _recipients_in(message)
    test_list = app.test_list(stage.name) if app is not None else None
    if test_list is None or not test_list.active:
        del message["Bcc"]
        if not original:
            raise InvalidInput("The message has no recipients (To, Cc or Bcc).")
        return Routed(message, original, redirected=False)

    assert app is not None  # an active test list belongs to an app
    if not test_list.addresses:
        raise InvalidInput(
            f"The test list of app {app.name} for stage {stage.name} is active but empty: "
            "add addresses to it or deactivate it."
        )
    for name in RECIPIENT_HEADERS:
        del message[name]
    del message[ORIGINAL_RECIPIENTS_HEADER]
    message["To"] = ", ".join(test_list.addresses)
    if original:
        message[ORIGINAL_RECIPIENTS_HEADER] = ", ".join(original)
    warning = None
    if stage.production:
        warning = (
            f"The test list of app {app.name} is active in the production stage "
            f"{stage.name}: real users receive nothing, only the test list does."
        )
    return Routed(message, list(test_list.addresses), redirected=True, warning=warning)


def default_test_recipients(
    *, app: App | None, stage: Stage, last: list[str] | None = None, to_sender: bool = True
) -> list[str]:
    """Send test's recipients when none are given, the one order for the CLI and the
    TUI: the app's active test list for the stage, else the app's studio list, else the
    recipients of the user's last test through the stage (the TUI remembers them), else
    (``to_sender``: the CLI) the stage's sender mailbox. Empty when the stage is not
    configured and nothing else applies."""
    if app is not None:
        test_list = app.test_list(stage.name)
        if test_list.active and test_list.addresses:
            return list(test_list.addresses)
        if app.studio_list:
            return list(app.studio_list)
    if last:
        return list(last)
    return [stage.email.sender_email] if to_sender and stage.email is not None else []


def send_test_recipients(explicit: list[str], *, app: App | None, stage: Stage) -> list[str]:
    """Who a send test is addressed to before routing: the addresses given, else
    ``default_test_recipients``."""
    if explicit:
        return [_checked(address) for address in explicit]
    defaults = default_test_recipients(app=app, stage=stage)
    if not defaults:
        raise InvalidInput("Give a recipient with --to, or an app with --app.")
    return defaults


def _recipients_in(message: EmailMessage) -> list[str]:
    values = [str(v) for name in RECIPIENT_HEADERS for v in message.get_all(name, [])]
    return _unique([address for _name, address in getaddresses(values)])


def _unique(addresses: list[str]) -> list[str]:
    seen: set[str] = set()
    recipients: list[str] = []
    for address in addresses:
        if address and address.casefold() not in seen:
            seen.add(address.casefold())
            recipients.append(address)
    return recipients


def _checked(address: str) -> str:
    try:
        return check_address(address)
    except ValueError as exc:
        raise InvalidInput(f"Recipient (--to) {address!r} {exc}.", [("to", str(exc))]) from None
