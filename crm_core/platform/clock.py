"""The one clock of the core.

Every business timestamp comes from `now()`, so tests and the demo simulation can move time
instead of sleeping. Times are naive UTC datetimes on both databases.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_frozen_at: datetime | None = None
_offset = timedelta(0)


def _real_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def now() -> datetime:
    """Return the current time (naive UTC), frozen or shifted if a test asked for it."""
    with _lock:
        if _frozen_at is not None:
            return _frozen_at
        return _real_now() + _offset


def freeze(at: datetime) -> None:
    """Stop the clock at `at` until `advance`, `freeze` or `reset` is called."""
    global _frozen_at
    with _lock:
        _frozen_at = (
            at.replace(tzinfo=None)
            if at.tzinfo is None
            else at.astimezone(UTC).replace(tzinfo=None)
        )


def advance(delta: timedelta) -> datetime:
    """Move the clock forward by `delta` (frozen or running) and return the new time."""
    global _frozen_at, _offset
    with _lock:
        if _frozen_at is not None:
            _frozen_at = _frozen_at + delta
            return _frozen_at
        _offset = _offset + delta
        return _real_now() + _offset


def reset() -> None:
    """Go back to real time."""
    global _frozen_at, _offset
    with _lock:
        _frozen_at = None
        _offset = timedelta(0)
