"""The dashboards' result cache.

A result is stored under (database, figure, the viewer's scope, the view's filters, the
data's watermark). The watermark is one cheap statement over indexed maxima: the newest
stage change, follow-up, flow event, opportunity, lead, order, payment, refund, audit entry
(reorganisations are audited), marketing spend and history import. Any write that a
dashboard shows moves one of them, so the next read misses and recomputes, and the entries
of the old watermark are dropped: a new stage change, payment or refund shows at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import text
from sqlmodel import Session

from crm_core.access import Actor

T = TypeVar("T")

_WATERMARK_SQL = text(
    "SELECT"
    " (SELECT max(id) FROM stage_history),"
    " (SELECT max(id) FROM follow_up),"
    " (SELECT max(id) FROM flow_event),"
    " (SELECT max(id) FROM opportunity),"
    " (SELECT max(id) FROM lead),"
    " (SELECT max(id) FROM sales_order),"
    " (SELECT max(paid_at) FROM sales_order WHERE status = 'paid'),"
    " (SELECT max(refunded_at) FROM sales_order WHERE status = 'refunded'),"
    " (SELECT max(id) FROM audit_log),"
    " (SELECT max(id) FROM marketing_spend),"
    " (SELECT max(updated_at) FROM marketing_spend),"
    " (SELECT max(id) FROM history_import)"
)
_MAX_ENTRIES = 256

_lock = threading.Lock()
_entries: OrderedDict[tuple, object] = OrderedDict()
_watermarks: dict[str, tuple] = {}
_enabled = True


def set_enabled(enabled: bool) -> bool:
    """Turn caching on or off (the benchmark times the queries themselves); returns the
    previous state."""
    global _enabled
    previous, _enabled = _enabled, enabled
    return previous


def clear() -> None:
    """Forget every cached result."""
    with _lock:
        _entries.clear()
        _watermarks.clear()


def watermark(session: Session) -> tuple:
    """The data's version as the dashboards see it: changes whenever their inputs do."""
    return tuple(str(v) for v in session.exec(_WATERMARK_SQL).one())


def scope_key(actor: Actor) -> tuple:
    """What decides the rows an actor reaches (two actors with equal keys see the same)."""
    if actor.scope.value == "all":
        return ("all",)
    return (
        actor.scope.value,
        actor.user_id,
        tuple(sorted(actor.exact_unit_ids)),
        tuple(sorted(actor.subtree_paths)),
    )


def cached(
    session: Session, actor: Actor, figure: str, params: Hashable, compute: Callable[[], T]
) -> T:
    """`compute()`, or its stored result for the same database, figure, scope, parameters
    and watermark. The caller checks permissions before calling."""
    if not _enabled:
        return compute()
    database = str(session.get_bind().url)
    mark = watermark(session)
    key = (database, figure, scope_key(actor), params, mark)
    with _lock:
        if _watermarks.get(database) != mark:
            # The data moved: nothing stored for this database is current any more.
            for stale in [k for k in _entries if k[0] == database]:
                del _entries[stale]
            _watermarks[database] = mark
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]  # type: ignore[return-value]
    result = compute()
    with _lock:
        if _watermarks.get(database) == mark:
            _entries[key] = result
            while len(_entries) > _MAX_ENTRIES:
                _entries.popitem(last=False)
    return result
