"""Small hostile servers on loopback: an SMTP server that says what the test scripts
(escape-laden banners, echoed credentials, replies dripped a byte at a time), and HTTP
token endpoints that misbehave (slow drip, redirect, huge body, echo)."""

from __future__ import annotations

import base64
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


@dataclass
class SmtpScript:
    """What the scripted SMTP server answers. Each reply is the text after the code;
    ``{login}``/``{password}``/``{payload}`` in ``auth_reply`` are replaced with what
    the client sent (an echoing server)."""

    banner: str = "220 hostile.example ESMTP"
    ehlo: list[str] = field(default_factory=lambda: ["hostile.example", "AUTH PLAIN LOGIN"])
    auth_reply: str = "235 2.7.0 Authentication successful"
    mail_reply: str = "250 2.1.0 OK"
    rcpt_reply: str = "250 2.1.5 OK"
    # RCPT lines containing a key get its value instead of rcpt_reply
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str = "250 2.0.0 OK queued"
    drip_seconds: float = 0.0  # pause before each byte of every reply (a slow drip)
    rcpt_delay: float = 0.0  # pause before answering each RCPT
    data_delay: float = 0.0  # pause before answering the final dot
    commands: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)  # the lines of every message received
    auth_replies: list[str] = field(default_factory=list)  # what AUTH was answered


class ScriptedSmtp:
    """A plain-text SMTP server on ``host`` (default 127.0.0.1) answering from a script."""

    def __init__(self, script: SmtpScript | None = None, *, host: str = HOST) -> None:
        self.script = script or SmtpScript()
        self._stop = threading.Event()
        server_self = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                server_self._converse(self)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def _write(self, handler: Any, text: str) -> None:
        data = text.encode("utf-8", "surrogateescape") + b"\r\n"
        if self.script.drip_seconds <= 0:
            handler.wfile.write(data)
            return
        for byte in data:
            if self._stop.wait(self.script.drip_seconds):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    def _converse(self, handler: Any) -> None:
        script = self.script
        try:
            self._write(handler, script.banner)
            in_data = False
            for raw in handler.rfile:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if in_data:
                    if line == ".":
                        in_data = False
                        if self._stop.wait(script.data_delay):
                            return
                        self._write(handler, script.data_reply)
                    else:
                        script.data.append(line)
                    continue
                script.commands.append(line)
                verb = line.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    lines = script.ehlo
                    for index, text in enumerate(lines):
                        sep = " " if index == len(lines) - 1 else "-"
                        self._write(handler, f"250{sep}{text}")
                elif verb == "AUTH":
                    self._write(handler, self._auth_reply(line))
                elif verb == "MAIL":
                    self._write(handler, script.mail_reply)
                elif verb == "RCPT":
                    if self._stop.wait(script.rcpt_delay):
                        return
                    chosen = [reply for key, reply in script.rcpt_replies.items() if key in line]
                    self._write(handler, chosen[0] if chosen else script.rcpt_reply)
                elif verb == "DATA":
                    self._write(handler, "354 go ahead")
                    in_data = True
                elif verb == "QUIT":
                    self._write(handler, "221 2.0.0 Bye")
                    return
                else:
                    self._write(handler, "502 5.5.2 not here")
        except OSError:
            return

    def _auth_reply(self, line: str) -> str:
        parts = line.split()
        payload = parts[2] if len(parts) > 2 else ""
        login = password = token = ""
        try:
            raw = base64.b64decode(payload)
            decoded = raw.split(b"\0")
            if len(decoded) == 3:
                login, password = decoded[1].decode(), decoded[2].decode()
            for part in raw.split(b"\x01"):
                if part.startswith(b"auth=Bearer "):
                    token = part.removeprefix(b"auth=Bearer ").decode()
        except ValueError:
            pass
        reply = (
            self.script.auth_reply.replace("{payload}", payload)
            .replace("{login}", login)
            .replace("{password}", password)
            .replace("{token}", token)
        )
        self.script.auth_replies.append(reply)
        return reply

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


# --- token endpoints -----------------------------------------------------------------

Responder = Callable[[BaseHTTPRequestHandler, bytes, "HostileHttp"], None]


class HostileHttp:
    """An HTTP server on ``host``; ``respond(handler, body, server)`` answers each POST/GET.
    ``release`` is set at stop so a dripping responder ends."""

    def __init__(self, respond: Responder, *, host: str = HOST, context: Any = None) -> None:
        self.scheme = "https" if context is not None else "http"
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path, dict(self.headers), body))
                try:
                    respond(self, body, outer)
                except OSError:
                    pass

            do_POST = _handle  # noqa: N815 - http.server's naming
            do_GET = _handle  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.host = host
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str = "/tenant/oauth2/token", host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def drip_forever(handler: BaseHTTPRequestHandler, _body: bytes, server: HostileHttp) -> None:
    """200 with a huge Content-Length, then one byte a second until the server stops."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(b'{"access_token": "')
    handler.wfile.flush()
    while not server.release.wait(0.5):
        handler.wfile.write(b"a")
        handler.wfile.flush()


def drip_headers_forever(
    handler: BaseHTTPRequestHandler, _body: bytes, server: HostileHttp
) -> None:
    """The status line and then a header, one byte at a time, never ending."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    handler.wfile.flush()
    while not server.release.wait(0.5):
        handler.wfile.write(b"z")
        handler.wfile.flush()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Poll until true (a guard against hanging, not a timing assertion)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def local_non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (the route to the outside), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address
