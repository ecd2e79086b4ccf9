"""A lead file that updates the stored leads it names ("add new and update existing",
`LeadSettings.update_existing`): a row whose external id (when that names no stored
lead, whose phone in E.164) is a stored lead's is not handed to the intake; it updates
that lead's fields where its cells say something else, and every such change is listed
in the preview (old -> new).

- Only text fields of the lead are updated (`UPDATABLE`): name, e-mail, WeChat, region,
  city, campaign, landing page, keyword. The phone and external id are how the row found
  the lead, and the channel is the first touch: they are never rewritten by a file.
- A blank cell (placeholders count as blank) never erases a stored value.
- Only leads in the importer's scope are updated; a row naming another lead is a bad row
  with the reason (the lead is not described). Two rows naming one lead: the second is bad.
- The write re-reads the leads and writes what still differs, one executemany per field,
  with one `lead.update` audit entry per lead (before / after of the changed fields), all
  in the import's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from crm_core.imports.engine import Findings
from crm_core.leads.intake.inputs import TEXT_FIELDS
from crm_core.leads.intake.matching import chunks
from crm_core.leads.masking import CONTACT_FIELDS, display_contact, mask_contact
from crm_core.leads.phones import normalise_phone
from crm_core.models import AuditLog, Lead
from crm_core.org.access import lead_scope
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import N_
from crm_core.platform.search_keys import name_key

UPDATED = "updated"  # a category: the row updates a stored lead
UNCHANGED = "unchanged"  # a category: the row names a stored lead and says nothing new
UPDATABLE = ("name", "email", "wechat", "region", "city", "campaign", "landing_page", "keyword")

OUTSIDE_SCOPE = N_("This row names a lead outside your data scope: it cannot update it.")
SAME_LEAD = N_("Row {first} already updates this lead.")
TOO_LONG = N_("{field} has at most {max} characters.")


@dataclass(frozen=True)
class FieldChange:
    """One field a row changes on a stored lead."""

    field: str
    old: str | None
    new: str


@dataclass(frozen=True)
class LeadUpdate:
    """What a row does to the stored lead it names: the changes (none: unchanged)."""

    row: int
    lead_id: int
    changes: tuple[FieldChange, ...]


def _keys(row) -> list[tuple[str, str]]:
    """How the row may name a lead, in order: ("external_id", id), ("phone", E.164)."""
    keys = []
    external = (row.input.external_id or "").strip()
    if external:
        keys.append(("external_id", external))
    phone = normalise_phone(str(row.input.phone)) if row.input.phone else None
    if phone:
        keys.append(("phone", phone))
    return keys


def _stored(session: Session, column, keys: set[str]) -> dict[str, Lead]:
    found: dict[str, Lead] = {}
    for chunk in chunks(keys):
        for lead in session.exec(
            select(Lead).where(column.in_(chunk), col(Lead.merged_into_id).is_(None))
        ).all():
            found[getattr(lead, column.key)] = lead
    return found


def _reached(session: Session, actor: Actor, lead_ids: Sequence[int]) -> set[int]:
    reached: set[int] = set()
    for chunk in chunks(lead_ids):
        reached.update(
            session.exec(
                select(Lead.id).where(col(Lead.id).in_(chunk), lead_scope(actor, per_lead=True))
            ).all()
        )
    return reached


def _changes_of(
    row, lead: Lead, actor: Actor, fields: Sequence[str] = UPDATABLE
) -> list[FieldChange]:
    """The `fields` whose non-blank cell differs from what the lead holds. A stored contact
    value (e-mail, WeChat id) is given as the actor may see it: masked without the
    permission (the file's own value is the importer's, and stays whole)."""
    found = []
    for field in fields:
        value = getattr(row.input, field, None)
        text = " ".join(str(value).split()) if value is not None else ""
        stored = getattr(lead, field)
        if text and text != (stored or ""):
            shown = display_contact(actor, field, stored) if field in CONTACT_FIELDS else stored
            found.append(FieldChange(field, shown or None, text))
    return found


def _audit_value(field: str, value: str | None) -> str | None:
    """Contact values are masked in the audit log for everyone, as the lead edit does."""
    return (mask_contact(field, value) or None) if field in CONTACT_FIELDS else value


def match_existing(session: Session, actor: Actor, rows: list, found: Findings) -> list:
    """Sort out the rows that name stored leads: each becomes `UPDATED` or `UNCHANGED`
    (its `LeadUpdate` in `found.details["updates"]`) or a bad row; returns the other rows,
    for the intake."""
    keyed = {id(row): _keys(row) for row in rows}
    wanted = [key for keys in keyed.values() for key in keys]
    leads = {
        (kind, k): lead
        for kind, column in (("external_id", Lead.external_id), ("phone", Lead.phone))
        for k, lead in _stored(session, column, {k for c, k in wanted if c == kind}).items()
    }
    # The first key that names a stored lead: the external id, else the phone.
    named: dict[int, tuple[str, str]] = {}
    for row in rows:
        key = next((key for key in keyed[id(row)] if key in leads), None)
        if key is not None:
            named[id(row)] = key
    matched = {row_id: leads[key] for row_id, key in named.items()}
    reached = _reached(session, actor, sorted({lead.id for lead in matched.values()}))
    updates: dict[int, LeadUpdate] = dict(found.details.get("updates") or {})
    mapping = found.mapping or {}
    # A file without a name column is named by its lead number (`guess_columns`): that
    # "name" must not rename the stored lead.
    fields = [
        f
        for f in UPDATABLE
        if not (
            f == "name"
            and mapping.get("name")
            and mapping.get("name") == mapping.get("external_id")
        )
    ]
    first_row: dict[int, int] = {}
    rest = []
    for row in rows:
        lead = matched.get(id(row))
        if lead is None:
            rest.append(row)
            continue
        field = named[id(row)][0]
        if lead.id not in reached:
            found.reject(row.row, field, OUTSIDE_SCOPE)
            continue
        if lead.id in first_row:
            found.reject(row.row, field, SAME_LEAD, first=first_row[lead.id])
            continue
        changes = _changes_of(row, lead, actor, fields)
        long = [c for c in changes if len(c.new) > TEXT_FIELDS[c.field]]
        if long:
            limit = TEXT_FIELDS[long[0].field]
            found.reject(row.row, long[0].field, TOO_LONG, field=long[0].field, max=limit)
            continue
        first_row[lead.id] = row.row
        updates[row.row] = LeadUpdate(row.row, lead.id, tuple(changes))
        row.category = UPDATED if changes else UNCHANGED
    found.details["updates"] = updates
    return rest


def write_updates(
    session: Session, actor: Actor, rows: list, mapping: Mapping[str, str | None]
) -> tuple[int, Findings]:
    """Update the stored leads the `UPDATED` rows name with what still differs (scope
    checked again), one executemany per field, and one audit entry per lead; returns how
    many leads changed, and the findings (rows now bad in `rejected`). In the caller's
    transaction."""
    found = Findings(mapping)
    match_existing(session, actor, rows, found)
    updates = [u for u in (found.details.get("updates") or {}).values() if u.changes]
    if not updates:
        return 0, found
    now = clock.now()
    table = Lead.__table__
    by_field: dict[str, list[dict]] = {}
    for item in updates:
        for change in item.changes:
            by_field.setdefault(change.field, []).append({"lead": item.lead_id, "v": change.new})
    connection = session.connection()
    for field, params in by_field.items():
        values = {field: bindparam("v"), "updated_at": now}
        if field == "name":
            values["name_key"] = bindparam("k")
            params = [dict(p, k=name_key(p["v"])) for p in params]
        connection.execute(
            update(table).where(table.c.id == bindparam("lead")).values(**values), params
        )
    entries = [
        {
            "at": now,
            "actor_id": actor.user_id,
            "action": "lead.update",
            "target_type": "lead",
            "target_id": str(item.lead_id),
            "before": {c.field: _audit_value(c.field, c.old) for c in item.changes},
            "after": {c.field: _audit_value(c.field, c.new) for c in item.changes},
        }
        for item in updates
    ]
    session.exec(AuditLog.__table__.insert(), params=entries)
    return len(updates), found
