"""Canonical JSON and strict base64, shared by the envelope and the key wraps.

base64 through binascii, as the base64 module does it (b64encode, and b64decode with
validate=True, which is strict_mode): that module's import is half a millisecond of
every one-shot command."""

from __future__ import annotations

import binascii
import json

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from typing import Any


def b64e(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64d(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    data = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    if b64e(data) != text:  # forgiven padding bits would hide a change
        raise ValueError("not canonical base64")
    return data


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode("ascii")
