"""Custom fields (自定义字段) in a lead file: the import engine offers the lead's and the
opportunity's fields the importer sees as `lead.<code>` and `opportunity.<code>` (the spec's
`custom_entities`), reads their cells with each field's own rules (a choice field's values
through value mapping, so `Select` placeholders are blank and `Finance management` maps onto
the choice whatever its case) and writes them onto the row's lead and onto each opportunity
the row opened. What is the lead import's own: a mapping may name only fields the importer
sees, and a required field left blank refuses a row whose person is new (a known person
keeps what they have).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, func, select

from crm_core.custom_fields.values import FIELD_REQUIRED
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.imports.engine import MESSAGES, Findings
from crm_core.leads.intake import LeadInput
from crm_core.leads.intake.matching import chunks
from crm_core.leads.phones import normalise_phone
from crm_core.models import CustomField, Lead
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

ENTITIES = ("lead", "opportunity")
UNMAPPED_CHOICE = MESSAGES["choice"]  # "{field}: “{value}” is not mapped onto one of its choices."
FIELD_NOT_YOURS = N_("There is no field {field} that you may edit.")


def field_name(custom: CustomField) -> str:
    """The import's name of a custom field: `lead.<code>` or `opportunity.<code>`."""
    return f"{custom.entity}.{custom.code}"


def is_custom(name: str | None) -> bool:
    """Whether an import field name is a custom field's."""
    return bool(name) and name.split(".", 1)[0] in ENTITIES and "." in name


def check_visible(session: Session, actor: Actor, mapping: dict[str, str | None]) -> None:
    """Refuse a mapping that names a custom field the actor does not see (or none at all)."""
    wanted = {name for name, column in mapping.items() if column and is_custom(name)}
    if not wanted:
        return
    seen = {field_name(f) for e in ENTITIES for f in fields_visible_to(session, actor, e)}
    for name in sorted(wanted - seen):
        raise ValidationError(FIELD_NOT_YOURS, field=name.split(".", 1)[1])


def refuse_missing_required(
    session: Session, actor: Actor, rows: Sequence, found: Findings
) -> None:
    """Reject the rows (`LeadRow`s) of new people that leave a required custom field blank.
    A row whose person is a stored lead (by phone, external id, e-mail or WeChat) is not new."""
    required = [f for e in ENTITIES for f in fields_visible_to(session, actor, e) if f.required]
    if not required:
        return
    missing = {}
    for row in rows:
        have = row.custom or {}
        for custom in required:
            if have.get(custom.id) in (None, ()):
                missing[row.row] = (row, custom)
                break
    if not missing:
        return
    known = _stored_people(session, [row.input for row, _ in missing.values()])
    for (number, (_, custom)), stored in zip(missing.items(), known, strict=True):
        if not stored:
            found.reject(number, field_name(custom), FIELD_REQUIRED, field=custom.code)


def _stored_people(session: Session, inputs: Sequence[LeadInput]) -> list[bool]:
    """Whether each input's person is a stored lead (a few chunked queries)."""
    keys = []
    for item in inputs:
        phone = normalise_phone(str(item.phone)) if item.phone else None
        ext = (item.external_id or "").strip() or None
        email = (item.email or "").strip().casefold() or None
        wechat = (item.wechat or "").strip() or None
        keys.append((phone, ext, email, wechat))
    columns = (Lead.phone, Lead.external_id, func.lower(func.trim(Lead.email)), Lead.wechat)
    found: list[set[str]] = []
    for position, column in enumerate(columns):
        wanted = {k[position] for k in keys if k[position]}
        hits: set[str] = set()
        for chunk in chunks(wanted):
            query = select(column).where(col(Lead.merged_into_id).is_(None), column.in_(chunk))
            hits.update(session.exec(query).all())
        found.append(hits)
    return [any(k[p] and k[p] in found[p] for p in range(4)) for k in keys]
