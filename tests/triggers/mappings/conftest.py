"""Each module here shares one ``moto_server`` and one Kindling server pointed at it with ``--service-endpoint``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from esm_support import Moto, service_flags

from support import Server


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    instance = Moto(tmp_path_factory.mktemp("moto") / "moto.log")
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def esm_server(tmp_path_factory: pytest.TempPathFactory, moto: Moto) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("kindling") / "data", "--keep-alive", "60", *service_flags(moto))
    yield instance.start()
    instance.stop()


@pytest.fixture(scope="module")
def lam(esm_server: Server):  # type: ignore[no-untyped-def]
    return esm_server.client()


@pytest.fixture(scope="module")
def sqs(moto: Moto):  # type: ignore[no-untyped-def]
    return moto.client("sqs")
