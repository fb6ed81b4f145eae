"""Environment variables encrypted at rest: AES-256-GCM (``cryptography``) under a master key kept outside the
database — ``KINDLING_MASTER_KEY`` (base64 of 32 bytes) in the server's environment, else ``<data-dir>/master.key``
(made on first start, mode 0600). Each sealed value is bound to its function and version (the associated data),
so a ciphertext copied onto another row does not open.

A function with ``KMSKeyArn`` is sealed as an envelope instead: its variables under a data key that KMS made
with that key (``GenerateDataKey``), stored with the data key as KMS wrapped it and a copy sealed under the
master key (bound to the key's ARN), so the server starts without asking KMS; whether the key may still be used
is asked of KMS when an environment is made (``functions/keys.py``).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEY_ENV = "KINDLING_MASTER_KEY"
_PREFIX = "aesgcm:"
_ENVELOPE = "kms:"


def master_key(data_dir: Path, environ: dict[str, str] | None = None) -> bytes:
    environ = dict(os.environ) if environ is None else environ
    if environ.get(MASTER_KEY_ENV):
        key = base64.b64decode(environ[MASTER_KEY_ENV])
        if len(key) != 32:
            raise SystemExit(f"{MASTER_KEY_ENV} must be the base64 of 32 bytes")
        return key
    path = data_dir / "master.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(AESGCM.generate_key(bit_length=256))
    return path.read_bytes()


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._data_keys: dict[str, tuple[bytes, bytes]] = {}  # KMS key ARN: (data key, as KMS wrapped it)

    def remember(self, key_arn: str, data_key: bytes, wrapped: bytes) -> None:
        """The data key KMS made with ``key_arn``: the variables of every function using that key seal under it."""
        self._data_keys[key_arn] = (data_key, wrapped)

    def knows(self, key_arn: str) -> bool:
        return key_arn in self._data_keys

    def seal(self, values: dict[str, str], bound_to: str, key_arn: str = "") -> str:
        if not key_arn or key_arn not in self._data_keys:
            return _PREFIX + _encrypt(self._aead, json.dumps(values).encode(), bound_to)
        data_key, wrapped = self._data_keys[key_arn]
        envelope = {
            "key": key_arn,
            "wrapped": base64.b64encode(wrapped).decode(),
            "data_key": _encrypt(self._aead, data_key, key_arn),
            "values": _encrypt(AESGCM(data_key), json.dumps(values).encode(), bound_to),
        }
        return _ENVELOPE + base64.b64encode(json.dumps(envelope).encode()).decode()

    def open(self, stored: str | dict[str, str], bound_to: str) -> dict[str, str]:
        """The variables of a row; a row written before encryption (a plain dict) is read as it is."""
        if isinstance(stored, dict):
            return stored
        try:
            if not stored.startswith(_ENVELOPE):
                return json.loads(_decrypt(self._aead, stored.removeprefix(_PREFIX), bound_to))
            envelope = json.loads(base64.b64decode(stored.removeprefix(_ENVELOPE)))
            data_key = _decrypt(self._aead, envelope["data_key"], envelope["key"])
            self.remember(envelope["key"], data_key, base64.b64decode(envelope["wrapped"]))
            return json.loads(_decrypt(AESGCM(data_key), envelope["values"], bound_to))
        except InvalidTag:
            raise ValueError(f"the environment of {bound_to} does not open with this master key") from None


def _encrypt(aead: AESGCM, data: bytes, bound_to: str) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + aead.encrypt(nonce, data, bound_to.encode())).decode()


def _decrypt(aead: AESGCM, sealed: str, bound_to: str) -> bytes:
    raw = base64.b64decode(sealed)
    return aead.decrypt(raw[:12], raw[12:], bound_to.encode())
