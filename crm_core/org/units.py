"""The org-unit tree: reading it with its head counts, and changing it.

A sales manager changes only units inside their own subtree; only an actor whose scope is
everything may add a root or move a unit outside a subtree, and a unit moves only with
everything below it within the mover's reach. Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, literal, not_, update
from sqlmodel import Session, col, select

from crm_core.models import BusinessLine, Opportunity, OrgUnit, User, path_ids
from crm_core.org.access import org_unit_scope, user_scope
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_, NP_
from crm_core.platform.permissions import DataScope, Permission


@dataclass(frozen=True)
class UnitNode:
    """One unit of the tree as the org page shows it."""

    id: int
    name: str
    parent_id: int | None
    path: str
    depth: int
    active: bool
    business_line_id: int | None
    head_user_id: int | None
    head_name: str | None
    members: int  # active or on-leave users directly in the unit
    head_count: int  # the same, with everything below
    open_opportunities: int  # open opportunities of the unit and everything below


def get_unit(session: Session, actor: Actor, unit_id: int) -> OrgUnit:
    """One unit within the actor's scope; outside it, it does not exist."""
    unit = session.exec(select(OrgUnit).where(OrgUnit.id == unit_id, org_unit_scope(actor))).first()
    if unit is None:
        raise NotFound(entity="org_unit", id=unit_id)
    return unit


def _snapshot(unit: OrgUnit) -> dict:
    return {
        "name": unit.name,
        "parent_id": unit.parent_id,
        "path": unit.path,
        "active": unit.active,
        "head_user_id": unit.head_user_id,
        "business_line_id": unit.business_line_id,
    }


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(N_("A unit needs a name."))
    if len(name) > 120:
        raise ValidationError(N_("A unit name has at most 120 characters."))
    return name


def create_unit(
    session: Session,
    actor: Actor,
    name: str,
    parent_id: int | None,
    business_line_id: int | None = None,
) -> OrgUnit:
    """Add a unit under `parent_id` (None: a new root, for an actor reaching everything)."""
    actor.require(Permission.MANAGE_ORG)
    name = _clean_name(name)
    parent = None
    if parent_id is None:
        if actor.scope is not DataScope.ALL:
            raise ValidationError(N_("Only an administrator can add a top-level unit."))
    else:
        parent = get_unit(session, actor, parent_id)
        if not parent.active:
            raise ValidationError(N_("The parent unit is disabled."))
    if business_line_id is not None and session.get(BusinessLine, business_line_id) is None:
        raise NotFound(entity="business_line", id=business_line_id)
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
    audit.record(session, actor, "org_unit.create", "org_unit", unit.id, None, _snapshot(unit))
    session.flush()
    return unit


def rename_unit(session: Session, actor: Actor, unit_id: int, name: str) -> OrgUnit:
    """Give a unit a new name."""
    actor.require(Permission.MANAGE_ORG)
    unit = get_unit(session, actor, unit_id)
    before = _snapshot(unit)
    unit.name = _clean_name(name)
    session.add(unit)
    audit.record(session, actor, "org_unit.rename", "org_unit", unit.id, before, _snapshot(unit))
    session.flush()
    return unit


def move_unit(session: Session, actor: Actor, unit_id: int, new_parent_id: int) -> OrgUnit:
    """Move a unit with its whole subtree under `new_parent_id`.

    Refused when the new parent is the unit itself or below it. The paths of the whole
    subtree change in one UPDATE; revenue already attributed keeps its frozen path.
    """
    actor.require(Permission.MANAGE_ORG)
    unit = get_unit(session, actor, unit_id)
    parent = get_unit(session, actor, new_parent_id)
    if parent.path.startswith(unit.path):
        raise ValidationError(
            N_("{unit} cannot move under {parent}: that unit is inside it."),
            unit=unit.name,
            parent=parent.name,
        )
    if not parent.active:
        raise ValidationError(N_("The parent unit is disabled."))
    if unit.parent_id == parent.id:
        return unit
    _ensure_reaches_all_below(session, actor, unit)
    before = _snapshot(unit)
    old_prefix = unit.path
    new_prefix = f"{parent.path}{unit.id}/"
    depth_change = parent.depth + 1 - unit.depth
    session.exec(
        update(OrgUnit)
        .where(col(OrgUnit.path).like(f"{old_prefix}%"))
        .values(
            path=literal(new_prefix) + func.substr(OrgUnit.path, len(old_prefix) + 1),
            depth=OrgUnit.depth + depth_change,
        )
        .execution_options(synchronize_session=False)
    )
    session.exec(update(OrgUnit).where(OrgUnit.id == unit.id).values(parent_id=parent.id))
    session.expire_all()
    unit = session.get(OrgUnit, unit_id)
    audit.record(session, actor, "org_unit.move", "org_unit", unit.id, before, _snapshot(unit))
    session.flush()
    return unit


