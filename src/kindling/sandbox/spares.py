"""Spares: forks of a zygote parked in cgroups of their own, so that a new environment is born in its groups.

On cgroup v1 moving a process into a group waits for the kernel (the cgroup threadgroup lock, which needs
an RCU grace period): measured here after an idle spell of 0.3 s, 7 to 19 ms, most of a cold start. A child
forked inside a group its parent already occupies moves nowhere. So each zygote keeps a few spares, forks
that joined a fresh set of groups in the background and wait to fork one environment each
(``forkserver.park``). Taking one renames its groups after the environment and sets the environment's
limits, which moves no process; a refill parks the next. Without a spare (a burst), the environment's
first process joins its groups itself, as before.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass

from .cgroups import CgroupTree, EnvironmentCgroup
from .contract import SpawnError
from .zygote import Zygote

log = logging.getLogger("kindling.sandbox")
SPARES_PER_ZYGOTE = 2
PARKED_MEMORY_MB = 128  # the groups' limits until an environment takes them


@dataclass
class Spare:
    id: str
    group: EnvironmentCgroup
    zygote_pid: int | None  # a restarted zygote's spares died with the old one


class Spares:
    def __init__(self, tree: CgroupTree) -> None:
        self._tree = tree
        self._ready: dict[Zygote, list[Spare]] = {}
        self._filling: dict[Zygote, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)

    def take(self, zygote: Zygote, env_id: str, memory_mb: int) -> Spare | None:
        """A live spare of ``zygote`` with its groups made ``env_id``'s, or None; a refill starts either way."""
        ready = self._ready.get(zygote, [])
        spare = None
        while ready and spare is None:
            candidate = ready.pop()
            if candidate.zygote_pid == zygote.pid:
                spare = candidate
            else:
                self._discard(candidate)
        self.refill(zygote)
        if spare is None:
            return None
        try:
            spare.group.rename(env_id)
            spare.group.resize(memory_mb)
        except OSError as error:  # the environment's own groups then, made the usual way
            log.warning("could not hand spare %s to %s: %s", spare.id, env_id, error)
            self._discard(spare)
            return None
        return spare

    def ready(self) -> int:
        """Spares parked and waiting, every zygote's (for the Prometheus view)."""
        return sum(len(spares) for spares in self._ready.values())

    def refill(self, zygote: Zygote) -> None:
        """Park spares in the background until ``zygote`` has its share."""
        missing = SPARES_PER_ZYGOTE - len(self._ready.get(zygote, [])) - self._filling.get(zygote, 0)
        for _ in range(missing):
            self._filling[zygote] = self._filling.get(zygote, 0) + 1
            task = asyncio.get_running_loop().create_task(self._park(zygote))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _park(self, zygote: Zygote) -> None:
        spare_id = f"spare-{next(self._ids)}"
        spare = Spare(spare_id, self._tree.create(spare_id, PARKED_MEMORY_MB), None)
        try:
            await zygote.park(spare.id, spare.group.procs_files)
            spare.zygote_pid = zygote.pid
        except (SpawnError, OSError) as error:
            log.info("could not park a spare: %s", error)
            self._discard(spare)
            return
        finally:
            self._filling[zygote] -= 1
        self._ready.setdefault(zygote, []).append(spare)

    def lost(self, zygote: Zygote, spare_id: str) -> None:
        """A parked spare ended (killed, or its zygote went): drop it."""
        ready = self._ready.get(zygote, [])
        for spare in [s for s in ready if s.id == spare_id]:
            ready.remove(spare)
            self._discard(spare)

    @staticmethod
    def _discard(spare: Spare) -> None:
        spare.group.kill_all()
        spare.group.remove()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ready in self._ready.values():
            for spare in ready:
                self._discard(spare)
        self._ready.clear()
