"""Removals ask for `--yes`: without it nothing is removed and the command says what would go."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailstage.store.errors import MailstageError

if TYPE_CHECKING:
    import argparse


class NotConfirmed(MailstageError):
    """Exit 2 (usage): a removal without --yes."""

    exit_code = 2


def add_yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="confirm the removal")


def require_yes(args: argparse.Namespace, what: str) -> None:
    if not args.yes:
        raise NotConfirmed(f"{what} Nothing was removed; add --yes to confirm.")
