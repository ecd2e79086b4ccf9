"""Long engine runs in whole chunks, so that people's writes never wait long behind them.

A chunked entry point (`sweep_idle_opportunities`, `warn_in_chunks`, `dispatch_in_chunks`)
is a generator. It writes one chunk - its opportunities' state, their flow events, their
notices - and yields; the caller (the job) commits there and lets it go on. The entry point
itself never commits, so it composes like every other core service: drained without
commits (`drain`), the whole run is one transaction again.

Each chunk takes the opportunity write lock anew (`hold_opportunity_writes`), so between
two chunks every writer that waited gets its turn. How much one chunk takes is sized by
time (`ChunkSpan`): a chunk aims at `TARGET_SECONDS`, whatever the database and the machine.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TypeVar

T = TypeVar("T")
Y = TypeVar("Y")

# What one chunk aims to take. The goal is that no writer waits more than 1 s; a chunk may
# take more than its aim when its rows are denser than the last one's (or the machine is
# busier), and a SQLite writer polls for the lock every 100 ms at worst.
TARGET_SECONDS = 0.2
# How much one chunk may grow over the last: a sparse stretch of ids must not make the next
# chunk, over a dense stretch, many times too long.
GROWTH = 1.5


class ChunkSpan:
    """The size of the next chunk (opportunity ids or owners), grown or shrunk so that a
    chunk takes about `TARGET_SECONDS`."""

    def __init__(self, first: int, smallest: int, largest: int) -> None:
        self.size = first
        self.smallest = min(smallest, first)
        self.largest = largest
        self._started = 0.0

    def start(self) -> None:
        """Mark the start of a chunk."""
        self._started = time.perf_counter()

    def done(self) -> None:
        """The chunk is written: size the next one from how long this one took (growing by
        at most GROWTH)."""
        took = max(time.perf_counter() - self._started, 1e-3)
        scaled = int(self.size * min(GROWTH, TARGET_SECONDS / took))
        self.size = max(self.smallest, min(self.largest, scaled))


def drain(chunks: Generator[Y, None, T]) -> T:
    """Run a chunked entry point to its end in the caller's one transaction; its result."""
    while True:
        try:
            next(chunks)
        except StopIteration as stop:
            return stop.value
