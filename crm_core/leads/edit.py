"""Editing a lead's contact and source fields by hand, from the lead card.

Only fields whose value really changes are validated and written, so a form that sends every
field back does not trip over a value stored before a rule tightened (say, a channel that was
disabled since). The audit entry holds the changed fields only, phones masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm_core.leads.intake.inputs import TEXT_FIELDS
from crm_core.leads.masking import CONTACT_FIELDS, mask_contact, mask_phone, sees_full_contact
from crm_core.leads.phones import normalise_phone, phone_suffix
from crm_core.models import Lead
from crm_core.org.access import lead_scope
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.database import savepoint
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import find_option, list_options
from crm_core.platform.option_values import require_choosable
from crm_core.platform.permissions import Permission
from crm_core.platform.search_keys import name_key

EDITABLE_FIELDS: tuple[str, ...] = (
    "name",
    "phone",
    "external_id",
    "email",
    "wechat",
    "qq",
    "region",
    "city",
    "channel",
    "campaign",
    "landing_page",
    "keyword",
)

# Column lengths of the text fields, as the intake checks them (the phone is checked by
# normalising it instead; the channel must be a known code).
MAX_LENGTHS: dict[str, int] = {**TEXT_FIELDS, "channel": 40}


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _holder(session: Session, column, value: str, lead_id: int) -> tuple[int, int | None] | None:
    """(id, merged_into_id) of another lead whose `column` holds `value`, or None."""
    row = session.exec(
        select(Lead.id, Lead.merged_into_id).where(column == value, Lead.id != lead_id)
    ).first()
    return None if row is None else (row[0], row[1])


def _check_free(
    session: Session,
    actor: Actor,
    column,
    value: str,
    lead_id: int,
    messages: tuple[str, str, str],
) -> None:
    """Refuse a phone / external id another lead holds, naming the lead to merge with.

    A merged lead keeps its number so the intake can follow it to the surviving lead; that
    surviving lead is the one to name - when the actor reaches it. One lead per number
    means the refusal itself cannot be avoided, but outside the scope the lead is not
    named, as a payment reference held elsewhere is not. `messages`: taken by a lead
    named, taken outside the actor's reach, merged into this one.
    """
    taken, elsewhere, merged = messages
    holder = _holder(session, column, value, lead_id)
    if holder is None:
        return
    holder_id, merged_into = holder
    if merged_into == lead_id:
        raise ValidationError(merged, lead_id=holder_id)
    named = merged_into or holder_id
    reached = session.exec(
        select(Lead.id).where(Lead.id == named, lead_scope(actor, per_lead=True))
    ).first()
    if reached is None:
        raise ValidationError(elsewhere)
    raise ValidationError(taken, lead_id=named)


def _changes(
    session: Session, actor: Actor, lead: Lead, changes: Mapping[str, str | None]
) -> dict[str, str | None]:
    """The cleaned values of the fields that differ from what the lead holds; a channel or
    campaign the list knows is taken in the list's spelling (`google` -> `Google`); a
    contact value sent back as the mask the actor was shown is no change."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(N_("{field} cannot be edited on a lead."), field=unknown[0])
    masked = not sees_full_contact(actor)
    changed: dict[str, str | None] = {}
    for field in EDITABLE_FIELDS:
        if field not in changes:
            continue
        value = _clean(changes[field])
        if (
            masked
            and field in CONTACT_FIELDS
            and value is not None
            and value == mask_contact(field, getattr(lead, field))
        ):
            continue
        if field == "phone" and value is not None:
            phone = normalise_phone(value)
            if phone is None:
                # The error text may end up in logs; never echo a whole number. The form
                # that sent it still holds what was typed and shows that (`BAD_PHONE`).
                raise ValidationError(BAD_PHONE, phone=mask_phone(value))
            value = phone
        elif field in ("channel", "campaign") and value is not None:
            option = find_option(session, field, value)
            value = option.code if option is not None else value
        if value != getattr(lead, field):
            changed[field] = value
    return changed


