"""Plain-text rendering for the command line: JSON and aligned tables."""

from __future__ import annotations

import json

from mailstage.store.text import json_escape_unsafe

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


def to_json(value: Any) -> str:
    """JSON with the characters a terminal would act on written as \\u escapes."""
    return json_escape_unsafe(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def pairs(items: Sequence[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in items)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in items)
