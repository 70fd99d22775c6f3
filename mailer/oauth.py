"""OAuth 2.0 client credentials (RFC 6749 §4.4): get an access token, cache it in memory.

Microsoft identity platform token URLs go through msal; any other token endpoint
through a plain form POST with client_secret_post. Client credentials give no
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
            return AccessToken(token.value, token.expires_at, from_cache=True)

    def put(self, key: str, value: SecretStr, expires_in: float) -> AccessToken:
        token = AccessToken(value, self.clock() + expires_in)
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


def acquire_token(
    auth: OAuth2ClientCredentials, *, timeout: float, cache: TokenCache | None = None
) -> AccessToken:
    """A valid access token, from the cache or the token endpoint. Blocking: run it
    in a thread from async code. Raises TokenError."""
    cache = cache or token_cache
    key = cache_key(auth)
    cached = cache.get(key)
    if cached is not None:
        return cached
    authority = microsoft_authority(auth.token_url)
    if authority is not None:
        value, expires_in = _request_with_msal(auth, authority, timeout)
    else:
        value, expires_in = _request_with_post(auth, timeout)
    return cache.put(key, value, expires_in)


def _request_with_msal(
    auth: OAuth2ClientCredentials, authority: str, timeout: float
) -> tuple[SecretStr, float]:
    import msal

    try:
        app = msal.ConfidentialClientApplication(
            auth.client_id,
            client_credential=auth.client_secret.get_secret_value(),
            authority=authority,
            timeout=timeout,
        )
        result = app.acquire_token_for_client(scopes=auth.scopes)
    except ValueError as exc:
        # msal raises ValueError when the authority (tenant) cannot be discovered
        raise TokenError(
            f"The identity platform does not know the tenant in the token URL: {exc}",
            hint_key="unknown_tenant",
        ) from None
    except Exception as exc:  # requests' network errors, without importing requests here
        raise TokenError(f"Could not reach the identity platform: {exc}") from None
    return _token_from_answer(result, status=None)


def _request_with_post(auth: OAuth2ClientCredentials, timeout: float) -> tuple[SecretStr, float]:
    import urllib.error
    import urllib.request
    from urllib.parse import urlencode

    from mailstage.mailer.tls import client_context

    form = urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": auth.client_id,
            "client_secret": auth.client_secret.get_secret_value(),
            "scope": " ".join(auth.scopes),
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is validated https (http only to loopback)
        auth.token_url,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        method="POST",
    )
    context = client_context() if auth.token_url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except TimeoutError:
        raise TokenError(f"The token endpoint did not answer within {timeout:g} s.") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise TokenError(f"The token endpoint did not answer within {timeout:g} s.") from None
        raise TokenError(f"Could not reach the token endpoint: {exc.reason}") from None
    except OSError as exc:
        raise TokenError(f"Could not reach the token endpoint: {exc}") from None
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TokenError(
            f"The token endpoint answered HTTP {status} with a body that is not a JSON object.",
            status=status,
        )
    return _token_from_answer(answer, status=status)


def _token_from_answer(answer: dict[str, object], *, status: int | None) -> tuple[SecretStr, float]:
    token = answer.get("access_token")
    if isinstance(token, str) and token and (status is None or status == 200):
        return SecretStr(token), _lifetime(answer.get("expires_in"))
    where = f" (HTTP {status})" if status is not None else ""
    raise TokenError(
        f"The token endpoint gave no access token{where}.",
        error=str(answer.get("error") or ""),
        description=_one_line(answer.get("error_description")),
        correlation_id=str(answer.get("correlation_id") or ""),
        trace_id=str(answer.get("trace_id") or ""),
        status=status,
    )


def _lifetime(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME_SECONDS
    return max(seconds, 0.0)


def _one_line(value: object) -> str:
    return " ".join(str(value or "").split())[:1000]
