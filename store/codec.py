"""Canonical JSON and strict base64, shared by the envelope and the key wraps."""

from __future__ import annotations

import base64
import json
from typing import Any


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    data = base64.b64decode(text.encode("ascii"), validate=True)
    if b64e(data) != text:  # forgiven padding bits would hide a change
        raise ValueError("not canonical base64")
    return data


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode("ascii")
