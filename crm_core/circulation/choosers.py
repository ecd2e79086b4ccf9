"""How a dispatch rule picks the next rep: round-robin, weighted and least-loaded.

Each chooser holds the rule's reps and reads the run's shared `room` (how many more each rep
may receive); picking a rep spends one unit of it. Reps are plain ids and the work is pure
Python over integers, so a run of 100,000 opportunities costs milliseconds here."""

from __future__ import annotations

import heapq
from collections.abc import Collection


class RoundRobin:
    """Reps in id order, continuing after the rep who got the last one (the rule's stored
    position), so equal reps never differ by more than one across any number of runs."""

    def __init__(self, reps: list[int], room: dict[int, int], last_rep_id: int) -> None:
        self.room = room
        self.live = sorted(r for r in reps if room.get(r, 0) > 0)
        self.next = next((i for i, r in enumerate(self.live) if r > last_rep_id), 0)
        self.last_rep_id = last_rep_id

    def pick(self, excluded: Collection[int] = ()) -> int | None:
        live = self.live
        for step in range(len(live)):
            i = (self.next + step) % len(live)
            rep = live[i]
            if rep in excluded:
                continue
            self.room[rep] -= 1
            self.last_rep_id = rep
            if self.room[rep] <= 0:
                del live[i]
                self.next = i if i < len(live) else 0
            else:
                self.next = (i + 1) % len(live)
            return rep
        return None


class Weighted:
    """The rep furthest below their share: smallest (given so far + 1) / weight. `given`
    is the rule's stored tally, so shares hold across runs."""

    def __init__(
        self, reps: list[int], room: dict[int, int], weights: dict[int, int], given: dict[int, int]
    ) -> None:
        self.room = room
        self.weights = weights
        self.given = given
        self.heap = [self._entry(r) for r in reps if room.get(r, 0) > 0 and weights.get(r, 0) > 0]
        heapq.heapify(self.heap)

    def _entry(self, rep: int) -> tuple[float, int]:
        return ((self.given.get(rep, 0) + 1) / self.weights[rep], rep)

    def pick(self, excluded: Collection[int] = ()) -> int | None:
        skipped = []
        chosen = None
        while self.heap:
            _, rep = heapq.heappop(self.heap)
            if self.room.get(rep, 0) <= 0:
                continue  # filled by another rule in this run
            if rep in excluded:
                skipped.append(rep)
                continue
            chosen = rep
            break
        for rep in skipped:
            heapq.heappush(self.heap, self._entry(rep))
        if chosen is None:
            return None
        self.room[chosen] -= 1
        self.given[chosen] = self.given.get(chosen, 0) + 1
        if self.room[chosen] > 0:
            heapq.heappush(self.heap, self._entry(chosen))
        return chosen


class LeastLoaded:
    """The rep holding the fewest open opportunities, counting what this run gave."""

    def __init__(self, reps: list[int], room: dict[int, int], holding: dict[int, int]) -> None:
        self.room = room
        self.holding = holding
        self.heap = [(holding.get(r, 0), r) for r in reps if room.get(r, 0) > 0]
        heapq.heapify(self.heap)

    def pick(self, excluded: Collection[int] = ()) -> int | None:
        skipped = []
        chosen = None
        while self.heap:
            load, rep = heapq.heappop(self.heap)
            if self.room.get(rep, 0) <= 0:
                continue
            if load != self.holding.get(rep, 0):
                heapq.heappush(self.heap, (self.holding.get(rep, 0), rep))  # stale entry
                continue
            if rep in excluded:
                skipped.append((load, rep))
                continue
            chosen = rep
            break
        for entry in skipped:
            heapq.heappush(self.heap, entry)
        if chosen is None:
            return None
        self.room[chosen] -= 1
        self.holding[chosen] = self.holding.get(chosen, 0) + 1
        if self.room[chosen] > 0:
            heapq.heappush(self.heap, (self.holding[chosen], chosen))
        return chosen


class Preferring:
    """Reps with the preferred skill first; the others only when none of them can take it."""

    def __init__(self, first, then, last_rep_id: int = 0) -> None:
        self.first = first
        self.then = then
        self.last_rep_id = last_rep_id

    def pick(self, excluded: Collection[int] = ()) -> int | None:
        rep = self.first.pick(excluded)
        if rep is None:
            rep = self.then.pick(excluded)
        if rep is not None:
            self.last_rep_id = rep
        return rep
