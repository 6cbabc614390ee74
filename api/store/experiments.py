"""The running A/B experiment of routing policies, stored as one JSON string (at most one at a time)."""

from __future__ import annotations

import orjson

from api.store.queue import LiveQueue
from dispatcher.abtest import Experiment
from dispatcher.errors import Conflict, NotFound


class ExperimentStore:
    """Start, read and end the one running experiment; ``SET NX`` makes a second start a Conflict."""

    def __init__(self, queue: LiveQueue) -> None:
        self.redis = queue.redis
        self.key = queue.keys.abtest

    async def start(self, experiment: Experiment) -> None:
        if not await self.redis.set(self.key, orjson.dumps(experiment.to_dict()).decode(), nx=True):
            running = await self.active()
            name = running.name if running is not None else "?"
            raise Conflict(f"experiment {name!r} is running; end it (DELETE /v1/abtest) first", field="name")

    async def active(self) -> Experiment | None:
        raw = await self.redis.get(self.key)
        return None if raw is None else Experiment.from_dict(orjson.loads(raw))

    async def end(self) -> Experiment:
        running = await self.active()
        if running is None or not await self.redis.delete(self.key):
            raise NotFound("no experiment is running", field="abtest")
        return running
