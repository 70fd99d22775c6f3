"""Who is at the keyboard: the login name of the process's real uid, never an environment
variable (anyone can set USER or LOGNAME); for a PostgreSQL store, the database role the
server authenticated (OS logins are not used there). Member names are checked like
login names."""

from __future__ import annotations

import os
import pwd
import re
from typing import TYPE_CHECKING

from mailstage.store.errors import InvalidInput, MailstageError
from mailstage.store.models import describe

if TYPE_CHECKING:
    from mailstage.store.paths import Locations

# POSIX portable user names (plus the trailing $ of machine accounts), as useradd accepts them.
LOGIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?")
# PostgreSQL role names as people write them (63 bytes at most; certificates and LDAP
# often name roles by mail address)
ROLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@$-]{0,62}")


class UnknownIdentity(MailstageError):
    """Exit 4: the real uid has no login name, so nobody can be held accountable."""

    exit_code = 4


def login_name() -> str:
    """The login name of the real uid, or a sentence saying why there is none."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        raise UnknownIdentity(
            f"Your user id {uid} has no login name in the system's user database, so "
            f"mailstage cannot tell who you are; ask the system administrator to add it."
        ) from None


def acting_user(locations: Locations) -> str:
    """The member acting on this store: the login name, or for a database its role
    (`SELECT current_user`: password, certificate or peer authentication decided it)."""
    if locations.database is None:
        return login_name()
    from mailstage.store.pg_backend import for_database

    return for_database(locations, locations.database).current_user()


def no_such_login(name: str, locations: Locations) -> str | None:
    """A warning when a member's name is no login on this machine (a typo, or a login
    not made yet: the member is kept either way). None for a database store, whose
    members are database roles, not OS logins."""
    if locations.database is not None:
        return None
    cleaned = name.strip()
    try:
        pwd.getpwnam(cleaned)
    except KeyError:
        return (
            f"There is no login named {cleaned} on this machine: the member is kept, and "
            "takes effect once that login exists (check the spelling; names are "
            "case-sensitive)."
        )
    return None


def check_member_name(name: str, *, database: bool = False) -> str:
    """A member's name as typed: an OS login name (letters, digits, '.', '_', '-'); for a
    PostgreSQL store a database role's name (up to 63 characters, '@' and '$' too)."""
    cleaned = name.strip()
    if database:
        if not ROLE_NAME.fullmatch(cleaned):
            raise InvalidInput(
                describe(
                    "user",
                    "must be a database role name: 1 to 63 letters, digits, '.', '_', '-', "
                    "'@' or '$', not starting with '.', '-', '@' or '$'",
                ),
                [("user", "role name")],
            )
        return cleaned
    if not LOGIN_NAME.fullmatch(cleaned):
        raise InvalidInput(
            describe(
                "user",
                "must be an OS login name: 1 to 32 letters, digits, '.', '_' or '-', "
                "not starting with '.' or '-'",
            ),
            [("user", "login name")],
        )
    return cleaned


def is_known_login(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
