"""Relay credentials of an app in a stage: a random password shown once, a hash kept.

The password is 256 random bits, so a fast hash is enough: nobody can guess their
way back to it, and the relay checks a login in microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "sha256:"


def new_password() -> str:
    """43 characters of base64url; never starting with '-', which tools such as swaks or
    a shell script would take for an option."""
    while True:
        password = secrets.token_urlsafe(32)
        if password[0].isalnum():
            return password


def password_hash(password: str) -> str:
    return PREFIX + hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()


def password_matches(password: str, stored: str | None) -> bool:
    """Compare in constant time; an unknown app (stored None) costs the same work."""
    given = password_hash(password)
    expected = stored if stored and stored.startswith(PREFIX) else PREFIX + "0" * 64
    return hmac.compare_digest(given, expected) and stored is not None
