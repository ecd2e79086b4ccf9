"""The org-unit tree: reading it and growing it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from crm_core import audit
from crm_core.access import Actor, org_unit_scope
from crm_core.errors import NotFound, ValidationError
from crm_core.models import OrgUnit
from crm_core.permissions import Permission


def get_unit(session: Session, actor: Actor, unit_id: int) -> OrgUnit:
    """One unit within the actor's scope."""
    unit = session.exec(select(OrgUnit).where(OrgUnit.id == unit_id, org_unit_scope(actor))).first()
    if unit is None:
        raise NotFound(entity="org_unit", id=unit_id)
    return unit


def create_unit(
    session: Session,
    actor: Actor,
    name: str,
    parent_id: int | None,
    business_line_id: int | None = None,
) -> OrgUnit:
    """Add a unit under `parent_id` (None: a new root; admins only) and store its path."""
    actor.require(Permission.MANAGE_ORG)
    name = (name or "").strip()
    if not name:
        raise ValidationError("org.error.name_required")
    parent = None
    if parent_id is None:
        if not actor.is_system and actor.scope != "all":
            raise NotFound(entity="org_unit", id=None)
    else:
        parent = get_unit(session, actor, parent_id)
    unit = OrgUnit(
        name=name,
        parent_id=parent_id,
        depth=0 if parent is None else parent.depth + 1,
        business_line_id=business_line_id
        if business_line_id is not None
        else (parent.business_line_id if parent else None),
    )
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.add(unit)
    audit.record(
        session,
        actor,
        "org_unit.create",
        "org_unit",
        unit.id,
        None,
        {"name": name, "parent_id": parent_id},
    )
    session.flush()
    return unit


def unit_path_names(session: Session, unit: OrgUnit) -> list[str]:
    """The names from the root down to `unit`."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    names = dict(
        session.exec(select(OrgUnit.id, OrgUnit.name).where(col(OrgUnit.id).in_(ids))).all()
    )
    return [names[i] for i in ids if i in names]
