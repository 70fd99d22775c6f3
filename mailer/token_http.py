"""The HTTP client for token endpoints (the generic one and msal's ``http_client``).

It trusts little: the body it reads is capped at 1 MiB, it follows no redirect, a
plain-HTTP URL goes only to a host whose every address is loopback and never through
a proxy, and every wait is bounded by the deadline. ``abort()`` (from another thread)
shuts its sockets, so a request stuck on a server that drips bytes ends at once.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from mailstage.mailer.deadline import Deadline
from mailstage.mailer.loopback import addresses_of, all_loopback, not_loopback_sentence, resolve

MAX_BODY = 1024 * 1024
CHUNK = 64 * 1024


class TokenHttpError(Exception):
    """The request could not be made or its answer was refused; a plain sentence."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.timed_out = timed_out


class HttpAnswer:
    """What msal expects of a response (``status_code``, ``text``, ``headers``)."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status_code = status
        self.headers = dict(headers)
        self.body = body

    @property
    def status(self) -> int:
        return self.status_code

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise TokenHttpError(f"The token endpoint answered HTTP {self.status_code}.")


class BoundedHttp:
    """One deadline's worth of HTTP requests. Blocking: run it in a daemon thread."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._aborted = False

    # -- msal's http_client interface ---------------------------------------------------

    def post(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> HttpAnswer:
        body = urlencode(data).encode() if isinstance(data, Mapping) else data
        if isinstance(body, str):
            body = body.encode()
        all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", _with_query(url, params), body, all_headers)

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> HttpAnswer:
        return self.request("GET", _with_query(url, params), None, dict(headers or {}))

    # -- the request ---------------------------------------------------------------------

    def request(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> HttpAnswer:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("https", "http") or not host:
            raise TokenHttpError(f"The token URL {url} is not an http(s) URL.")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = self._connect(parts.scheme, host, parts.port)
        sock = connection.sock
        assert sock is not None
        try:
            self._bound(sock)
            connection.request(method, path, body=body, headers=dict(headers))
            self._bound(sock)
            response = connection.getresponse()
            answer = HttpAnswer(response.status, dict(response.headers), self._body(response, sock))
        except TokenHttpError:
            raise
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            if self._aborted or self.deadline.expired:
                raise self._timeout() from None
            raise TokenHttpError(f"Could not reach the token endpoint: {_reason(exc)}") from None
        finally:
            connection.close()
        if 300 <= answer.status_code < 400:
            where = answer.headers.get("Location") or answer.headers.get("location") or "?"
            raise TokenHttpError(
                f"The token endpoint answered HTTP {answer.status_code} with a redirect to "
                f"{where}; mailstage follows no redirect: configure the final token URL."
            )
        return answer

    def abort(self) -> None:
        """Shut every socket now (called from another thread when the deadline passes)."""
        with self._lock:
            self._aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- helpers ---------------------------------------------------------------------------

    def _connect(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        remaining = self._remaining()
        connection: http.client.HTTPConnection
        if scheme == "http":
            port = port or 80
            connection = http.client.HTTPConnection(host, port, timeout=remaining)
            # plain text: only to loopback, decided on the addresses, and never a proxy
            connection.sock = self._loopback_socket(host, port)
        else:
            from mailstage.mailer.tls import client_context

            port = port or 443
            proxy = _https_proxy(host)
            if proxy is None:
                connection = http.client.HTTPSConnection(
                    host, port, timeout=remaining, context=client_context()
                )
            else:
                connection = http.client.HTTPSConnection(
                    proxy[0], proxy[1], timeout=remaining, context=client_context()
                )
                connection.set_tunnel(host, port)
        if connection.sock is None:
            try:
                connection.connect()
            except (OSError, http.client.HTTPException) as exc:
                if self._aborted or self.deadline.expired:
                    raise self._timeout() from None
                raise TokenHttpError(
                    f"Could not reach the token endpoint {host}: {_reason(exc)}"
                ) from None
        with self._lock:
            if connection.sock is not None:
                self._sockets.append(connection.sock)
            if self._aborted:
                connection.close()
                raise self._timeout()
        return connection

    def _loopback_socket(self, host: str, port: int) -> socket.socket:
        try:
            resolved = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise TokenHttpError(f"The token URL's host {host} does not resolve: {exc}") from None
        addresses = addresses_of(resolved)
        if not all_loopback(addresses):
            raise TokenHttpError(not_loopback_sentence(host, addresses, "the client secret"))
        last: OSError | None = None
        for family, kind, proto, sockaddr in resolved:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(self._remaining())
            try:
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                last = exc
                if self.deadline.expired:
                    raise self._timeout() from None
                continue
            return sock
        raise TokenHttpError(f"Could not reach the token endpoint {host}: {_reason(last)}")

    def _body(self, response: http.client.HTTPResponse, sock: socket.socket) -> bytes:
        declared = response.getheader("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > MAX_BODY:
            raise self._too_big()
        chunks: list[bytes] = []
        size = 0
        while True:
            self._bound(sock)
            chunk = response.read1(CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_BODY:
                raise self._too_big()
            chunks.append(chunk)

    def _bound(self, sock: socket.socket) -> None:
        """No single wait may outlast the deadline (a drip is cut by ``abort``)."""
        sock.settimeout(self._remaining())

    def _remaining(self) -> float:
        remaining = self.deadline.remaining()
        if remaining <= 0 or self._aborted:
            raise self._timeout()
        return remaining

    def _timeout(self) -> TokenHttpError:
        return TokenHttpError(
            f"The token endpoint did not answer within {self.deadline.seconds:g} s.",
            timed_out=True,
        )

    @staticmethod
    def _too_big() -> TokenHttpError:
        return TokenHttpError(
            f"The token endpoint's answer is larger than {MAX_BODY // 1024} KiB; "
            "mailstage reads no more than that."
        )


def _with_query(url: str, params: Mapping[str, str] | None) -> str:
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _https_proxy(host: str) -> tuple[str, int] | None:
    """The https proxy from the environment (https_proxy, no_proxy), if any applies."""
    proxy = urllib.request.getproxies().get("https")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or 3128


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "no address to connect to"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
