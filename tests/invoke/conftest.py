"""Fixtures of the invoker's in-process tests (``fake_world.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_world import World


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)
