"""The rule for a new store passphrase: long enough to stand up to guessing offline (the
store file may be copied anywhere; scrypt slows each guess, it cannot save "x")."""

from __future__ import annotations

from mailstage.store.errors import InvalidInput

MIN_PASSPHRASE = 12


def check_new_passphrase(passphrase: str) -> None:
    """Refuse a passphrase that is too short or one character repeated; never echo it."""
    problem = None
    if len(passphrase) < MIN_PASSPHRASE:
        problem = f"is too short: use at least {MIN_PASSPHRASE} characters (a few words work well)"
    elif len(set(passphrase)) < 4:
        problem = "uses too few different characters: a few words work well"
    if problem is not None:
        raise InvalidInput(
            f"The passphrase {problem}. Nothing was created.", [("passphrase", problem)]
        )
