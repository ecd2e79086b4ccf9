"""The demo company's call centre: the demo vendor (it rings nobody), two lines, and a seat
for every active rep, so the "Call from my seat" button works on day one."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session, select

from crm_core.calls.providers import save_call_provider_config
from crm_core.calls.setup import save_line
from crm_core.models import CallSeat, Role, User, UserRole
from crm_core.platform import clock
from crm_core.platform.actor import Actor

SYSTEM = Actor.system()


def seed_calls(session: Session) -> None:
    """The vendor, the lines and a seat for every active rep and team lead (flushed)."""
    save_call_provider_config(session, SYSTEM, kind="demo")
    beijing = save_line(session, SYSTEM, name="北京外呼线路", caller_number="010-5555 0100")
    save_line(session, SYSTEM, name="上海外呼线路", caller_number="021-5555 0100")
    active = session.exec(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(Role.code.in_(("rep", "team_lead")), User.status == "active")
        .distinct()
        .order_by(User.id)
    ).all()
    now = clock.now()
    session.execute(
        insert(CallSeat),
        [
            {
                "seat_no": f"8{n:03d}",
                "user_id": user_id,
                "line_id": beijing.id,
                "active": True,
                "created_at": now,
            }
            for n, user_id in enumerate(active, start=1)
        ],
    )
    session.flush()
