"""Dispatch on arrival, coalesced: each request hands its new opportunities over right after
its intake commits; one thread at a time dispatches everything handed over so far in one
transaction (`dispatch_arrivals`), and loops while more arrived meanwhile. Alone, a lead is
dispatched at once; under load, one run takes the arrivals of many requests, so the
dispatch costs one planning per round instead of one per request. Nothing is kept that
another process needs: what a failed run leaves waiting, the worker's periodic dispatch
takes."""

from __future__ import annotations

import logging
import threading

from sqlmodel import Session

from crm_core.circulation.dispatch import dispatch_arrivals
from crm_core.platform.actor import Actor

log = logging.getLogger("crm_api")


class Arrivals:
    """The opportunities waiting for this process's next dispatch round."""

    def __init__(self, state) -> None:
        self._state = state  # the app's state: its engine is read at each round
        self._pending: list[int] = []
        self._lock = threading.Lock()
        self._running = False

    def dispatch(self, opportunity_ids: list[int]) -> None:
        """Dispatch `opportunity_ids` now, or leave them to the round already running
        (which takes them before it stops)."""
        with self._lock:
            self._pending.extend(opportunity_ids)
            if self._running:
                return
            self._running = True
        while True:
            with self._lock:
                ids, self._pending = self._pending, []
                if not ids:
                    self._running = False
                    return
            self._dispatch(ids)

    def _dispatch(self, ids: list[int]) -> None:
        try:
            with Session(self._state.engine, expire_on_commit=False) as session:
                dispatch_arrivals(session, Actor.system(), ids)
                session.commit()
        except Exception:  # noqa: BLE001 - the worker's periodic dispatch takes what this missed
            log.exception("dispatch on arrival failed for %d opportunities", len(ids))
