"""Dispatch on arrival, coalesced: each request hands its new opportunities over right after
its intake commits and answers at once; a thread of this process dispatches everything
handed over so far in one transaction (`dispatch_arrivals`), and goes again while more
arrived meanwhile. Alone, a lead is dispatched within milliseconds of its commit; under load
one round takes the arrivals of many requests, so dispatch costs one planning per round
instead of one per request, and no request waits for it. Nothing here is needed by another
process: what a failed round (or a stopped process) leaves waiting, the worker's periodic
dispatch takes."""

from __future__ import annotations

import logging
import threading

from sqlmodel import Session

from crm_core.circulation.dispatch import dispatch_arrivals
from crm_core.platform.actor import Actor

log = logging.getLogger("crm_api")


class Arrivals:
    """The opportunities waiting for this process's next dispatch round, and its thread."""

    def __init__(self, state) -> None:
        self._state = state  # the app's state: its engine is read at each round
        self._pending: list[int] = []
        self._busy = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def hand_over(self, opportunity_ids: list[int]) -> None:
        """Queue `opportunity_ids` for the next round (started at once when idle)."""
        if not opportunity_ids:
            return
        with self._changed:
            self._pending.extend(opportunity_ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="dispatch-on-arrival", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until everything handed over was dispatched; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending)
                ids, self._pending = self._pending, []
                self._busy = True
            try:
                self._dispatch(ids)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _dispatch(self, ids: list[int]) -> None:
        try:
            with Session(self._state.engine, expire_on_commit=False) as session:
                dispatch_arrivals(session, Actor.system(), ids)
                session.commit()
        except Exception:  # noqa: BLE001 - the worker's periodic dispatch takes what this missed
            log.exception("dispatch on arrival failed for %d opportunities", len(ids))
