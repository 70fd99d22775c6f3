"""OAuth 2.0 client credentials (RFC 6749 §4.4): get an access token, cache it in memory.

Microsoft identity platform token URLs go through msal; any other token endpoint
through a plain form POST with client_secret_post; both through the same bounded HTTP
client (mailer/token_http.py) under one deadline. Client credentials give no
refresh token: a token is reused until 5 minutes before it expires, then a new
one is requested.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

from mailstage.mailer.deadline import Deadline, in_daemon_thread
from mailstage.mailer.jwt_claims import TokenClaims, read_claims
from mailstage.mailer.token_http import BoundedHttp, TokenHttpError
from mailstage.store.models import OAuth2ClientCredentials

EXPIRY_MARGIN_SECONDS = 300
DEFAULT_LIFETIME_SECONDS = 3600

Clock = Callable[[], float]

_MICROSOFT_HOSTS = {
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
    "login.chinacloudapi.cn",
}
_MICROSOFT_PATH = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token/?$")


class TokenError(Exception):
    """The token endpoint gave no token; carries what its answer said."""

    def __init__(
        self,
        summary: str,
        *,
        error: str = "",
        description: str = "",
        correlation_id: str = "",
        trace_id: str = "",
        status: int | None = None,
        hint_key: str = "token_endpoint",
    ) -> None:
        self.summary = summary
        self.hint_key = hint_key
        self.error = error
        self.description = description
        self.correlation_id = correlation_id
        self.trace_id = trace_id
        self.status = status
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.summary]
        if self.error:
            parts.append(f"error: {self.error}")
        if self.description:
            parts.append(f"error_description: {self.description}")
        if self.correlation_id:
            parts.append(f"correlation id: {self.correlation_id}")
        if self.trace_id:
            parts.append(f"trace id: {self.trace_id}")
        return "; ".join(parts)


@dataclass
class AccessToken:
    value: SecretStr
    expires_at: float  # on the clock the cache was given
    from_cache: bool = field(default=False, compare=False)
    # read once when the token arrives, for diagnosis; holds none of the token's text
    claims: TokenClaims | None = field(default=None, compare=False)


@dataclass
class TokenCache:
    clock: Clock = time.monotonic
    _tokens: dict[str, AccessToken] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: str) -> AccessToken | None:
        with self._lock:
            token = self._tokens.get(key)
            if token is None:
                return None
            if self.clock() >= token.expires_at - EXPIRY_MARGIN_SECONDS:
                del self._tokens[key]
                return None
            return AccessToken(token.value, token.expires_at, True, token.claims)

    def put(self, key: str, value: SecretStr, expires_in: float) -> AccessToken:
        claims = read_claims(value.get_secret_value())
        token = AccessToken(value, self.clock() + expires_in, claims=claims)
        with self._lock:
            self._tokens[key] = token
        return token

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


token_cache = TokenCache()


def cache_key(auth: OAuth2ClientCredentials) -> str:
    secret_hash = hashlib.sha256(auth.client_secret.get_secret_value().encode()).hexdigest()
    return "\n".join([auth.token_url, auth.client_id, " ".join(auth.scopes), secret_hash])


def microsoft_authority(token_url: str) -> str | None:
    """``https://<host>/<tenant>`` for a Microsoft identity platform v2 token URL."""
    parts = urlsplit(token_url)
    host = (parts.hostname or "").lower()
    match = _MICROSOFT_PATH.match(parts.path)
    if parts.scheme != "https" or host not in _MICROSOFT_HOSTS or not match:
        return None
    return f"https://{host}/{match['tenant']}"


async def fetch_token(
    auth: OAuth2ClientCredentials, *, deadline: Deadline, cache: TokenCache | None = None
) -> AccessToken:
    """A valid access token, from the cache or the token endpoint, within the deadline.

    The request runs in a daemon thread through a BoundedHttp client (1 MiB body cap,
    no redirect, plain HTTP only to loopback addresses and never through a proxy);
    when the deadline passes its sockets are shut and TokenError is raised at once,
    so neither the caller nor the process waits. Raises TokenError."""
    cache = cache or token_cache
    key = cache_key(auth)
    cached = cache.get(key)
    if cached is not None:
        return cached
    client = BoundedHttp(deadline)
    try:
        value, expires_in = await in_daemon_thread(
            lambda: request_token(auth, client), deadline=deadline, abort=client.abort
        )
    except TimeoutError:
        raise TokenError(
            f"The token endpoint did not answer within {deadline.seconds:g} s."
        ) from None
    return cache.put(key, value, expires_in)


def request_token(auth: OAuth2ClientCredentials, client: BoundedHttp) -> tuple[SecretStr, float]:
    """Ask the token endpoint (blocking). Raises TokenError."""
    authority = microsoft_authority(auth.token_url)
    if authority is not None:
        return _request_with_msal(auth, authority, client)
    return _request_with_post(auth, client)


def _request_with_msal(
    auth: OAuth2ClientCredentials, authority: str, client: BoundedHttp
) -> tuple[SecretStr, float]:
    import msal

    try:
        app = msal.ConfidentialClientApplication(
            auth.client_id,
            client_credential=auth.client_secret.get_secret_value(),
            authority=authority,
            http_client=client,
        )
        result = app.acquire_token_for_client(scopes=auth.scopes)
    except TokenHttpError as exc:
        raise TokenError(exc.message) from None
    except ValueError as exc:
        # msal raises ValueError when the authority (tenant) cannot be discovered
        raise TokenError(
            f"The identity platform does not know the tenant in the token URL: {exc}",
            hint_key="unknown_tenant",
        ) from None
    except Exception as exc:  # anything else msal raises: a sentence, not a traceback
        raise TokenError(f"Could not reach the identity platform: {exc}") from None
    return _token_from_answer(result, status=None)


def _request_with_post(
    auth: OAuth2ClientCredentials, client: BoundedHttp
) -> tuple[SecretStr, float]:
    fields = {
        "grant_type": "client_credentials",
        "client_id": auth.client_id,
        "client_secret": auth.client_secret.get_secret_value(),
    }
    if auth.scopes:  # with none, the request carries no scope (DESIGN section 2)
        fields["scope"] = " ".join(auth.scopes)
    try:
        answer = client.post(auth.token_url, data=fields, headers={"Accept": "application/json"})
    except TokenHttpError as exc:
        raise TokenError(exc.message) from None
    status = answer.status_code
    try:
        parsed = json.loads(answer.body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise TokenError(
            f"The token endpoint answered HTTP {status} with a body that is not a JSON object.",
            status=status,
        )
    return _token_from_answer(parsed, status=status)


def _token_from_answer(answer: dict[str, object], *, status: int | None) -> tuple[SecretStr, float]:
    token = answer.get("access_token")
    if isinstance(token, str) and token and (status is None or status == 200):
        return SecretStr(token), _lifetime(answer.get("expires_in"))
    where = f" (HTTP {status})" if status is not None else ""
    raise TokenError(
        f"The token endpoint gave no access token{where}.",
        error=_one_line(answer.get("error"), 200),
        description=_one_line(answer.get("error_description")),
        correlation_id=_one_line(answer.get("correlation_id"), 200),
        trace_id=_one_line(answer.get("trace_id"), 200),
        status=status,
    )


def _lifetime(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME_SECONDS
    return max(seconds, 0.0)


def _one_line(value: object, limit: int = 1000) -> str:
    return " ".join(str(value or "").split())[:limit]
