"""store/aead.py takes AESGCM from cryptography's Rust bindings (~7 ms of CPU less of
every one-shot command than the public import): it must be the public class itself, so that
a cryptography upgrade that moves or changes it fails here, not in a store."""

from __future__ import annotations

import os
import subprocess
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import aead as public

from mailstage.store import aead


def test_the_class_is_the_public_one():
    assert aead.AESGCM is public.AESGCM


def test_the_light_import_is_the_one_taken():
    code = (
        "import sys; from mailstage.store import aead; "
        "print(aead.AESGCM.__module__, 'cryptography.hazmat.primitives' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    module, public_imported = result.stdout.split()
    assert module.startswith("cryptography.hazmat.bindings._rust")
    assert public_imported == "False"


def test_decrypt_or_none_opens_what_the_public_class_sealed_and_nothing_else():
    key, nonce = public.AESGCM.generate_key(bit_length=256), os.urandom(12)
    sealed = public.AESGCM(key).encrypt(nonce, b"payload", b"aad")
    assert aead.decrypt_or_none(key, nonce, sealed, b"aad") == b"payload"
    assert aead.decrypt_or_none(key, nonce, memoryview(sealed), memoryview(b"aad")) == b"payload"
    assert aead.decrypt_or_none(key, nonce, sealed, b"other aad") is None
    assert aead.decrypt_or_none(os.urandom(32), nonce, sealed, b"aad") is None
    assert aead.decrypt_or_none(key, nonce, sealed[:-1] + b"x", b"aad") is None
    assert aead.decrypt_or_none(key[:7], nonce, sealed, b"aad") is None  # no AES key size
    assert aead.decrypt_or_none(key, nonce, b"", b"aad") is None  # shorter than a tag
    try:
        public.AESGCM(os.urandom(32)).decrypt(nonce, sealed, b"aad")
    except InvalidTag:
        pass  # the exception decrypt_or_none turns into None
    else:
        raise AssertionError("a wrong key opened the data")
