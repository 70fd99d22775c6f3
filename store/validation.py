"""Field rules: ONE table, shared by the models, the command line and the TUI's inline checks.

Each ``check_*`` function returns the cleaned value or raises ``ValueError`` with a
sentence that states the rule; callers add the field name (``describe``). ``FIELDS``
maps every field key to its label, its rule and its length cap; ``check_field`` and
``require`` are what the models, the workspace and the screens call. No Textual here.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mailstage.store.errors import InvalidInput
from mailstage.store.fields import describe, ignorable, shown

PORT_25_REASON = (
    "25 is refused: it is the port spammers target, many ISPs and clouds block it, "
    "and mail sent through it harms your domain's reputation; use 587 (STARTTLS) or 465"
)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]")

MAX_NAME = 200
MAX_LOGIN = 256
MAX_SENDER_NAME = 256
MAX_ADDRESS = 254
MAX_HOST = 253
MAX_CLIENT_ID = 256
MAX_USERNAME = 254
MAX_SECRET = 8192
MAX_URL = 2048
MAX_SCOPE = 512
MAX_SCOPES = 20
MAX_PATH = 4096

# Characters that draw nothing or change the direction of what follows: a name holding
# one looks like another name (`Prod\u200duction` shows as Production). Format (Cf),
# control (Cc), private-use, surrogate, unassigned and line/paragraph separators, plus
# Unicode's other default-ignorable code points (fillers, variation selectors).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def hidden_character(text: str) -> str | None:
    """The first control, invisible or direction-changing character, or None."""
    for ch in text:
        if unicodedata.category(ch) in _HIDDEN_CATEGORIES or ignorable().match(ch):
            return ch
    return None


def check_visible(text: str, *, spaces: bool = True) -> None:
    """Only characters that show as themselves; with ``spaces``, the ordinary space is
    the only space (a no-break or thin space looks like it, and makes a twin name)."""
    ch = hidden_character(text)
    if ch is not None:
        code = f"U+{ord(ch):04X}"
        if _CONTROL.match(ch) or unicodedata.category(ch) == "Cc":
            raise ValueError(f"must not contain control characters or line breaks ({code})")
        raise ValueError(
            f"must not contain invisible or direction-changing characters ({code} "
            f"{unicodedata.name(ch, 'unnamed')}): they make a value look like another"
        )
    if spaces:
        for ch in text:
            if ch != " " and ch.isspace():
                raise ValueError(
                    f"must use the ordinary space only (it holds U+{ord(ch):04X} "
                    f"{unicodedata.name(ch, 'a space')})"
                )


def check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise ValueError(f"is too long ({len(text)} characters; {limit} at most)")


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
    check_length(host, MAX_HOST + 2)  # room for the brackets of an IPv6 literal
    if "://" in host:
        raise ValueError("must be a host name or IP address, without a scheme such as smtp://")
    if any(ch.isspace() for ch in host) or _CONTROL.search(host):
        raise ValueError("must not contain spaces or control characters")
    check_visible(host)
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
    if len(ascii_host) > MAX_HOST:
        raise ValueError(f"is too long for a host name ({MAX_HOST} characters at most)")
    labels = ascii_host.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise ValueError(
            "is not a valid host name (letters, digits and hyphens, separated by dots)"
        )
    if labels[-1].isdigit():
        raise ValueError("is not a valid host name or IPv4 address")
    return host.rstrip(".").lower()


PORT_RULE = "must be a whole number from 1 to 65535, in the digits 0-9"


def check_port(value: int | str) -> int:
    if isinstance(value, bool):
        raise ValueError(PORT_RULE)
    if isinstance(value, str):
        text = value.strip()
        # str.isdigit() also accepts "²" and "٣": int() then fails or reads another digit
        if not (text.isascii() and text.isdigit() and len(text) <= 5):
            raise ValueError(PORT_RULE)
        value = int(text)
    if not isinstance(value, int):
        raise ValueError(PORT_RULE)
    if not 1 <= value <= 65535:
        raise ValueError(PORT_RULE)
    if value == 25:
        raise ValueError(PORT_25_REASON)
    return value


def check_token_url(value: str) -> str:
    url = value.strip()
    if not url:
        raise ValueError("is mandatory")
    check_length(url, MAX_URL)
    if any(ch.isspace() for ch in url) or _CONTROL.search(url):
        raise ValueError("must not contain spaces or control characters")
    check_visible(url)
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
    check_visible(text)
    from email_validator import EmailNotValidError, validate_email  # ~30 ms: not at start-up

    try:
        info = validate_email(text, check_deliverability=False, allow_display_name=False)
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from None
    return info.normalized


def check_plain_text(value: str, *, mandatory: bool, limit: int) -> str:
    """One line of visible text (names, user names, ids): no control, invisible or
    direction-changing character, no space but the ordinary one, at most ``limit``."""
    text = value.strip()
    if mandatory and not text:
        raise ValueError("is mandatory")
    if _CONTROL.search(text):
        raise ValueError("must not contain control characters or line breaks")
    check_length(text, limit)
    check_visible(text)
    return text


def check_name(value: str) -> str:
    return check_plain_text(value, mandatory=True, limit=MAX_NAME)


def check_sender_name(value: str) -> str:
    return check_plain_text(value, mandatory=False, limit=MAX_SENDER_NAME)


def check_username(value: str) -> str:
    return check_plain_text(value, mandatory=True, limit=MAX_USERNAME)


def check_client_id(value: str) -> str:
    return check_plain_text(value, mandatory=True, limit=MAX_CLIENT_ID)


def check_login_name(value: str) -> str:
    """An OS login name, as a member of the organization."""
    name = check_plain_text(value, mandatory=True, limit=MAX_LOGIN)
    if " " in name:
        raise ValueError("must be an OS login name without spaces")
    return name


def check_ca_file(value: str) -> str | None:
    path = value.strip()
    if not path:
        return None
    if _CONTROL.search(path):
        raise ValueError("must not contain control characters or line breaks")
    check_length(path, MAX_PATH)
    check_visible(path, spaces=False)
    return path


def check_scope(value: str) -> str:
    scope = value.strip()
    if not scope:
        raise ValueError("must not be empty")
    if any(ch.isspace() for ch in scope) or _CONTROL.search(scope):
        raise ValueError("must not contain spaces or control characters (give one scope per value)")
    check_length(scope, MAX_SCOPE)
    check_visible(scope)
    return scope


def check_scopes(values: list[str]) -> list[str]:
    """Each scope checked, duplicates dropped, at most MAX_SCOPES."""
    cleaned = list(dict.fromkeys(check_scope(v) for v in values))
    if len(cleaned) > MAX_SCOPES:
        raise ValueError(f"are too many ({len(cleaned)}; {MAX_SCOPES} at most)")
    return cleaned


def scopes_for(token_url: str, scopes: list[str]) -> list[str]:
    """The scopes to request: the ones given, else the token URL's suggestion, else none
    (Scopes is optional as in the portal; the token request then has no ``scope``)."""
    return scopes or suggested_scopes(token_url)


def check_secret(value: str) -> str:
    if not value:
        raise ValueError("is mandatory")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters or line breaks")
    check_length(value, MAX_SECRET)
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


# -- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRule:
    """A field's rule; its label is in store.fields.FIELD_LABELS (read without this module)."""

    check: Callable[[Any], Any]
    limit: int  # the longest value accepted, in characters (for scopes: how many)