def _validate(session: Session, actor: Actor, lead: Lead, changed: dict[str, str | None]) -> None:
    if "name" in changed and changed["name"] is None:
        raise ValidationError(N_("A name is required."))
    for field, value in changed.items():
        limit = MAX_LENGTHS.get(field)
        if value is not None and limit is not None and len(value) > limit:
            raise ValidationError(
                N_("{field} has at most {max} characters."), field=field, max=limit
            )
    if "channel" in changed:
        channel = changed["channel"]
        if channel is None:
            raise ValidationError(N_("A channel is required."))
        if channel not in {option.code for option in list_options(session, "channel")}:
            raise ValidationError(N_("Unknown or disabled channel {channel}."), channel=channel)
    if changed.get("campaign") is not None:
        # By hand, only a campaign of the list: an administrator adds new ones.
        require_choosable(session, "campaign", changed["campaign"])
    phone = changed.get("phone", lead.phone)
    external_id = changed.get("external_id", lead.external_id)
    if phone is None and external_id is None:
        raise ValidationError(N_("A lead needs a phone number or an external id."))
    if changed.get("phone") is not None:
        _check_free(
            session,
            actor,
            Lead.phone,
            changed["phone"],
            lead.id,
            (
                N_("This number belongs to lead #{lead_id}. Merge the two leads instead."),
                N_(
                    "This number belongs to a lead outside your reach. Ask a manager who"
                    " reaches both leads to merge them."
                ),
                N_("This number belongs to lead #{lead_id}, which was merged into this one."),
            ),
        )
    if changed.get("external_id") is not None:
        _check_free(
            session,
            actor,
            Lead.external_id,
            changed["external_id"],
            lead.id,
            (
                N_("This external id belongs to lead #{lead_id}. Merge the two leads instead."),
                N_(
                    "This external id belongs to a lead outside your reach. Ask a manager"
                    " who reaches both leads to merge them."
                ),
                N_("This external id belongs to lead #{lead_id}, which was merged into this one."),
            ),
        )


def _audit_value(field: str, value: str | None) -> str | None:
    return (mask_contact(field, value) or None) if field in CONTACT_FIELDS else value


BAD_PHONE = N_("{phone} is not a valid phone number.")


def update_lead(
    session: Session, actor: Actor, lead_id: int, changes: Mapping[str, str | None]
) -> Lead:
    """Change fields of a lead in the actor's scope (`changes`: field -> new text, blank or
    None to clear); requires create_leads. Flushes (the caller commits) and returns the lead.

    Raises NotFound for a lead outside the scope or merged into another, ValidationError for
    an unknown field or a value the lead may not hold (the key says which rule refused);
    then nothing is changed. Changing nothing writes nothing, not even an audit entry.
    """
    actor.require(Permission.CREATE_LEADS)
    try:
        # A savepoint: a refusal or an error undoes this edit only, not the caller's
        # earlier work in the same transaction.
        with savepoint(session):
            lead = session.exec(
                select(Lead).where(
                    Lead.id == lead_id,
                    col(Lead.merged_into_id).is_(None),
                    lead_scope(actor, per_lead=True, shared=False),
                )
            ).first()
            if lead is None:
                raise NotFound(entity="lead", id=lead_id)
            changed = _changes(session, actor, lead, changes)
            if not changed:
                return lead
            _validate(session, actor, lead, changed)
            before = {field: _audit_value(field, getattr(lead, field)) for field in changed}
            for field, value in changed.items():
                setattr(lead, field, value)
            if "name" in changed:
                lead.name_key = name_key(lead.name)
            if "phone" in changed:
                lead.phone_suffix = phone_suffix(lead.phone)
                lead.no_phone = lead.phone is None
            lead.updated_at = clock.now()
            session.add(lead)
            after = {field: _audit_value(field, value) for field, value in changed.items()}
            audit.record(session, actor, "lead.update", "lead", lead.id, before, after)
            session.flush()
            return lead
    except IntegrityError as error:
        # Another edit or intake took the same phone or external id at the same moment.
        raise ValidationError(
            N_("Someone changed the same data at the same moment; please try again.")
        ) from error
