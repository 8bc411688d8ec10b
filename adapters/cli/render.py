"""Writes each job event as one JSON line: the terminal's "chat", readable by scripts."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from core.jobs import JobEvent

PLATFORM = "cli"


class JsonlNotifier:
    """Appends events to `path`, each line flushed to disk before `notify` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def notify(self, event: JobEvent) -> None:
        await asyncio.to_thread(self._append, _line(event))

    def _append(self, line: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(line, ensure_ascii=False) + "\n")
            file.flush()
            os.fsync(file.fileno())


def _line(event: JobEvent) -> dict[str, Any]:
    job = event.job
    line: dict[str, Any] = {
        "event": event.kind.value,
        "job_id": job.id,
        "user": job.user,
        "state": job.state.value,
        "task_id": job.task_id,
        "prompt": job.params.prompt,
        "seed": job.params.seed,
    }
    optional = {
        "position": event.position,
        "status": event.status,
        "elapsed": event.elapsed,
        "path": job.result_path,
        "error": job.error_key,
    }
    line.update({key: value for key, value in optional.items() if value is not None})
    return line
