"""`--store postgresql://USER[:PASSWORD]@HOST[:PORT]/DB`: telling a database URL from a
file name, and checking it, without importing anything PostgreSQL-related.

A string that looks like a URL is never taken as a relative file name (a file
`postgresql:` in the current folder once was). The password, when the URL has one, is
kept out of every message and repr: `shown` names the server and database only.
"""

from __future__ import annotations

import re

from mailstage.store.errors import InvalidInput, StoreUnreadable
from mailstage.store.record import FrozenRecord

SCHEMES = ("postgresql", "postgres")
INSTALL_EXTRA = "pip install 'mailstage[postgres]'"
# anything of the form scheme:// is meant as a URL, as is a bare "postgresql:" / "postgres:"
_URL_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|(?:postgresql|postgres):", re.IGNORECASE)
_DATABASE_NAME = re.compile(r"[^\x00-\x1f\x7f/]{1,63}")
# the libpq connection parameters a URL may carry after "?"; others are refused by name
QUERY_KEYS = frozenset(
    {
        "application_name",
        "channel_binding",
        "connect_timeout",
        "gssencmode",
        "host",
        "hostaddr",
        "krbsrvname",
        "options",
        "passfile",
        "password",
        "port",
        "sslcert",
        "sslcrl",
        "sslkey",
        "sslmode",
        "sslrootcert",
        "target_session_attrs",
        "user",
    }
)


def looks_like_url(text: str) -> bool:
    return _URL_LIKE.match(text) is not None


class DatabaseUrl(FrozenRecord):
    """A checked PostgreSQL URL. ``conninfo`` (what libpq is given) may hold a password:
    it is never shown; ``shown`` is what messages print."""

    FIELDS = ("host", "port", "database", "user", "conninfo")
    NOT_SHOWN = frozenset({"conninfo"})
    host: str  # "" for the local socket
    port: int | None
    database: str
    user: str | None
    conninfo: str

    def __init__(
        self, host: str, port: int | None, database: str, user: str | None, conninfo: str
    ) -> None:
        self._init(host=host, port=port, database=database, user=user, conninfo=conninfo)

    @property
    def server(self) -> str:
        """The server as a sentence names it: host[:port], or the local socket."""
        if not self.host or self.host.startswith("/"):
            where = f"the local socket{' in ' + self.host if self.host else ''}"
        else:
            where = f"{self.host}"
        return f"{where}:{self.port}" if self.port is not None and self.host else where

    @property
    def shown(self) -> str:
        """The URL without any password, for messages and `mailstage locate`."""
        user = f"{self.user}@" if self.user else ""
        host = self.host if self.host and not self.host.startswith("/") else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"postgresql://{user}{host}{port}/{self.database}"

    @property
    def where(self) -> str:
        """'the database DB on SERVER', the phrase every message uses."""
        return f"the database {self.database} on {self.server}"


def extra_missing(where: str) -> StoreUnreadable:
    """Exit 5: a database store without psycopg installed."""
    return StoreUnreadable(
        f"The store is {where}, and PostgreSQL stores need the PostgreSQL extra, "
        f"which is not installed: {INSTALL_EXTRA}"
    )


def _refuse(origin: str, rule: str) -> InvalidInput:
    # never the URL itself: it may carry a password
    return InvalidInput(
        f"Store ({origin}) must be a file path or a URL of the form "
        f"postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE: {rule}.",
        [("store", rule)],
    )


def parse_database_url(text: str, origin: str = "--store") -> DatabaseUrl:
    """Check a URL given as the store; InvalidInput (exit 3) names ``origin`` and the rule."""
    scheme, sep, _ = text.partition("://")
    if not sep:
        raise _refuse(origin, "a URL starts with postgresql:// (two slashes)")
    if scheme.lower() not in SCHEMES:
        shown_scheme = scheme if re.fullmatch(r"[A-Za-z0-9+.-]{1,20}", scheme) else "this"
        raise _refuse(origin, f"the {shown_scheme}:// scheme is not supported")
    from urllib.parse import parse_qsl, unquote, urlsplit  # only when a URL is given

    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise _refuse(origin, "control characters are not allowed")
    try:
        parts = urlsplit(text)
        port = parts.port
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise _refuse(origin, "the port must be a number from 1 to 65535") from None
    if parts.fragment:
        raise _refuse(origin, "a '#' part is not allowed")
    if port is not None and not 1 <= port <= 65535:
        raise _refuse(origin, "the port must be a number from 1 to 65535")
    unknown = sorted({key for key, _ in query} - QUERY_KEYS)
    if unknown:
        shown_key = unknown[0] if re.fullmatch(r"[a-z_]{1,30}", unknown[0]) else "a parameter"
        raise _refuse(origin, f"{shown_key} is not a connection parameter mailstage accepts")
    params = dict(query)
    database = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if not database:
        raise _refuse(origin, "the database name after the host is mandatory (…/DATABASE)")
    if not _DATABASE_NAME.fullmatch(database):
        raise _refuse(origin, "the database name is 1 to 63 characters without '/'")
    host = params.get("host") or unquote(parts.hostname or "")
    if "port" in params:
        if not params["port"].isdigit() or not 1 <= int(params["port"]) <= 65535:
            raise _refuse(origin, "the port must be a number from 1 to 65535")
        port = int(params["port"])
    user = params.get("user") or (unquote(parts.username) if parts.username else None)
    return DatabaseUrl(host=host, port=port, database=database, user=user, conninfo=text)
