"""Environment variables encrypted at rest: AES-256-GCM (``cryptography``) under a master key kept outside the
database — ``KINDLING_MASTER_KEY`` (base64 of 32 bytes) in the server's environment, else ``<data-dir>/master.key``
(made on first start, mode 0600). Each sealed value is bound to its function and version (the associated data),
so a ciphertext copied onto another row does not open.
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

    def seal(self, values: dict[str, str], bound_to: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, json.dumps(values).encode(), bound_to.encode())
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str | dict[str, str], bound_to: str) -> dict[str, str]:
        """The variables of a row; a row written before encryption (a plain dict) is read as it is."""
        if isinstance(stored, dict):
            return stored
        raw = base64.b64decode(stored.removeprefix(_PREFIX))
        try:
            return json.loads(self._aead.decrypt(raw[:12], raw[12:], bound_to.encode()))
        except InvalidTag:
            raise ValueError(f"the environment of {bound_to} does not open with this master key") from None
