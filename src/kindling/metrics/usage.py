"""What environments use here, sampled each interval: CPU-seconds and memory GB-seconds from their cgroups,
and the GB-seconds of provisioned concurrency held, written to the hour they fall in (``metric_usage``).

The composition root supplies the readings (``read_environments``: env id -> (CPU-seconds so far, memory
bytes now); ``read_provisioned``: (function, version, memory MB, environments)); the recorder knows which
function and version each environment belongs to, since the invoker names them as it creates them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..store.metrics import MetricStore

log = logging.getLogger("kindling.metrics")
Readings = Callable[[], dict[str, tuple[float, int]]]
STARTING_S = 60.0  # an environment this new may have no cgroup yet
Provisioned = Callable[[], list[tuple[str, str, int, int]]]


class UsageSampler:
    def __init__(self, store: MetricStore) -> None:
        self.store = store
        self.read_environments: Readings = dict
        self.read_provisioned: Provisioned = list
        self._cpu: dict[str, float] = {}  # env id -> CPU-seconds at the last sample
        self._last = time.time()

    def sample(
        self, owners: dict[str, tuple[str, str, float]], provisioned: list[tuple[str, str, int, int]]
    ) -> set[str]:
        """One sample (in a worker thread: it reads files). ``owners``: env id -> (function, version, created);
        returns the environments that are gone (no cgroup, and not new), which the caller forgets."""
        now = time.time()
        elapsed, self._last = now - self._last, now
        hour = int(now) // 3600 * 3600
        totals: dict[tuple[str, str, str], float] = {}
        readings = self.read_environments()
        for env_id, (cpu_s, memory_bytes) in readings.items():
            if env_id not in owners:
                continue
            owner = owners[env_id][:2]
            cpu_delta = cpu_s - self._cpu.get(env_id, 0.0)
            self._cpu[env_id] = cpu_s
            for column, amount in (("cpu_s", cpu_delta), ("memory_gb_s", memory_bytes / 2**30 * elapsed)):
                key = (*owner, column)
                totals[key] = totals.get(key, 0.0) + max(0.0, amount)
        for gone in set(self._cpu) - set(readings):
            del self._cpu[gone]
        for function, version, memory_mb, count in provisioned:
            key = (function, version, "provisioned_gb_s")
            totals[key] = totals.get(key, 0.0) + count * memory_mb / 1024 * elapsed
        for (function, version, column), amount in totals.items():
            if amount > 0:
                self.store.add_resources(hour, function, version, column, amount)
        settled = time.monotonic() - STARTING_S
        return {env_id for env_id, (_, _, created) in owners.items() if env_id not in readings and created < settled}
