"""Addresses as people paste them, the one reading for the CLI and the TUI: separated by
commas, semicolons, spaces or new lines, and in the forms mail clients copy:
``Eve <eve@example.com>``, ``"Doe, Jane" <jane@example.com>``, ``<bob@example.com>``.
A display name is dropped; what is left is checked by the usual address rule."""

from __future__ import annotations

import re

_ANGLE = re.compile(r"<([^<>]*)>")
_SEPARATORS = ",;\n\r"


def _segments(text: str) -> list[str]:
    """Split at commas, semicolons and line breaks that are not inside double quotes."""
    segments: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
            current.append(char)
        elif char in _SEPARATORS and not quoted:
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    segments.append("".join(current))
    return [s.strip() for s in segments if s.strip()]


def addresses_from_paste(text: str) -> list[str]:
    """Every address in the pasted text, in order (duplicates kept: the caller's rule
    removes them). Words outside angle brackets in a segment that has some are a
    display name; a segment without brackets is split at spaces."""
    found: list[str] = []
    for segment in _segments(text):
        inside = _ANGLE.findall(segment)
        if inside:
            found.extend(part.strip() for part in inside if part.strip())
        else:
            found.extend(segment.replace('"', " ").split())
    return found


def addresses_from_args(values: list[str]) -> list[str]:
    """Command-line address arguments: each may hold several, as pasted."""
    return [address for value in values for address in addresses_from_paste(value)]
