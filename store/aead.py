"""AES-GCM for the store and its key wraps, imported the light way.

`from cryptography.hazmat.primitives.ciphers.aead import AESGCM` costs about twice what
the Rust bindings alone cost (~13 ms against ~6 ms of CPU in a fresh process here; in
`python -X importtime` on a quiet machine ~24 ms against ~7 ms): it imports
cryptography.utils, typing, warnings and the whole ciphers package (modes, algorithms,
the decrepit ones) to re-export a class that lives in the bindings, and the class there
is the same object (cryptography 50.0.2, as pinned). A cryptography without that module
or name falls back to the public import; tests/test_store_aead.py checks that the class
used is the public one, so an upgrade that moves it is noticed rather than silently
slow or wrong.

A wrong key or a changed byte raises cryptography.exceptions.InvalidTag, a module that
imports typing: ``decrypt_or_none`` names it only once a decryption has failed.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs ~2 ms on a one-shot command
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
else:
    try:
        from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

        AESGCM = _rust_openssl.aead.AESGCM
    except (ImportError, AttributeError):  # pragma: no cover - another cryptography
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["AESGCM", "decrypt_or_none"]

Data = bytes | memoryview


def decrypt_or_none(key: bytes, nonce: bytes, data: Data, aad: Data) -> bytes | None:
    """The plaintext, or None when the tag does not verify (a wrong key, a changed byte)
    or the key, nonce or data have a size AES-GCM refuses."""
    try:
        return AESGCM(key).decrypt(nonce, data, aad)
    except ValueError:
        return None
    except Exception as exc:
        from cryptography.exceptions import InvalidTag

        if isinstance(exc, InvalidTag):
            return None
        raise
