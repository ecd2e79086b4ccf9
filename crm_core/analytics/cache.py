"""The dashboards' result cache.

A result is stored under (database, figure, the viewer's scope, the view's filters, the
watermark of what that figure reads). Each figure names the inputs it reads; the watermark
is one cheap statement over indexed maxima of just those: the newest stage change,
follow-up, flow event, opportunity, lead (and lead edits and merges), order, payment,
refund, marketing spend, history import, and reorganisation (audited moves of units and
people). A write that a figure shows moves one of its inputs, so the next read misses and
recomputes and the figure's entries of the old watermark are dropped; a write it does not
show (a phone reveal, a follow-up for the funnel) leaves it cached. The watermark lives in
the database, so a change made through one process shows in every other at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from sqlalchemy import text
from sqlmodel import Session

from crm_core.platform.actor import Actor

T = TypeVar("T")

# input -> the maxima that move when it changes (each an index lookup).
INPUTS: dict[str, tuple[str, ...]] = {
    "stage_history": ("SELECT max(id) FROM stage_history",),
    "follow_up": ("SELECT max(id) FROM follow_up",),
    "flow_event": ("SELECT max(id) FROM flow_event",),
    "opportunity": ("SELECT max(id) FROM opportunity",),
    "lead": (
        "SELECT max(id) FROM lead",
        # A lead's channel or campaign edited, or two leads merged, moves opportunities
        # between channels.
        "SELECT max(id) FROM audit_log WHERE action = 'lead.update'",
        "SELECT max(id) FROM audit_log WHERE action = 'lead.merge'",
    ),
    "sales_order": (
        "SELECT max(id) FROM sales_order",
        "SELECT max(paid_at) FROM sales_order WHERE status = 'paid'",
        "SELECT max(refunded_at) FROM sales_order WHERE status = 'refunded'",
        # Payments of instalments and refunds of a part (0029).
        "SELECT max(id) FROM order_payment",
        "SELECT max(id) FROM order_refund",
        # A payment dated in the past moves no maximum above; its audit entry does.
        "SELECT max(id) FROM audit_log WHERE action = 'order.pay'",
        "SELECT max(id) FROM audit_log WHERE action = 'payment.import'",
        "SELECT max(id) FROM audit_log WHERE action = 'order.refund'",
    ),
    "marketing_spend": (
        "SELECT max(id) FROM marketing_spend",
        "SELECT max(updated_at) FROM marketing_spend",
        # A deleted entry moves no maximum of its table.
        "SELECT max(id) FROM audit_log WHERE action = 'spend.delete'",
    ),
    # A history import's run is its audit entry (the batch id on the rows it wrote).
    "history_import": ("SELECT max(id) FROM audit_log WHERE action = 'history.import'",),
    "rules": ("SELECT max(id) FROM audit_log WHERE action >= 'rule.' AND action < 'rule/'",),
    # Units moved or renamed and people moved change who is under whom.
    "org": (
        "SELECT max(id) FROM audit_log WHERE action >= 'org_unit.' AND action < 'org_unit/'",
        "SELECT max(id) FROM audit_log WHERE action >= 'user.' AND action < 'user/'",
        "SELECT max(id) FROM audit_log WHERE action = 'roster.apply'",
    ),
}
_MAX_ENTRIES = 256

_lock = threading.Lock()
_entries: OrderedDict[tuple, object] = OrderedDict()
_watermarks: dict[tuple[str, str], tuple] = {}
_statements: dict[tuple[str, ...], object] = {}
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


def watermark(session: Session, reads: Iterable[str] = tuple(INPUTS)) -> tuple:
    """The version of the inputs `reads` (names of INPUTS): changes whenever they do."""
    names = tuple(sorted(set(reads)))
    statement = _statements.get(names)
    if statement is None:
        parts = [f"({sql})" for name in names for sql in INPUTS[name]]
        statement = _statements.setdefault(names, text("SELECT " + ", ".join(parts)))
    return tuple(str(v) for v in session.exec(statement).one())


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
    session: Session,
    actor: Actor,
    figure: str,
    params: Hashable,
    compute: Callable[[], T],
    reads: Iterable[str],
) -> T:
    """`compute()`, or its stored result for the same database, figure, scope, parameters
    and watermark of the inputs `reads` (names of INPUTS). The caller checks permissions
    before calling."""
    if not _enabled:
        return compute()
    # `.engine`: a session may be bound to a connection (a caller's transaction) or an engine.
    database = str(session.get_bind().engine.url)
    mark = watermark(session, reads)
    key = (database, figure, scope_key(actor), params, mark)
    with _lock:
        if _watermarks.get((database, figure)) != mark:
            # The figure's inputs moved: nothing stored for it is current any more.
            for stale in [k for k in _entries if k[:2] == (database, figure)]:
                del _entries[stale]
            _watermarks[(database, figure)] = mark
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]  # type: ignore[return-value]
    result = compute()
    with _lock:
        if _watermarks.get((database, figure)) == mark:
            _entries[key] = result
            while len(_entries) > _MAX_ENTRIES:
                _entries.popitem(last=False)
    return result
