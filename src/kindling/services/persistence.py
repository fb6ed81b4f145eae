"""Where the services' state lives on disk: a snapshot and the journal of what ran since, by generation.

``CURRENT`` names the generation in force; generation N is ``snapshot-N/`` (absent for the first) plus
``journal-N.log`` and the large bodies it names in ``bodies-N/``. Compacting writes snapshot N+1 in full,
fsyncs it, then switches ``CURRENT`` with an atomic rename and only then removes generation N: a crash at
any point leaves one complete generation to start from.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from .journal import Journal, Record, fsync_dir

log = logging.getLogger("kindling.services")


class Persistence:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        self.incoming = root / "incoming"  # request bodies being received: never part of any state
        shutil.rmtree(self.incoming, ignore_errors=True)
        self.incoming.mkdir()
        current = root / "CURRENT"
        self.generation = int(current.read_text()) if current.exists() else 0
        self._remove_other_generations()
        self.journal = Journal(self._journal_path(self.generation), self._bodies(self.generation))

    def _snapshot(self, generation: int) -> Path:
        return self.root / f"snapshot-{generation}"

    def _journal_path(self, generation: int) -> Path:
        return self.root / f"journal-{generation}.log"

    def _bodies(self, generation: int) -> Path:
        return self.root / f"bodies-{generation}"

    def _remove_other_generations(self) -> None:
        keep = {p.name for p in (self._snapshot(self.generation), self._journal_path(self.generation))}
        keep |= {self._bodies(self.generation).name, "CURRENT", "incoming"}
        for path in self.root.iterdir():
            if path.name not in keep:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()

    def load(self) -> tuple[dict[str, Any] | None, list[Record]]:
        """The snapshot in force (None for none) and the journal's records to run on top of it."""
        from . import snapshot  # moto is imported only once the services are used

        directory = self._snapshot(self.generation)
        state = snapshot.load(directory) if directory.exists() else None
        return state, list(self.journal.records())

    def compact(self, state: dict[str, Any]) -> None:
        """Make ``state`` the new snapshot and start an empty journal."""
        from . import snapshot

        new = self.generation + 1
        target = self._snapshot(new)
        shutil.rmtree(target, ignore_errors=True)
        snapshot.save(target, state)
        fsync_dir(target)
        pointer = self.root / "CURRENT.tmp"
        with open(pointer, "w") as file:
            file.write(str(new))
            file.flush()
            os.fsync(file.fileno())
        os.replace(pointer, self.root / "CURRENT")
        fsync_dir(self.root)
        self.journal.close()
        self.generation = new
        self._remove_other_generations()
        self.journal = Journal(self._journal_path(new), self._bodies(new))
        log.info("services state compacted into snapshot %d", new)

    def close(self) -> None:
        self.journal.close()