def _one_of(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return str(value)

    return check


def _addresses(values: list[str]) -> list[str]:
    good, problems = normalize_addresses(values)
    if problems:
        raw, why = problems[0]
        raise ValueError(f"{shown(raw)} {why}")
    return good


AUTH_TYPES = ("basic", "oauth2", "oauth2_client_credentials")

FIELDS: dict[str, FieldRule] = {
    "server": FieldRule(check_host, MAX_HOST),
    "port": FieldRule(check_port, 5),
    "security": FieldRule(_one_of("starttls", "implicit"), 8),
    "auth": FieldRule(_one_of(*AUTH_TYPES), 25),
    "type": FieldRule(_one_of(*AUTH_TYPES), 25),
    "token_url": FieldRule(check_token_url, MAX_URL),
    "client_id": FieldRule(check_client_id, MAX_CLIENT_ID),
    "client_secret": FieldRule(check_secret, MAX_SECRET),
    "scopes": FieldRule(check_scopes, MAX_SCOPES),
    "username": FieldRule(check_username, MAX_USERNAME),
    "password": FieldRule(check_secret, MAX_SECRET),
    "sender_email": FieldRule(check_address, MAX_ADDRESS),
    "sender_name": FieldRule(check_sender_name, MAX_SENDER_NAME),
    "ca_file": FieldRule(check_ca_file, MAX_PATH),
    "name": FieldRule(check_name, MAX_NAME),
    "stage": FieldRule(check_name, MAX_NAME),
    "app": FieldRule(check_name, MAX_NAME),
    "role": FieldRule(check_name, MAX_NAME),
    "user": FieldRule(check_login_name, MAX_LOGIN),
    "addresses": FieldRule(_addresses, MAX_ADDRESS),
    "studio_list": FieldRule(_addresses, MAX_ADDRESS),
}


def check_field(key: str, value: Any) -> Any:
    """The cleaned value of a field, or ValueError with its rule (without the name)."""
    return FIELDS[key].check(value)


def broken_rule(key: str, value: Any) -> str | None:
    """The rule a field's value breaks ("is too long ..."), or None when it is valid: the
    CLI puts the option's name before it (describe), the form the label."""
    try:
        check_field(key, value)
    except ValueError as exc:
        return str(exc)
    return None


def require(key: str, value: Any) -> Any:
    """The cleaned value, or InvalidInput (exit 3) naming the field and the rule."""
    try:
        return check_field(key, value)
    except ValueError as exc:
        raise InvalidInput(describe(key, str(exc)), [(key, str(exc))]) from None
