"""Defining custom fields (自定义字段): an administrator adds a field to leads or to
opportunities, renames it, changes its choices, who sees it, whether it is required, and
disables it.

Changing a definition needs `manage_metadata` and is audited. A field is never deleted:
disabled, it keeps its values on rows and in exports and is no longer offered for editing
or filtering; a disabled choice likewise stays on the rows that hold it. A field that holds
values keeps its kind, since the stored values are typed by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from crm_core.models import (
    FIELD_ENTITIES,
    FIELD_KINDS,
    CustomField,
    LeadFieldValue,
    OpportunityFieldValue,
    Role,
)
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import CODE_LENGTH, LABEL_LENGTH, code_for, fold
from crm_core.platform.permissions import Permission

CHOICE_KINDS = ("choice", "multi_choice")
VALUE_TABLES = {"lead": LeadFieldValue, "opportunity": OpportunityFieldValue}

UNKNOWN_ENTITY = N_("Custom fields belong to leads or opportunities, not to {entity}.")
UNKNOWN_KIND = N_("A field's kind is one of: {kinds}.")
FIELD_CODE_TAKEN = N_("There is already a field {code}.")
FIELD_LABEL_TAKEN = N_("There is already a field called {label}.")
FIELD_LABEL_REQUIRED = N_("A field needs a label.")
FIELD_TEXT_TOO_LONG = N_("A label or code may have at most {limit} characters.")
KIND_IN_USE = N_("The field {code} holds values, so its kind cannot change.")
CHOICES_REQUIRED = N_("A choice field needs at least one choice.")
CHOICE_TAKEN = N_("The field already has a choice {choice}.")
UNKNOWN_ROLE = N_("There is no role {role}.")


@dataclass(frozen=True)
class ChoiceDraft:
    """One choice as the admin page sends it; `code` empty: made from the English label."""

    label_en: str
    label_zh: str = ""
    code: str = ""
    active: bool = True


def value_table(entity: str):
    """The value table of `entity` (lead or opportunity)."""
    if entity not in FIELD_ENTITIES:
        raise ValidationError(UNKNOWN_ENTITY, entity=entity)
    return VALUE_TABLES[entity]


def list_fields(session: Session, entity: str, *, active_only: bool = True) -> list[CustomField]:
    """The fields of `entity` in display order. A definition is not business data: reading
    it is not scoped (what a reader sees of it is `fields_visible_to`)."""
    value_table(entity)
    query = select(CustomField).where(CustomField.entity == entity)
    if active_only:
        query = query.where(CustomField.active)
    return list(session.exec(query.order_by(CustomField.sort_order, CustomField.id)).all())


def field_label(field: CustomField, language: str) -> str:
    """The field's label in `language` (Chinese for anything but English)."""
    return field.label_en if language == "en" else field.label_zh


def choice_label(field: CustomField, code: str, language: str) -> str:
    """A choice's label in `language`; a code the field no longer lists shows as itself."""
    for choice in field.choices or []:
        if choice["code"] == code:
            return choice["label_en"] if language == "en" else choice["label_zh"]
    return code


def active_choices(field: CustomField) -> list[dict]:
    """The choices still offered."""
    return [c for c in field.choices or [] if c.get("active", True)]


