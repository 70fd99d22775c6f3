"""The claims of an access token, read locally for diagnosis: the middle part of a JWT,
base64url-decoded JSON. Never verified (a hint needs no trust, and mailstage is not the
token's audience), and nothing of the token's own text is kept: only the few claims
that say which part of a Microsoft 365 set-up is missing.

Anything that is not a JWS compact token with a JSON object in the middle gives None:
an opaque token, another format or a damaged one simply has no claim-based hint.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass

MAX_TOKEN = 64 * 1024  # Entra tokens are 1.5-2.5 KB; a huge one is not read
MAX_ITEMS = 30  # roles or audiences kept
MAX_TEXT = 200  # characters kept of one claim value

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
# v1 tokens: https://sts.windows.net/<tenant>/; v2: https://login.microsoftonline.com/<tenant>/v2.0
# (and the same forms of the national clouds)
_MICROSOFT_ISSUER = re.compile(
    r"https://(?:sts\.windows\.net|sts\.chinacloudapi\.cn)/[^/\s]+/?"
    r"|https://(?:login\.microsoftonline\.(?:com|us)|login\.partner\.microsoftonline\.cn"
    r"|login\.chinacloudapi\.cn)/[^/\s]+/v2\.0/?",
    re.IGNORECASE,
)
EXCHANGE_ONLINE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
_EXCHANGE_AUDIENCES = {
    "https://outlook.office365.com",
    "https://outlook.office.com",
    "https://outlook.office365.us",
    "https://partner.outlook.cn",
    EXCHANGE_ONLINE_APP_ID,
}


@dataclass(frozen=True)
class TokenClaims:
    issuer: str
    audiences: tuple[str, ...]
    roles: tuple[str, ...] | None  # None: the token has no roles claim at all
    not_before: float | None
    issued_at: float | None
    expires: float | None
    app_id: str  # appid (v1) or azp (v2): the Application (client) ID
    object_id: str  # oid: in an app-only token, the service principal's object id

    @property
    def microsoft(self) -> bool:
        """Issued by the Microsoft identity platform, decided on the issuer claim (not
        on the token URL: proxies and tests use other URLs)."""
        return _MICROSOFT_ISSUER.fullmatch(self.issuer) is not None

    @property
    def for_exchange_online(self) -> bool:
        return any(
            audience.rstrip("/").lower() in _EXCHANGE_AUDIENCES for audience in self.audiences
        )


def read_claims(token: str) -> TokenClaims | None:
    """The token's claims, or None when it is not a JWT whose payload is a JSON object."""
    payload = _payload(token)
    if payload is None:
        return None
    return TokenClaims(
        issuer=_text(payload.get("iss")),
        audiences=_texts(payload.get("aud")) or (),
        roles=_texts(payload.get("roles")),
        not_before=_time(payload.get("nbf")),
        issued_at=_time(payload.get("iat")),
        expires=_time(payload.get("exp")),
        app_id=_text(payload.get("appid")) or _text(payload.get("azp")),
        object_id=_text(payload.get("oid")),
    )


def _payload(token: str) -> dict[str, object] | None:
    if len(token) > MAX_TOKEN:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not all(_BASE64URL.fullmatch(part) for part in parts[:2]):
        return None  # not JWS compact (a JWE has five parts; opaque tokens have none)
    try:
        header = json.loads(_unbase64url(parts[0]))
        payload = json.loads(_unbase64url(parts[1]))
    except (ValueError, binascii.Error, RecursionError):
        return None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return None
    return payload


def _unbase64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _text(value: object) -> str:
    if not isinstance(value, str):
        return ""
    return " ".join(value.split())[:MAX_TEXT]


def _texts(value: object) -> tuple[str, ...] | None:
    """A claim that may be one string or a list of them (aud, roles)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    texts = (_text(item) for item in value[:MAX_ITEMS])
    return tuple(text for text in texts if text)


def _time(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return seconds if math.isfinite(seconds) else None
