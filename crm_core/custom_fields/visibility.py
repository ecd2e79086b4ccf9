"""Which custom fields a reader sees: a field names the roles that see it, or none (then
everyone who sees the row sees it). Administrators and the system see every field."""

from __future__ import annotations

from sqlmodel import Session

from crm_core.custom_fields.definitions import list_fields
from crm_core.models import CustomField
from crm_core.platform.actor import Actor


def sees_field(actor: Actor, field: CustomField) -> bool:
    """Whether `actor` sees `field` on the rows they reach."""
    roles = field.role_codes or []
    return not roles or actor.is_administrator or bool(set(roles) & set(actor.role_codes))


def fields_visible_to(
    session: Session, actor: Actor, entity: str, *, include_disabled: bool = False
) -> list[CustomField]:
    """The fields of `entity` that `actor` sees, in display order; disabled ones only with
    `include_disabled` (exports keep their values, forms and filters do not offer them)."""
    return [
        field
        for field in list_fields(session, entity, active_only=not include_disabled)
        if sees_field(actor, field)
    ]
