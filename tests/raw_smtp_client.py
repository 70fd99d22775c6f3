"""An SMTP client that writes exactly the bytes a test gives it (smtplib refuses or
rewrites hostile addresses before they reach the wire)."""

from __future__ import annotations

import base64
import socket


class RawClient:
    def __init__(self, port: int, *, host: str = "127.0.0.1", timeout: float = 60) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self) -> tuple[int, str]:
        """One reply: its code and its lines' text joined by newlines."""
        lines: list[str] = []
        while True:
            line = self.reader.readline()
            if not line:
                raise ConnectionError("the relay closed the connection")
            text = line.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
            lines.append(text[4:])
            if text[3:4] != "-":
                return int(text[:3]), "\n".join(lines)

    def command(self, line: bytes | str) -> tuple[int, str]:
        raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
        self.sock.sendall(raw + b"\r\n")
        return self.reply()

    def login(self, user: str, password: str) -> None:
        assert self.command("EHLO app.example")[0] == 250
        plain = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        code, text = self.command(f"AUTH PLAIN {plain}")
        assert code == 235, text

    def data(self, message: bytes) -> tuple[int, str]:
        code, text = self.command("DATA")
        assert code == 354, text
        self.sock.sendall(message.replace(b"\n.", b"\n..") + b"\r\n.\r\n")
        return self.reply()

    def close(self) -> None:
        try:
            self.command("QUIT")
        except OSError:
            pass
        self.reader.close()
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
