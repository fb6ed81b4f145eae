"""Which zygote a Python function's environments fork from: the one that preloaded the AWS SDK, or the plain one.

Preloading boto3 and its common service models makes ``import boto3`` and a client free at init, but it
makes the zygote ~60 MB bigger, and a fork copies the page tables of all of it while an environment copies
every page of it that it writes: about 6 ms more on every cold start, used or not. So each Python runtime
has two zygotes. A function whose code or layers mention ``boto3`` or ``botocore`` in a ``.py`` file, and
bundle no copy of their own (that one is imported instead, as on Lambda), forks from the SDK's; any other
from the plain one, on whose ``sys.path`` the SDK still is. A wrong guess costs time, never correctness.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from .registry import PYTHON_SDK, Runtime

PRELOAD_ENV = "KINDLING_PRELOAD_SDK"  # set to "1" for the SDK's zygote (read by runtimes/python/bootstrap.py)
MARKERS = (b"boto3", b"botocore")
PACKAGES = ("boto3", "botocore")  # bundling one of these is bundling the SDK (aws_sdk.SDK_PACKAGES)
SCAN_LIMIT = 32 << 20  # bytes of source read at most; a larger tree gets the SDK's zygote


def has_python_sdk(runtime: Runtime) -> bool:
    """The runtime is a Python that provides the AWS SDK (and so has a zygote that preloaded it)."""
    return bool(runtime.runtime_dir) and runtime.runtime_dir == str(PYTHON_SDK)


def uses_python_sdk(runtime: Runtime, code_dir: Path, opt_dir: Path | None) -> bool:
    """Whether an environment of this function should fork from the zygote that preloaded the SDK."""
    return has_python_sdk(runtime) and _imports_sdk(code_dir, opt_dir, runtime.version)


@functools.lru_cache(maxsize=4096)  # code and layer trees are immutable: their paths name their content
def _imports_sdk(code_dir: Path, opt_dir: Path | None, version: str) -> bool:
    roots = [code_dir]
    if opt_dir is not None:
        roots += [opt_dir / "python", opt_dir / "python" / "lib" / f"python{version}" / "site-packages"]
    if any((root / name).is_dir() for root in roots for name in PACKAGES):
        return False
    budget = SCAN_LIMIT
    for top in [code_dir] if opt_dir is None else [code_dir, opt_dir]:
        for folder, _, files in os.walk(top):
            for name in files:
                if not name.endswith(".py"):
                    continue
                try:
                    data = (Path(folder) / name).read_bytes()
                except OSError:
                    continue
                budget -= len(data)
                if budget < 0 or any(marker in data for marker in MARKERS):
                    return True
    return False
