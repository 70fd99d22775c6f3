"""Which stage names read as production: removing such a stage asks for its name typed
out, whatever its production flag says (a stage called "Prod" that nobody flagged is
still where real users' mail goes)."""

from __future__ import annotations

import re

_PRODUCTION_WORDS = re.compile(r"prod|prd|live", re.IGNORECASE)


def looks_like_production(name: str, *, flagged: bool = False) -> bool:
    """Production, Prod, PRD, prod-eu, Live, ... or a stage flagged production."""
    return flagged or _PRODUCTION_WORDS.search(name) is not None
