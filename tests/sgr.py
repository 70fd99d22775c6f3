"""Reading a terminal line captured with its SGR codes (tmux capture-pane -e): which
attributes and colours each character was drawn with."""

from __future__ import annotations

import re
from typing import NamedTuple

SGR = re.compile(r"\x1b\[([0-9;]*)m")


class Cell(NamedTuple):
    char: str
    reverse: bool
    fg: str  # the SGR code of the foreground colour ("" = default)
    bg: str
    underline: bool = False


def cells(line: str) -> list[Cell]:
    out: list[Cell] = []
    reverse, fg, bg, underline = False, "", "", False
    pos = 0
    for match in [*SGR.finditer(line), None]:
        end = match.start() if match else len(line)
        out += [Cell(c, reverse, fg, bg, underline) for c in line[pos:end]]
        if match is None:
            break
        pos = match.end()
        codes = match.group(1).split(";") if match.group(1) else ["0"]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code in ("0", ""):
                reverse, fg, bg, underline = False, "", "", False
            elif code == "4":
                underline = True
            elif code == "24":
                underline = False
            elif code == "7":
                reverse = True
            elif code == "27":
                reverse = False
            elif code in ("38", "48"):  # 38;5;N or 38;2;R;G;B
                size = 3 if codes[i + 1] == "5" else 5
                value = ";".join(codes[i : i + size])
                fg, bg = (value, bg) if code == "38" else (fg, value)
                i += size - 1
            elif code == "39":
                fg = ""
            elif code == "49":
                bg = ""
            elif 30 <= int(code) <= 37 or 90 <= int(code) <= 97:
                fg = code
            elif 40 <= int(code) <= 47 or 100 <= int(code) <= 107:
                bg = code
            i += 1
    return out


def text_cells(line: str, text: str) -> list[Cell]:
    """The cells of the first occurrence of ``text`` in the line."""
    row = cells(line)
    plain = "".join(c.char for c in row)
    at = plain.index(text)
    return row[at : at + len(text)]


def line_with(screen: str, text: str) -> str:
    for line in screen.splitlines():
        if text in SGR.sub("", line):
            return line
    raise AssertionError(f"{text!r} is not on screen:\n{SGR.sub('', screen)}")
