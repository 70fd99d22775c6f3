"""The TLS client context: verification always on, system store plus extra trust."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

_contexts: dict[tuple[object, ...], ssl.SSLContext] = {}


def _file_key(path: str | None) -> tuple[str, float] | None:
    if not path:
        return None
    try:
        return path, os.stat(path).st_mtime
    except OSError:
        return path, -1.0


def client_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A verifying context trusting the system store, SSL_CERT_FILE and ``ca_file``.

    Built contexts are reused (loading the system store costs milliseconds) until
    one of the files it was built from changes.
    """
    env_file = os.environ.get("SSL_CERT_FILE") or None
    key = (_file_key(ca_file), _file_key(env_file))
    context = _contexts.get(key)
    if context is None:
        context = _build(ca_file, env_file)
        _contexts[key] = context
    return context


def _build(ca_file: str | None, env_file: str | None) -> ssl.SSLContext:
    # create_default_context honours SSL_CERT_FILE in place of the system bundle;
    # load the system bundle as well so SSL_CERT_FILE adds trust rather than replacing it.
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if env_file:
        system_bundle = ssl.get_default_verify_paths().openssl_cafile
        if system_bundle and Path(system_bundle).is_file():
            context.load_verify_locations(cafile=system_bundle)
    if ca_file:
        path = Path(ca_file).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"The CA file {path} does not exist.")
        try:
            context.load_verify_locations(cafile=str(path))
        except ssl.SSLError:
            raise ValueError(f"The CA file {path} holds no PEM certificate.") from None
    return context


def is_certificate_error(exc: BaseException | None) -> bool:
    """True when the failure (or what caused it) is a certificate check that failed."""
    while exc is not None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return True
        if isinstance(exc, ssl.SSLError) and "CERTIFICATE" in str(exc).upper():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def describe_tls(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str:
    if ssl_object is None:
        return ""
    cipher = ssl_object.cipher()
    name = cipher[0] if cipher else ""
    return f"{ssl_object.version() or 'TLS'} {name}".strip()
