"""Who a lead file's owner column may name: active colleagues in the importer's reach whose
roles work opportunities, by username or full name (case and spacing do not count)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from crm_core.models import Role, User, UserRole
from crm_core.org.access import user_scope
from crm_core.platform.actor import Actor
from crm_core.platform.permissions import Permission


@dataclass(frozen=True)
class Holder:
    """A colleague who may hold the imported opportunities, and the unit they go with."""

    user_id: int
    org_unit_id: int | None


def owner_words(session: Session, actor: Actor) -> dict[str, Holder]:
    """Folded username or full name -> the colleague, for every active, enabled user the
    actor's scope reaches whose roles work opportunities and who belongs to a unit. A full
    name two such colleagues share names nobody: the file must give the username."""
    rows = session.exec(
        select(User.id, User.username, User.full_name, User.org_unit_id, Role.permissions)
        .join(UserRole, col(UserRole.user_id) == col(User.id))
        .join(Role, col(Role.id) == col(UserRole.role_id))
        .where(
            User.status == "active",
            User.enabled,
            col(User.org_unit_id).is_not(None),
            user_scope(actor),
        )
    ).all()
    holders: dict[int, tuple[str, str, int | None]] = {}
    for user_id, username, full_name, unit_id, permissions in rows:
        if Permission.WORK_OPPORTUNITIES.value in (permissions or []):
            holders[user_id] = (username, full_name, unit_id)
    words: dict[str, Holder] = {}
    names: dict[str, list[int]] = {}
    for user_id, (username, full_name, unit_id) in holders.items():
        words[_word(username)] = Holder(user_id, unit_id)
        names.setdefault(_word(full_name), []).append(user_id)
    for name, ids in names.items():
        if len(ids) == 1 and name not in words:
            words[name] = Holder(ids[0], holders[ids[0]][2])
    return words


def _word(text: str) -> str:
    return " ".join(str(text or "").split()).casefold()
