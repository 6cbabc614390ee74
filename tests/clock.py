"""A clock the test drives: the service and the dispatcher read it instead of the wall clock."""

from __future__ import annotations


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