def _text(value: str | None, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(FIELD_LABEL_REQUIRED)
    if len(value) > LABEL_LENGTH:
        raise ValidationError(FIELD_TEXT_TOO_LONG, limit=LABEL_LENGTH)
    return value


def _choices(kind: str, drafts: Sequence[ChoiceDraft] | None, before: list[dict]) -> list[dict]:
    """The stored choice list: codes of existing choices are kept (rows hold them); a draft
    whose code is known renames or disables that choice; a choice left out is disabled,
    never dropped, because rows may still hold it."""
    if kind not in CHOICE_KINDS:
        return []
    if drafts is None:
        return before
    result: list[dict] = []
    seen: set[str] = set()
    for draft in drafts:
        label_en = _text(draft.label_en)
        label_zh = _text(draft.label_zh, required=False) or label_en
        code = (draft.code or "").strip() or code_for(label_en)
        if len(code) > CODE_LENGTH:
            raise ValidationError(FIELD_TEXT_TOO_LONG, limit=CODE_LENGTH)
        folded = {fold(code), fold(label_en), fold(label_zh)}
        if folded & seen:
            raise ValidationError(CHOICE_TAKEN, choice=label_en)
        seen |= folded
        result.append(
            {"code": code, "label_en": label_en, "label_zh": label_zh, "active": draft.active}
        )
    kept = {c["code"] for c in result}
    for old in before:
        if old["code"] not in kept:
            result.append({**old, "active": False})
    if not any(c["active"] for c in result):
        raise ValidationError(CHOICES_REQUIRED)
    return result


def _roles(session: Session, codes: Sequence[str] | None) -> list[str]:
    codes = sorted({c.strip() for c in codes or [] if c and c.strip()})
    if codes:
        known = set(session.exec(select(Role.code)).all())
        for code in codes:
            if code not in known:
                raise ValidationError(UNKNOWN_ROLE, role=code)
    return codes


def _check_unique(session: Session, entity: str, code: str, labels: tuple[str, ...], skip):
    for other in list_fields(session, entity, active_only=False):
        if other.id == skip:
            continue
        if fold(other.code) == fold(code):
            raise ValidationError(FIELD_CODE_TAKEN, code=code)
        taken = {fold(other.label_en), fold(other.label_zh), fold(other.code)}
        for label in labels:
            if fold(label) in taken:
                raise ValidationError(FIELD_LABEL_TAKEN, label=label)


def _snapshot(field: CustomField) -> dict:
    return {
        "entity": field.entity,
        "code": field.code,
        "label_en": field.label_en,
        "label_zh": field.label_zh,
        "kind": field.kind,
        "required": field.required,
        "choices": list(field.choices or []),
        "role_codes": list(field.role_codes or []),
        "sort_order": field.sort_order,
        "active": field.active,
    }


def define_field(
    session: Session,
    actor: Actor,
    entity: str,
    *,
    label_en: str,
    kind: str,
    label_zh: str | None = None,
    code: str | None = None,
    required: bool = False,
    choices: Sequence[ChoiceDraft] | None = None,
    role_codes: Sequence[str] | None = None,
) -> CustomField:
    """Add a custom field to leads or opportunities. The code defaults to one made from the
    English label; code and labels are unique per entity regardless of case. Requires
    manage_metadata; audited; flushes."""
    actor.require(Permission.MANAGE_METADATA)
    value_table(entity)
    if kind not in FIELD_KINDS:
        raise ValidationError(UNKNOWN_KIND, kinds=", ".join(FIELD_KINDS))
    label_en = _text(label_en)
    label_zh = _text(label_zh, required=False) or label_en
    code = (code or "").strip() or code_for(label_en)
    if len(code) > CODE_LENGTH:
        raise ValidationError(FIELD_TEXT_TOO_LONG, limit=CODE_LENGTH)
    _check_unique(session, entity, code, (label_en, label_zh), None)
    if kind in CHOICE_KINDS and not choices:
        raise ValidationError(CHOICES_REQUIRED)
    last = session.exec(
        select(func.max(CustomField.sort_order)).where(CustomField.entity == entity)
    ).one()
    field = CustomField(
        entity=entity,
        code=code,
        label_en=label_en,
        label_zh=label_zh,
        kind=kind,
        required=required,
        choices=_choices(kind, choices, []),
        role_codes=_roles(session, role_codes),
        sort_order=(last or 0) + 1,
    )
    session.add(field)
    session.flush()
    audit.record(
        session, actor, "custom_field.create", "custom_field", field.id, None, _snapshot(field)
    )
    return field


def field_in_use(session: Session, field: CustomField) -> bool:
    """Whether any row holds a value of `field`."""
    table = value_table(field.entity)
    return (
        session.exec(select(table.id).where(table.field_id == field.id).limit(1)).first()
        is not None
    )


def update_field(
    session: Session,
    actor: Actor,
    field_id: int,
    *,
    label_en: str | None = None,
    label_zh: str | None = None,
    kind: str | None = None,
    required: bool | None = None,
    choices: Sequence[ChoiceDraft] | None = None,
    role_codes: Sequence[str] | None = None,
    sort_order: int | None = None,
    active: bool | None = None,
) -> CustomField:
    """Change a field: labels, kind (only while no row holds a value), required, choices
    (a choice left out is disabled, not dropped), the roles that see it, its place, and
    disable or enable it. The code never changes. Requires manage_metadata; audited when
    something changed; flushes."""
    actor.require(Permission.MANAGE_METADATA)
    field = session.get(CustomField, field_id)
    if field is None:
        raise NotFound(entity="custom_field", id=field_id)
    before = _snapshot(field)
    new_en = _text(label_en) if label_en is not None else field.label_en
    new_zh = (_text(label_zh, required=False) or new_en) if label_zh is not None else field.label_zh
    _check_unique(session, field.entity, field.code, (new_en, new_zh), field.id)
    if kind is not None and kind != field.kind:
        if kind not in FIELD_KINDS:
            raise ValidationError(UNKNOWN_KIND, kinds=", ".join(FIELD_KINDS))
        if field_in_use(session, field):
            raise ValidationError(KIND_IN_USE, code=field.code)
        if kind in CHOICE_KINDS and not choices and not field.choices:
            raise ValidationError(CHOICES_REQUIRED)
        field.kind = kind
    field.label_en, field.label_zh = new_en, new_zh
    field.choices = _choices(field.kind, choices, list(field.choices or []))
    if role_codes is not None:
        field.role_codes = _roles(session, role_codes)
    if required is not None:
        field.required = required
    if sort_order is not None:
        field.sort_order = sort_order
    if active is not None:
        field.active = active
    session.add(field)
    session.flush()
    after = _snapshot(field)
    if after != before:
        audit.record(session, actor, "custom_field.update", "custom_field", field.id, before, after)
    return field


def role_choices(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(code, name) of every role, for choosing who sees a field. Requires manage_metadata."""
    actor.require(Permission.MANAGE_METADATA)
    return [(r.code, r.name) for r in session.exec(select(Role).order_by(Role.code)).all()]
