"""Whether an image's entrypoint can be exec'ed, checked from the host before the sandbox tries: a missing or
non-executable one is Lambda's ``Runtime.InvalidEntrypoint``, with the message Lambda gives. The image's links
are resolved by hand, inside its root, never followed on the host."""

from __future__ import annotations

import os
import stat
from pathlib import Path

_MAX_LINKS = 40


def _resolve(root: Path, path: str) -> Path | None:
    """``path`` as the sandbox would see it, mapped under ``root``; None when it leads nowhere."""
    pending = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        here = root.joinpath(*resolved, part)
        try:
            info = os.lstat(here)
        except OSError:
            return None
        if stat.S_ISLNK(info.st_mode):
            links += 1
            if links > _MAX_LINKS:
                return None
            target = os.readlink(here)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def entrypoint_error(root: Path, program: str, search_path: str) -> str | None:
    """Lambda's message when ``program`` (absolute, or found on ``search_path``) cannot be exec'ed."""
    candidates = [program] if "/" in program else [f"{d}/{program}" for d in search_path.split(":") if d]
    for candidate in candidates:
        found = _resolve(root, candidate)
        if found is None or not found.is_file():
            continue
        if os.stat(found).st_mode & stat.S_IXOTH:
            return None
        return f"fork/exec {candidate}: permission denied"
    if "/" not in program:
        return f'exec: "{program}": executable file not found in $PATH'
    return f"fork/exec {program}: no such file or directory"
