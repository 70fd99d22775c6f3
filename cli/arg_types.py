"""Argument types for numbers on the command line: the ASCII digits 0-9 only.

Python's int() and float() read any Unicode digit ("٣" is 3) and fail on others with
"invalid literal for int()" ("²"): a port or a limit is written in 0-9, and a wrong
one gets a sentence that states the rule (argparse prints it after the option's name).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

_WHOLE = re.compile(r"[0-9]{1,9}")
_DECIMAL = re.compile(r"[0-9]{1,6}(\.[0-9]{1,3})?")


def whole_number(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if _WHOLE.fullmatch(text.strip()) is None or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, in the digits 0-9"
            )
        return int(text)

    return parse


def seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        if _DECIMAL.fullmatch(text.strip()) is None or not low <= float(text) <= high:
            raise argparse.ArgumentTypeError(
                f"must be a number of seconds from {low:g} to {high:g}, in the digits 0-9 "
                f"(for example 20 or 2.5)"
            )
        return float(text)

    return parse


port_or_zero = whole_number(0, 65535)
count = whole_number(0, 1_000_000_000)
