"""A swaks-like transcript of the SMTP conversation, with secrets kept out."""

from __future__ import annotations

REDACTED = "********"


class Transcript:
    """Lines prefixed ``->`` (sent), ``<-`` (received) and ``**`` (what happened)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._secrets: list[str] = []

    def forbid(self, secret: str) -> None:
        """Make sure this value never shows, whatever line it would appear in."""
        if secret:
            self._secrets.append(secret)

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
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _add(self, prefix: str, text: str) -> None:
        self.lines.append(prefix + self.redact(text))
