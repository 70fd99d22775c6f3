"""How a test list is described in words, on the Apps list and an app's Configuration."""

from __future__ import annotations

from mailstage.store.models import TestList


def list_state(test_list: TestList) -> str:
    """'active' / 'inactive', in words (never colour alone)."""
    return "active" if test_list.active else "inactive"


def count_text(n: int) -> str:
    return f"{n} address{'es' if n != 1 else ''}"
