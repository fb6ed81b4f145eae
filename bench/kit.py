"""Access to the peers kit (../shared/peers): its installer and its benchmark client.

The kit is called, never copied, so that Kindling and the peers are always measured by the very same client
code, and fixes to the kit reach this harness without a change here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

PEERS = ("floor", "rie", "serverless-offline")
Progress = Callable[[str], None]


def kit_dir() -> Path:
    """The kit folder: $KINDLING_PEERS_KIT, else shared/peers beside the project checkout."""
    override = os.environ.get("KINDLING_PEERS_KIT")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "peers"


def load(path: Path) -> ModuleType:
    """Imports the kit's bench_invoke.py for its helpers (process-tree stop, free port, percentile, ...)."""
    spec = importlib.util.spec_from_file_location("bench_invoke", path / "bench_invoke.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path / 'bench_invoke.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stop(kit: ModuleType, proc: subprocess.Popen, grace: float = 15.0) -> None:
    """Stops a process started in its own session, and what it started, unless it has already exited
    (a reaped pid may belong to someone else by now)."""
    if proc.poll() is None:
        kit.stop_process_tree(proc, grace)


def install(kit: ModuleType, path: Path, progress: Progress) -> dict[str, str]:
    """Runs install.sh and returns {peer: reason} for the peers it could not install."""
    proc = subprocess.Popen(
        ["bash", str(path / "install.sh")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    reasons: dict[str, str] = {}
    installed: set[str] = set()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            progress(f"install: {line}")
            word, _, rest = line.partition(" ")
            if word == "OK":
                installed.add(rest.split(" ", 1)[0])
            elif word == "SKIP":
                name, _, reason = rest.partition(": ")
                reasons[name] = reason
        proc.wait()
    finally:
        stop(kit, proc)
    for name in PEERS:
        if name not in installed:
            reasons.setdefault(name, f"install.sh did not install it (exit status {proc.returncode})")
    return {name: reason for name, reason in reasons.items() if name in PEERS}


def compare(
    kit: ModuleType,
    path: Path,
    peers: list[str],
    target: tuple[str, str, str] | None,
    out: Path,
    options: list[str],
) -> tuple[dict | None, str | None]:
    """Runs bench_invoke.py on the peers and the target; returns (its JSON, None) or (None, why not).

    It runs in its own session so that Ctrl-C reaches only this harness, which then sends it one SIGTERM:
    a second signal in the middle of its clean-up could leave a peer running.
    """
    argv = [sys.executable, str(path / "bench_invoke.py"), "--out", str(out), *options]
    if peers:
        argv += ["--compare", ",".join(peers)]
    if target:
        argv += ["--target", *target]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait()
    finally:
        stop(kit, proc, grace=60.0)
    try:
        return json.loads(out.read_text()), None
    except (OSError, ValueError) as exc:
        return None, f"not measured: bench_invoke.py exited ({proc.returncode}) with no result ({exc})"
