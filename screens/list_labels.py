"""How a test list is described in words, on the Apps list and an app's Configuration."""

from __future__ import annotations

from mailstage.store.models import TestList
from mailstage.store.words import count_text


def list_state(test_list: TestList) -> str:
    """'active' / 'inactive', in words (never colour alone)."""
    return "active" if test_list.active else "inactive"


__all__ = ["count_text", "list_state"]