def _ensure_reaches_all_below(session: Session, actor: Actor, unit: OrgUnit) -> None:
    """A moved unit takes everything below it into the new parent's subtree, where whoever
    holds a subtree role above it starts to reach it all: only someone who reaches every
    unit being moved may hand them over (a custom scope listing a department alone does
    not reach its teams)."""
    if actor.scope is DataScope.ALL:
        return
    outside = session.exec(
        select(func.count()).where(
            col(OrgUnit.path).like(f"{unit.path}%"), not_(org_unit_scope(actor))
        )
    ).one()
    if outside:
        raise PermissionDenied(
            N_(
                "You cannot move {unit}: {count} of the units in it are outside your scope, and they would move with it."
            ),
            unit=unit.name,
            count=outside,
        )


def set_unit_active(session: Session, actor: Actor, unit_id: int, active: bool) -> OrgUnit:
    """Disable a unit (refused while it or a unit below still has active users or active
    sub-units) or enable it again (refused under a disabled parent)."""
    actor.require(Permission.MANAGE_ORG)
    unit = get_unit(session, actor, unit_id)
    before = _snapshot(unit)
    if not active:
        people = session.exec(
            select(func.count())
            .select_from(User)
            .join(OrgUnit, col(OrgUnit.id) == col(User.org_unit_id))
            .where(col(OrgUnit.path).like(f"{unit.path}%"), User.status != "resigned")
        ).one()
        if people:
            raise ValidationError(
                NP_(
                    "{unit} still has {count} active user; move them first.",
                    "{unit} still has {count} active users; move them first.",
                ),
                unit=unit.name,
                count=people,
            )
        children = session.exec(
            select(func.count()).where(OrgUnit.parent_id == unit.id, OrgUnit.active)
        ).one()
        if children:
            raise ValidationError(
                N_("{unit} still has active sub-units; disable those first."), unit=unit.name
            )
    elif unit.parent_id is not None:
        parent = session.get(OrgUnit, unit.parent_id)
        if parent is not None and not parent.active:
            raise ValidationError(N_("The parent unit is disabled."))
    unit.active = active
    session.add(unit)
    action = "org_unit.enable" if active else "org_unit.disable"
    audit.record(session, actor, action, "org_unit", unit.id, before, _snapshot(unit))
    session.flush()
    return unit


def set_unit_head(
    session: Session, actor: Actor, unit_id: int, head_user_id: int | None
) -> OrgUnit:
    """Make an active user within the actor's scope the head of a unit (None clears it)."""
    actor.require(Permission.MANAGE_ORG)
    unit = get_unit(session, actor, unit_id)
    before = _snapshot(unit)
    if head_user_id is not None:
        head = session.exec(select(User).where(User.id == head_user_id, user_scope(actor))).first()
        if head is None:
            raise NotFound(entity="user", id=head_user_id)
        if head.status == "resigned" or not head.enabled:
            raise ValidationError(
                N_("{name} has left or is disabled and cannot head a unit."), name=head.full_name
            )
    unit.head_user_id = head_user_id
    session.add(unit)
    audit.record(session, actor, "org_unit.set_head", "org_unit", unit.id, before, _snapshot(unit))
    session.flush()
    return unit


