"""Field rules shared by the models, the command line and the TUI's inline validation.

Each ``check_*`` function returns the cleaned value or raises ``ValueError`` with a
sentence that states the rule. Callers add the field name.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

PORT_25_REASON = (
    "25 is refused: it is the port spammers target, many ISPs and clouds block it, "
    "and mail sent through it harms your domain's reputation; use 587 (STARTTLS) or 465"
)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]")

MAX_NAME = 200
MAX_SENDER_NAME = 256
MAX_ADDRESS = 254


def is_loopback_host(host: str) -> bool:
    host = host.strip().strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(value: str) -> str:
    host = value.strip()
    if not host:
        raise ValueError("is mandatory")
    if "://" in host:
        raise ValueError("must be a host name or IP address, without a scheme such as smtp://")
    if any(ch.isspace() for ch in host) or _CONTROL.search(host):
        raise ValueError("must not contain spaces or control characters")
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(literal)
        return literal
    except ValueError:
        pass
    if ":" in host or "/" in host or "@" in host:
        raise ValueError("must be a host name or IP address, without port, path or user")
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("is not a valid host name") from None
    if len(ascii_host) > 253:
        raise ValueError("is too long for a host name (253 characters at most)")
    labels = ascii_host.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise ValueError(
            "is not a valid host name (letters, digits and hyphens, separated by dots)"
        )
    if labels[-1].isdigit():
        raise ValueError("is not a valid host name or IPv4 address")
    return host.rstrip(".").lower()


def check_port(value: int | str) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number from 1 to 65535")
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise ValueError("must be a whole number from 1 to 65535")
        value = int(text)
    if not 1 <= value <= 65535:
        raise ValueError("must be a whole number from 1 to 65535")
    if value == 25:
        raise ValueError(PORT_25_REASON)
    return value


def check_token_url(value: str) -> str:
    url = value.strip()
    if not url:
        raise ValueError("is mandatory")
    if any(ch.isspace() for ch in url) or _CONTROL.search(url):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(
            "must be an https:// URL such as https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token"
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("must use https (plain http is allowed only to a loopback host)")
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password")
    try:
        parts.port  # noqa: B018 - raises on an invalid port
    except ValueError:
        raise ValueError("has an invalid port") from None
    return url


def check_address(value: str) -> str:
    """A mailbox address, normalized (domain lower-cased, IDNA). No display names."""
    text = value.strip()
    if not text:
        raise ValueError("is mandatory")
    if _CONTROL.search(text):
        raise ValueError("must not contain control characters or line breaks")
    if len(text) > MAX_ADDRESS:
        raise ValueError(f"is too long ({MAX_ADDRESS} characters at most)")
    from email_validator import EmailNotValidError, validate_email  # ~30 ms: not at start-up

    try:
        info = validate_email(text, check_deliverability=False, allow_display_name=False)
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from None
    return info.normalized


def check_plain_text(value: str, *, mandatory: bool, limit: int) -> str:
    text = value.strip()
    if mandatory and not text:
        raise ValueError("is mandatory")
    if _CONTROL.search(text):
        raise ValueError("must not contain control characters or line breaks")
    if len(text) > limit:
        raise ValueError(f"is too long ({limit} characters at most)")
    return text


def check_name(value: str) -> str:
    return check_plain_text(value, mandatory=True, limit=MAX_NAME)


def check_sender_name(value: str) -> str:
    return check_plain_text(value, mandatory=False, limit=MAX_SENDER_NAME)


def check_scope(value: str) -> str:
    scope = value.strip()
    if not scope:
        raise ValueError("must not be empty")
    if any(ch.isspace() for ch in scope) or _CONTROL.search(scope):
        raise ValueError("must not contain spaces or control characters (give one scope per value)")
    return scope


def check_secret(value: str) -> str:
    if not value:
        raise ValueError("is mandatory")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters or line breaks")
    if len(value) > 8192:
        raise ValueError("is too long (8192 characters at most)")
    return value


def suggested_scopes(token_url: str) -> list[str]:
    host = (urlsplit(token_url.strip()).hostname or "").lower()
    if host.startswith("login.microsoftonline.") or host in {
        "login.microsoftonline.us",
        "login.partner.microsoftonline.cn",
        "login.chinacloudapi.cn",
    }:
        return ["https://outlook.office365.com/.default"]
    return []


def normalize_addresses(values: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Validate many addresses: return the unique valid ones in order and the problems."""
    seen: set[str] = set()
    good: list[str] = []
    problems: list[tuple[str, str]] = []
    for raw in values:
        try:
            address = check_address(raw)
        except ValueError as exc:
            problems.append((raw, str(exc)))
            continue
        key = address.casefold()
        if key not in seen:
            seen.add(key)
            good.append(address)
    return good, problems


def split_pasted_addresses(text: str) -> list[str]:
    """Addresses pasted at once: separated by commas, semicolons, spaces or new lines."""
    return [part for part in re.split(r"[\s,;]+", text) if part]
