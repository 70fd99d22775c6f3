"""Did you mean: the closest known name to a typo, for commands, stages and apps."""

from __future__ import annotations

from collections.abc import Iterable


def closest(typed: str, known: Iterable[str]) -> str | None:
    """The known name nearest to ``typed`` (ignoring case), or None when none is close."""
    names = {name.casefold(): name for name in known if name}
    key = typed.casefold()
    import difflib  # only when a name was not found

    matches = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    if not matches:  # a prefix is a good guess too: "Prod" for "Production"
        matches = [n for n in names if n.startswith(key)][:1] if len(key) >= 2 else []
    return names[matches[0]] if matches else None


def did_you_mean(typed: str, known: Iterable[str]) -> str:
    """ " Did you mean 'stage'?" or ""."""
    guess = closest(typed, known)
    return f" Did you mean {guess!r}?" if guess is not None else ""
