"""Help pages that teach: every leaf command gets a description, its required options in
their own section, defaults in the option's help, and examples (kept as written)."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from typing import Any


def leaf(
    subparsers: Any,
    name: str,
    summary: str,
    description: str,
    examples: Sequence[str] = (),
) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does, then how it is used."""
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples) if examples else None
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=summary,
        description=wrap(description),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def wrap(text: str, width: int = 78) -> str:
    """Paragraphs wrapped to the width; indented lines (lists) kept as written."""
    out: list[str] = []
    for paragraph in text.split("\n\n"):
        lines = paragraph.split("\n")
        if any(line.startswith("  ") for line in lines):
            out.append(paragraph)
        else:
            out.append(textwrap.fill(" ".join(lines), width))
    return "\n\n".join(out)


def required(parser: argparse.ArgumentParser) -> Any:
    """The section that lists the options a command cannot run without."""
    return parser.add_argument_group("required options")
