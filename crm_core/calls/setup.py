"""Lines, caller numbers and seats: set by call-centre administrators, audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from crm_core.leads.phones import normalise_phone
from crm_core.models import CallLine, CallSeat, User
from crm_core.org.access import user_scope
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission


@dataclass(frozen=True)
class SeatRow:
    id: int
    seat_no: str
    user_id: int
    user_name: str
    line_id: int
    line_name: str
    active: bool


def list_lines(session: Session, actor: Actor) -> list[CallLine]:
    """Every line, by name."""
    actor.require(Permission.MANAGE_CALL_CENTER)
    return list(session.exec(select(CallLine).order_by(CallLine.name)).all())


def save_line(
    session: Session,
    actor: Actor,
    *,
    name: str,
    caller_number: str,
    active: bool = True,
    line_id: int | None = None,
) -> CallLine:
    """Add a line, or change one (`line_id`): its name, the number customers see, whether
    it is used."""
    actor.require(Permission.MANAGE_CALL_CENTER)
    name = " ".join((name or "").split())
    if not name or len(name) > 80:
        raise ValidationError(N_("Give the line a name (at most 80 characters)."))
    number = normalise_phone(caller_number) or (caller_number or "").strip()
    if not number or len(number) > 20 or not number.lstrip("+").isdigit():
        raise ValidationError(
            N_("“{number}” is not a phone number the line can show."), number=caller_number
        )
    clash = session.exec(
        select(CallLine.id).where(CallLine.name == name, CallLine.id != line_id)
    ).first()
    if clash is not None:
        raise ValidationError(N_("A line named “{name}” exists already."), name=name)
    line = session.get(CallLine, line_id) if line_id else CallLine(created_at=clock.now())
    if line is None:
        raise NotFound(entity="call_line", id=line_id)
    before = (
        None
        if line_id is None
        else {"name": line.name, "number": line.caller_number, "active": line.active}
    )
    line.name, line.caller_number, line.active = name, number, active
    session.add(line)
    session.flush()
    audit.record(
        session,
        actor,
        "call_line.save",
        "call_line",
        line.id,
        before,
        {"name": name, "number": number, "active": active},
    )
    return line


def list_seats(session: Session, actor: Actor) -> list[SeatRow]:
    """Every seat with its user and line, by seat number."""
    actor.require(Permission.MANAGE_CALL_CENTER)
    rows = session.exec(
        select(CallSeat, User.full_name, CallLine.name)
        .join(User, col(User.id) == col(CallSeat.user_id))
        .join(CallLine, col(CallLine.id) == col(CallSeat.line_id))
        .order_by(CallSeat.seat_no)
    ).all()
    return [
        SeatRow(seat.id, seat.seat_no, seat.user_id, user, seat.line_id, line, seat.active)
        for seat, user, line in rows
    ]


def save_seat(
    session: Session,
    actor: Actor,
    *,
    seat_no: str,
    user_id: int,
    line_id: int,
    active: bool = True,
) -> CallSeat:
    """Map the vendor's seat `seat_no` to a user in the actor's reach on a line; a seat
    number already mapped moves to this user, and a user has one seat."""
    actor.require(Permission.MANAGE_CALL_CENTER)
    seat_no = (seat_no or "").strip()
    if not seat_no or len(seat_no) > 40:
        raise ValidationError(N_("Give the seat number (at most 40 characters)."))
    if session.exec(select(User.id).where(User.id == user_id, user_scope(actor))).first() is None:
        raise NotFound(entity="user", id=user_id)
    if session.get(CallLine, line_id) is None:
        raise NotFound(entity="call_line", id=line_id)
    seat = session.exec(select(CallSeat).where(CallSeat.seat_no == seat_no)).first()
    held = session.exec(select(CallSeat).where(CallSeat.user_id == user_id)).first()
    if held is not None and held is not seat:
        session.delete(held)  # the user's former seat
        session.flush()
    seat = seat or CallSeat(seat_no=seat_no, created_at=clock.now())
    seat.user_id, seat.line_id, seat.active = user_id, line_id, active
    session.add(seat)
    session.flush()
    audit.record(
        session,
        actor,
        "call_seat.save",
        "call_seat",
        seat.id,
        None,
        {"seat": seat_no, "user_id": user_id, "line_id": line_id, "active": active},
    )
    return seat


def seat_of(session: Session, user_id: int | None) -> tuple[CallSeat, CallLine] | None:
    """The active seat of a user and its line, when both are in use."""
    if user_id is None:
        return None
    row = session.exec(
        select(CallSeat, CallLine)
        .join(CallLine, col(CallLine.id) == col(CallSeat.line_id))
        .where(CallSeat.user_id == user_id, CallSeat.active, CallLine.active)
    ).first()
    return (row[0], row[1]) if row else None
