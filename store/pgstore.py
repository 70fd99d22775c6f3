"""The PostgreSQL store (issue 18): the only module that imports psycopg, and only when a
`postgresql://` store is used (never on the file path: start-up speed).

Connecting, and turning every failure into a sentence naming the server and the
database (exit 5; a lock wait that ran out is exit 6), never the password, never the
driver's text (it may quote the input). The store itself: store/pg_backend.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mailstage.store.database_url import DatabaseUrl, extra_missing
from mailstage.store.errors import LockTimeout, NotInitialized, StoreUnreadable

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT = 10  # seconds: an unreachable server is a sentence, not a hang


class DatabaseUnreachable(StoreUnreadable):
    """Exit 5: the server did not answer, refused the login, or has no such database."""


def connect(url: DatabaseUrl) -> psycopg.Connection[tuple[object, ...]]:
    try:
        import psycopg
    except ImportError:
        raise extra_missing(url.where) from None
    try:
        return psycopg.connect(
            url.conninfo,
            connect_timeout=CONNECT_TIMEOUT,
            application_name="mailstage",
            autocommit=True,  # transactions are explicit: the store's lock is one
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnreachable(
            f"Cannot open the store in {url.where}: {_reason(exc, url)}."
        ) from None
    except psycopg.Error:
        raise DatabaseUnreachable(
            f"Cannot open the store in {url.where}: the server refused the connection."
        ) from None


def _reason(exc: Exception, url: DatabaseUrl) -> str:
    """The cause in our words, picked from the server's message (SQLSTATE is not set on
    connection failures); the message itself is never shown."""
    text = str(exc).lower()
    role = f"the role {url.user}" if url.user else "your role"
    if "password authentication failed" in text or "password is required" in text:
        return f"the server refused the login of {role} (wrong password, or no such role)"
    if "no password supplied" in text:
        return f"the server asks {role} for a password and the URL gives none"
    if "does not exist" in text and "database" in text:
        return "there is no such database on that server; create it first (createdb)"
    if "does not exist" in text and "role" in text:
        return f"the server knows no {role}"
    if "pg_hba.conf" in text:
        return f"the server's pg_hba.conf allows no login for {role} from here"
    if "timeout" in text or "timed out" in text:
        return f"the server did not answer within {CONNECT_TIMEOUT} s"
    if "could not translate host name" in text or "failed to resolve host" in text:
        return "the host name is unknown"
    return "the server is unreachable (is it running, and is the host and port right?)"


def not_initialized(url: DatabaseUrl) -> NotInitialized:
    return NotInitialized(
        f"There is no store in {url.where} yet. Create one with: mailstage --store {url.shown} init"
    )


@contextlib.contextmanager
def translated(url: DatabaseUrl, doing: str, lock_seconds: float = 0) -> Iterator[None]:
    """Database errors while ``doing`` something, as sentences (never the server's text)."""
    try:
        import psycopg
        from psycopg import errors
    except ImportError:
        raise extra_missing(url.where) from None

    role = f"the role {url.user}" if url.user else "your role"
    try:
        yield
    except errors.UndefinedTable:
        raise not_initialized(url) from None
    except errors.LockNotAvailable:
        raise LockTimeout(
            f"Another mailstage is saving the store in {url.where} and did not finish "
            f"within {lock_seconds:g} s; try again."
        ) from None
    except errors.InsufficientPrivilege:
        raise StoreUnreadable(
            f"Cannot {doing} in {url.where}: {role} has no access to mailstage's tables; "
            f"their owner can grant it (README, PostgreSQL: GRANT ... TO ROLE)."
        ) from None
    except psycopg.OperationalError:
        raise DatabaseUnreachable(
            f"Cannot {doing} in {url.where}: the connection to the server was lost; "
            f"nothing more was changed."
        ) from None
    except psycopg.Error as exc:
        raise StoreUnreadable(
            f"Cannot {doing} in {url.where}: the server refused it (SQLSTATE "
            f"{exc.sqlstate or 'unknown'}); nothing was changed."
        ) from None
