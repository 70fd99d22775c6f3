"""Field labels and the sentence that names a field and its rule.

Free of pydantic: the one-shot commands and the TUI's first paint use them without
loading the models.
"""

from __future__ import annotations

import re
from functools import cache

from mailstage.store.errors import InvalidInput

FIELD_LABELS = {
    "server": "SMTP server",
    "port": "SMTP port",
    "security": "Security",
    "ca_file": "CA file",
    "auth": "Authentication type",
    "type": "Authentication type",
    "username": "Username",
    "password": "Password",
    "token_url": "Server Token URL",
    "client_id": "Client ID",
    "client_secret": "Client Secret",
    "scopes": "Scopes",
    "sender_email": "Sender email",
    "sender_name": "Sender name",
    "addresses": "Addresses",
    "studio_list": "Studio list",
    "name": "Name",
    "stage": "Stage",
    "app": "App",
    "role": "Role",
    "user": "Member",
}

AUTH_LABELS = {"oauth2_client_credentials": "OAuth 2.0 - client credentials", "basic": "Basic"}

# the secret fields of an email configuration's auth, masked wherever they are shown
SECRET_FIELDS = ("password", "client_secret")
MASK = "********"


# the command-line option that sets a field, named after its label in CLI messages
OPTIONS = {
    "server": "--server",
    "port": "--port",
    "security": "--security",
    "ca_file": "--ca-file",
    "auth": "--auth",
    "type": "--auth",
    "username": "--username",
    "password": "--password-stdin",
    "token_url": "--token-url",
    "client_id": "--client-id",
    "client_secret": "--client-secret-stdin",
    "scopes": "--scope",
    "sender_email": "--sender-email",
    "sender_name": "--sender-name",
}


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


SHOWN = 60  # characters of a bad value repeated in a message


# Unicode's default-ignorable code points that are not format characters (fillers,
# variation selectors, tags): they draw nothing, yet str.isprintable() says yes.
@cache  # compiled on first need (~0.4 ms): the one-shot reads never need it
def ignorable() -> re.Pattern[str]:
    return re.compile(
        "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
        "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
        "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
    )


def _escaped(text: str) -> str:
    quoted = repr(text)  # escapes every non-printable character
    return ignorable().sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), quoted)


def shown(value: str, limit: int = SHOWN) -> str:
    """A value quoted for a message: control and invisible characters escaped, and cut,
    so a 100 KB paste is not echoed whole."""
    if len(value) <= limit:
        return _escaped(value)
    return f"{_escaped(value[:limit])}… ({len(value)} characters)"


def describe(field: str, rule: str) -> str:
    """The field in the portal's words (and the option that sets it), then the rule."""
    option = OPTIONS.get(field)
    named = f"{field_label(field)} ({option})" if option else field_label(field)
    return f"{named} {rule.rstrip('.')}."


def describe_on_form(field: str, rule: str) -> str:
    """The same sentence under a form field: the label alone (the form has no options)."""
    return f"{field_label(field)} {rule.rstrip('.')}."


def no_such_stage(name: str, known: list[str]) -> InvalidInput:
    from mailstage.store.suggest import did_you_mean

    return InvalidInput(
        describe("stage", f"{shown(name)} does not exist (stages: {', '.join(known)})")
        + did_you_mean(name, known),
        [("stage", "does not exist")],
    )


def no_such_app(name: str, known: list[str] | None = None) -> InvalidInput:
    from mailstage.store.suggest import did_you_mean

    return InvalidInput(
        describe("app", f"{shown(name)} does not exist; add it with: mailstage app add NAME")
        + did_you_mean(name, known or []),
        [("app", "does not exist")],
    )
