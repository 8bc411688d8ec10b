"""Run times kept in the store, so what one process learned is known to every process on it
(workers, a gateway's wait estimates, `imagine-bot generate`) and survives a restart: the
first task after a start is timed as well as the hundredth.

Each workload's latest samples (`runtimes.KEEP`) are one setting (namespace `run_times`);
an index lists the workloads. A process adds its new samples to what the store holds, then
rebuilds its fits from the result, which holds the other processes' samples too. Two
processes saving the same workload at the same moment may lose one sample of the two: a
statistic can afford that, and it spares the store a new kind of write. A store that does
not answer costs nothing but the sharing: the process keeps learning on its own.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from core.modelscope.runtimes import KEEP, RunTimes, Sample

log = logging.getLogger("imagine.runtimes")
NAMESPACE = "run_times"
INDEX = "*workloads"  # no workload is named so: theirs are "model size"
SYNC_SECONDS = 15.0


class SettingsStore(Protocol):
    """The part of the store port (core.stores.port.Store) the memory uses."""

    async def get_setting(self, namespace: str, key: str) -> dict[str, Any] | None: ...

    async def put_setting(self, namespace: str, key: str, value: dict[str, Any] | None) -> None: ...


class RunTimeMemory:
    def __init__(self, run_times: RunTimes, store: SettingsStore) -> None:
        self._run_times = run_times
        self._store = store

    async def recall(self) -> int:
        """Rebuild every workload the store knows from its samples; how many there were."""
        for workload in await self._workloads():
            self._run_times.restore(workload, await self._stored(workload))
        return len(self._run_times.workloads)

    async def save(self) -> int:
        """Add this process's new samples to the store's and rebuild those workloads from
        the sum; how many samples were saved."""
        unsaved = self._run_times.unsaved()
        if not unsaved:
            return 0
        try:
            await self._merge(unsaved)
        except BaseException:
            self._run_times.keep_unsaved(unsaved)
            raise
        return sum(len(samples) for samples in unsaved.values())

    async def _merge(self, unsaved: dict[str, list[Sample]]) -> None:
        known = await self._workloads()
        for workload, samples in unsaved.items():
            merged = sorted({*await self._stored(workload), *samples})[-KEEP:]
            rows = [[sample.at, sample.run, sample.total] for sample in merged]
            await self._store.put_setting(NAMESPACE, workload, {"samples": rows})
            self._run_times.restore(workload, merged)
        if not set(unsaved) <= set(known):
            everything = sorted({*known, *unsaved})
            await self._store.put_setting(NAMESPACE, INDEX, {"workloads": everything})

    async def sync(self) -> None:
        """Save, then take in what the other processes learned; a store error is logged
        and the samples wait for the next sync."""
        try:
            await self.save()
            await self.recall()
        except Exception:  # the store's failures vary by backend; learning goes on locally
            log.warning("run times not shared this time", exc_info=True)

    async def run(self, every: float = SYNC_SECONDS) -> None:
        """Sync every `every` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            await self.sync()

    async def _workloads(self) -> list[str]:
        index = await self._store.get_setting(NAMESPACE, INDEX) or {}
        return [str(workload) for workload in index.get("workloads", [])]

    async def _stored(self, workload: str) -> list[Sample]:
        value = await self._store.get_setting(NAMESPACE, workload) or {}
        return [Sample(*map(float, row)) for row in value.get("samples", [])]
