"""A snapshot of the emulated services' state: moto's backends, pickled, with S3 objects' bodies as files.

moto keeps everything in plain objects, which pickle but for a few members: thread locks and conditions
(made anew), a default dict whose factory is a lambda (SSM), KMS's private keys (kept as PKCS#8 DER), and
S3 object bodies, which would be read into memory: each is copied to a file of the snapshot instead,
chunk by chunk, and copied back into a spooled buffer on load.
"""

from __future__ import annotations

import io
import itertools
import os
import pickle
import tempfile
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from moto.s3.models import FakeKey, get_s3_default_key_buffer_size

from .moto_patches import COPY_CHUNK

STATE = "state.pickle"
BODIES = "bodies"
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_CONDITION = threading.Condition


def _lock() -> Any:
    return threading.RLock()


def _condition() -> threading.Condition:
    return threading.Condition()


def _nested() -> defaultdict:
    return defaultdict(dict)


def _defaultdict(cls: type, factory: Any) -> defaultdict:
    """A default dict, or a subclass whose ``__init__`` wants more than a factory (SSM's ParameterDict);
    its attributes and items are set by pickle afterwards."""
    restored: defaultdict[Any, Any] = defaultdict.__new__(cls)
    defaultdict.__init__(restored, factory)
    return restored


def _private_key(der: bytes) -> Any:
    return serialization.load_der_private_key(der, password=None)


_loading: list[Path] = []  # the snapshot being loaded, for its bodies' files


def _fake_key(state: dict, body: str) -> FakeKey:
    key = FakeKey.__new__(FakeKey)
    key.__dict__.update(state)
    key.lock = threading.Lock()
    size = key._max_buffer_size or get_s3_default_key_buffer_size()
    key._value_buffer = tempfile.SpooledTemporaryFile(size)  # noqa: SIM115 - the key owns it
    with open(_loading[-1] / BODIES / body, "rb") as source:
        while chunk := source.read(COPY_CHUNK):
            key._value_buffer.write(chunk)
    return key


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BufferedWriter, bodies: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.bodies = bodies
        self.count = itertools.count()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES):
            return _lock, ()
        if isinstance(obj, _CONDITION):
            return _condition, ()
        if isinstance(obj, defaultdict):
            factory = obj.default_factory
            if getattr(factory, "__name__", "") == "<lambda>":  # SSM's defaultdict(lambda: defaultdict(dict))
                factory = _nested
            return _defaultdict, (type(obj), factory), getattr(obj, "__dict__", None) or None, None, iter(obj.items())
        if hasattr(obj, "private_bytes") and type(obj).__module__.startswith("cryptography"):
            der = obj.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return _private_key, (der,)
        if isinstance(obj, FakeKey):
            return self._fake_key(obj)
        return NotImplemented

    def _fake_key(self, key: FakeKey) -> Any:
        name = str(next(self.count))
        with key.lock, open(self.bodies / name, "wb") as target:
            if not key.disposed:
                key._value_buffer.seek(0)
                while chunk := key._value_buffer.read(COPY_CHUNK):
                    target.write(chunk)
            target.flush()
            os.fsync(target.fileno())
        state = {k: v for k, v in key.__dict__.items() if k not in ("_value_buffer", "lock")}
        return _fake_key, (state, name)


def save(directory: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (service -> account -> region -> backend) into ``directory``, fsynced."""
    bodies = directory / BODIES
    bodies.mkdir(parents=True)
    with open(directory / STATE, "wb") as file:
        _Pickler(file, bodies).dump(state)
        file.flush()
        os.fsync(file.fileno())


def load(directory: Path) -> dict[str, Any]:
    _loading.append(directory)
    try:
        with open(directory / STATE, "rb") as file:
            return pickle.load(file)
    finally:
        _loading.pop()
