"""A swaks-like transcript of the SMTP conversation, with secrets kept out."""

from __future__ import annotations

REDACTED = "********"
HIDDEN_LINE = "[line hidden: it contained a secret]"
# Shorter values would match ordinary text by chance, and masking each match would
# show where the secret's letters are: such values are masked only where the protocol
# carries them (AUTH payloads), never searched for.
MIN_SEARCHED = 4


class Transcript:
    """Lines prefixed ``->`` (sent), ``<-`` (received) and ``**`` (what happened)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._secrets: list[str] = []

    def forbid(self, secret: str) -> None:
        """Make sure this value never shows, whatever line it would appear in."""
        if len(secret) >= MIN_SEARCHED:
            self._secrets.append(secret)

    def contains_secret(self, text: str) -> bool:
        return any(secret in text for secret in self._secrets)

    def sent(self, text: str) -> None:
        self._add("-> ", text)

    def received(self, code: int, message: str) -> None:
        lines = message.splitlines() or [""]
        for index, line in enumerate(lines):
            separator = " " if index == len(lines) - 1 else "-"
            self._add("<- ", f"{code}{separator}{line}")

    def note(self, text: str) -> None:
        self._add("** ", text)

    def redact(self, text: str) -> str:
        """The text, or a placeholder for all of it if it holds a secret: masking just
        the secret would still show its length and what surrounds it."""
        return HIDDEN_LINE if self.contains_secret(text) else text

    def _add(self, prefix: str, text: str) -> None:
        self.lines.append(prefix + self.redact(text))
