"""A swaks-like transcript of the SMTP conversation, with secrets kept out.

The transcript is also the registry of the secrets known during one conversation
(password, client secret, token and the forms they travel in): ``clean`` applies the
same rule to every other field shown (step details, error, reply), so a server that
echoes a credential back never gets it on screen, in JSON or in a log.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

from mailstage.store.text import visible

REDACTED = "********"
HIDDEN_LINE = "[line hidden: it contained a secret]"
HIDDEN_TEXT = "[hidden: the text repeated a secret]"
# Shorter values would match ordinary text by chance, and masking each match would
# show where the secret's letters are: such values are masked only where the protocol
# carries them (AUTH payloads), never searched for.
MIN_SEARCHED = 4


def travelling_forms(secret: str) -> list[str]:
    """The secret as it may come back: itself, base64 (AUTH LOGIN), URL-encoded (a form
    body echoed by a token endpoint)."""
    forms = [secret, base64.b64encode(secret.encode()).decode(), quote_plus(secret), quote(secret)]
    return list(dict.fromkeys(forms))


class Transcript:
    """Lines prefixed ``->`` (sent), ``<-`` (received) and ``**`` (what happened)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._secrets: list[str] = []

    def forbid(self, secret: str) -> None:
        """Make sure this value never shows, whatever line or field it would appear in."""
        if len(secret) >= MIN_SEARCHED and secret not in self._secrets:
            self._secrets.append(secret)

    def forbid_secret(self, secret: str) -> None:
        """Forbid a credential and every form it travels in."""
        for form in travelling_forms(secret):
            self.forbid(form)

    def contains_secret(self, text: str) -> bool:
        return any(secret in text for secret in self._secrets)

    def sent(self, text: str) -> None:
        self._add("-> ", text)

    def received(self, code: int, message: str) -> None:
        lines = message.split("\n")  # the lines as the server sent them: a CR in one is shown
        for index, line in enumerate(lines):
            separator = " " if index == len(lines) - 1 else "-"
            self._add("<- ", f"{code}{separator}{line}")

    def note(self, text: str) -> None:
        self._add("** ", text)

    def redact(self, text: str) -> str:
        """The text, or a placeholder for all of it if it holds a secret: masking just
        the secret would still show its length and what surrounds it."""
        return HIDDEN_LINE if self.contains_secret(text) else text

    def clean(self, text: str, *, multiline: bool = False) -> str:
        """Any field meant for people: hidden whole if it holds a known secret, and with
        control and direction characters made visible."""
        if self.contains_secret(text):
            return HIDDEN_TEXT
        return visible(text, multiline=multiline)

    def _add(self, prefix: str, text: str) -> None:
        self.lines.append(prefix + visible(self.redact(text)))
