"""Temporary /etc/hosts entries for name-resolution tests, restored byte for byte.

The real resolver reads them (getaddrinfo, "hosts: files" first): no seam in the code
under test. Needs write access to /etc/hosts (tests run as root here)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

HOSTS = "/etc/hosts"


@contextmanager
def extra_hosts(*entries: tuple[str, str]) -> Iterator[None]:
    """Add ``(address, name)`` lines; the file is put back exactly as it was."""
    if not os.access(HOSTS, os.W_OK):
        pytest.skip("needs write access to /etc/hosts")
    with open(HOSTS, "rb") as file:
        original = file.read()
    lines = "".join(f"{address} {name}\n" for address, name in entries)
    separator = b"" if original.endswith(b"\n") or not original else b"\n"
    try:
        with open(HOSTS, "wb") as file:  # in place: /etc/hosts may be a bind mount
            file.write(original + separator + lines.encode())
        for _, name in entries:
            socket.getaddrinfo(name, None)  # the resolver sees it now
        yield
    finally:
        with open(HOSTS, "wb") as file:
            file.write(original)
        with open(HOSTS, "rb") as file:
            assert file.read() == original