def set_unit_business_line(
    session: Session, actor: Actor, unit_id: int, business_line_id: int | None
) -> OrgUnit:
    """Tie a unit to a business line (or none)."""
    actor.require(Permission.MANAGE_ORG)
    unit = get_unit(session, actor, unit_id)
    if business_line_id is not None and session.get(BusinessLine, business_line_id) is None:
        raise NotFound(entity="business_line", id=business_line_id)
    before = _snapshot(unit)
    unit.business_line_id = business_line_id
    session.add(unit)
    audit.record(session, actor, "org_unit.set_line", "org_unit", unit.id, before, _snapshot(unit))
    session.flush()
    return unit


def unit_tree(session: Session, actor: Actor, search: str | None = None) -> list[UnitNode]:
    """The units in the actor's scope in tree order (parents before children), each with
    its head count and open opportunities including everything below it.

    With `search`, only units whose name contains it, plus their ancestors in scope.
    """
    units = session.exec(select(OrgUnit).where(org_unit_scope(actor)).order_by(OrgUnit.path)).all()
    ids = [u.id for u in units]
    members = dict(
        session.exec(
            select(User.org_unit_id, func.count())
            .where(col(User.org_unit_id).in_(ids), User.status != "resigned")
            .group_by(User.org_unit_id)
        ).all()
    )
    open_counts = dict(
        session.exec(
            select(Opportunity.org_unit_id, func.count())
            .where(col(Opportunity.org_unit_id).in_(ids), Opportunity.pool_state != "closed")
            .group_by(Opportunity.org_unit_id)
        ).all()
    )
    head_ids = {u.head_user_id for u in units if u.head_user_id}
    heads = dict(
        session.exec(select(User.id, User.full_name).where(col(User.id).in_(head_ids))).all()
    )
    # Totals with everything below: units are few, so sum over the sorted paths.
    head_total: dict[int, int] = {}
    open_total: dict[int, int] = {}
    for unit in units:
        chain = path_ids(unit.path)
        for ancestor in chain:
            head_total[ancestor] = head_total.get(ancestor, 0) + members.get(unit.id, 0)
            open_total[ancestor] = open_total.get(ancestor, 0) + open_counts.get(unit.id, 0)
    keep = None
    if search and search.strip():
        needle = search.strip().lower()
        keep = set()
        for unit in units:
            if needle in unit.name.lower():
                keep.update(path_ids(unit.path))
    return [
        UnitNode(
            id=u.id,
            name=u.name,
            parent_id=u.parent_id,
            path=u.path,
            depth=u.depth,
            active=u.active,
            business_line_id=u.business_line_id,
            head_user_id=u.head_user_id,
            head_name=heads.get(u.head_user_id),
            members=members.get(u.id, 0),
            head_count=head_total.get(u.id, 0),
            open_opportunities=open_total.get(u.id, 0),
        )
        for u in units
        if keep is None or u.id in keep
    ]


def unit_path_names(session: Session, unit: OrgUnit) -> list[str]:
    """The names from the root down to `unit`."""
    ids = path_ids(unit.path)
    names = dict(
        session.exec(select(OrgUnit.id, OrgUnit.name).where(col(OrgUnit.id).in_(ids))).all()
    )
    return [names[i] for i in ids if i in names]


def unit_by_path_names(session: Session, names: list[str]) -> OrgUnit | None:
    """The unit reached by following `names` from a root, e.g. ["Beijing", "Exam prep",
    "Team 3"] (the first name may also be a root's child when roots are unnamed in files)."""
    children: dict[int | None, dict[str, OrgUnit]] = {}
    for unit in session.exec(select(OrgUnit)).all():
        children.setdefault(unit.parent_id, {})[unit.name.strip().lower()] = unit
    level = children.get(None, {})
    wanted = [n.strip().lower() for n in names if n.strip()]
    if not wanted:
        return None
    # Files usually leave out the company root: try from the root and from its children.
    starts = [level] + [children.get(root.id, {}) for root in level.values()]
    for start in starts:
        current, found = start, None
        for name in wanted:
            found = current.get(name)
            if found is None:
                break
            current = children.get(found.id, {})
        if found is not None:
            return found
    return None
