"""How a test list is described in words, on the Apps list and an app's Configuration."""

from __future__ import annotations

from mailstage.store.models import TestList
from mailstage.store.words import count_text


def list_state(test_list: TestList) -> str:
    """'active' / 'inactive', in words (never colour alone)."""
    return "active" if test_list.active else "inactive"


def held_sentence(app_name: str, stage_name: str) -> str:
    """What an active but empty test list does: the relay holds every message."""
    return (
        f"The list is empty: all of {app_name}'s mail in {stage_name} will be held "
        "(nobody receives it) until you add addresses or turn the list off."
    )


__all__ = ["count_text", "held_sentence", "list_state"]
