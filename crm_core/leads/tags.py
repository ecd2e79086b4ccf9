"""Lead tags (客户标签): labels from the tag catalogue on leads, one by one or over a whole search.

A tag is an entry of the `tag` option list (its code, the tag's own words), stored once per
lead (`LeadTag`, primary key lead + tag). Tagging by hand offers the catalogue's active tags;
a tag not in the catalogue is added to it only by someone who manages metadata (it is then
audited as a new option), others are refused. Tags arriving with leads from a form or an
import join the catalogue by themselves (`crm_core.leads.intake.catalogue`). A disabled tag
stays on the leads that have it and can be removed, but not put on more leads. Reps and
importers tag the leads they reach; bulk tagging runs over exactly the leads that
`lead_search.lead_conditions` matches for the actor - every match in scope, not only the
page on screen - as one INSERT ... SELECT or one DELETE, whatever the number of leads.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, delete, exists, insert, literal, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from crm_core.leads.masking import mask_any_phone, mask_email, mask_handle
from crm_core.leads.search import LeadFilter, lead_conditions
from crm_core.models import Lead, LeadTag
from crm_core.org.access import lead_scope
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import create_option, find_option
from crm_core.platform.permissions import Permission

MAX_TAG_LENGTH = 60  # LeadTag.tag's column length
# Either permission lets a person tag one lead (a rep creating leads, marketing curating
# customers); bulk work needs the importer's or marketing's permission.
TAG_PERMISSIONS = (Permission.CREATE_LEADS, Permission.MANAGE_CUSTOMERS)
BULK_TAG_PERMISSIONS = (Permission.IMPORT_LEADS, Permission.MANAGE_CUSTOMERS)


def normalise_tag(text: str | None) -> str:
    """The tag as stored: stripped, inner whitespace collapsed to one space.

    Raise ValidationError `tags.error.empty` for nothing but blanks and `tags.error.too_long`
    beyond 60 characters, so "VIP  2024" and " VIP 2024" are the same tag.
    """
    tag = " ".join((text or "").split())
    if not tag:
        raise ValidationError(N_("A tag cannot be empty."))
    if len(tag) > MAX_TAG_LENGTH:
        raise ValidationError(N_("A tag has at most {max} characters."), max=MAX_TAG_LENGTH)
    return tag


TAG_UNKNOWN = N_("“{tag}” is not in the tag catalogue. An administrator can add it.")
TAG_DISABLED = N_("The tag “{tag}” is disabled and can no longer be given.")


def catalogue_tag(session: Session, actor: Actor, text: str | None) -> str:
    """The stored form of a tag to give: the catalogue entry it names (any case or width).
    A tag not in the catalogue is added to it when the actor manages metadata (audited),
    refused otherwise; a disabled tag is refused."""
    tag = normalise_tag(text)
    option = find_option(session, "tag", tag)
    if option is not None:
        if not option.active:
            raise ValidationError(TAG_DISABLED, tag=option.label_en)
        return option.code
    if actor.can(Permission.MANAGE_METADATA):
        return create_option(session, actor, "tag", label_en=tag).code
    raise ValidationError(TAG_UNKNOWN, tag=tag)


def stored_tag(session: Session, text: str | None) -> str:
    """The stored form of a tag to take off: its catalogue code, disabled or not."""
    tag = normalise_tag(text)
    option = find_option(session, "tag", tag)
    return option.code if option is not None else tag


def filter_for_audit(lead_filter: LeadFilter) -> dict[str, Any]:
    """`lead_filter` as a JSON-ready dict for the audit log: dates as ISO strings, and a
    searched phone number, e-mail or QQ number masked, because the audit never holds a
    whole contact value. (A WeChat id reads like a name and is kept as typed.)"""
    record: dict[str, Any] = {}
    for name, value in dataclasses.asdict(lead_filter).items():
        if name == "custom":
            # Custom-field conditions as "code operator value", dates as ISO strings.
            record[name] = [
                [c["field_code"], c["operator"], _json_ready(c["value"])] for c in value
            ]
            continue
        record[name] = value.isoformat() if isinstance(value, date) else value
    text = (record.get("text") or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    # Seven or more digits is what the search reads as a full phone (see lead_search).
    if len(digits) >= 7:
        record["text"] = mask_any_phone(text)
    elif "@" in text:
        # What the search reads as a whole e-mail (`search_text`).
        record["text"] = mask_email(text)
    elif len(digits) >= 5 and digits == text:
        # The shortest QQ numbers.
        record["text"] = mask_handle(text)
    return record


def _json_ready(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json_ready(v) for v in value]
    return value


def _require_any(actor: Actor, permissions: tuple[Permission, ...]) -> None:
    if not any(actor.can(p) for p in permissions):
        raise PermissionDenied(permission=" | ".join(str(p) for p in permissions))


def _visible_lead(session: Session, actor: Actor, lead_id: int) -> int:
    """The id of a lead the actor reaches; NotFound otherwise (scope never leaks existence)."""
    found = session.exec(
        select(Lead.id).where(
            Lead.id == lead_id,
            col(Lead.merged_into_id).is_(None),
            lead_scope(actor, per_lead=True, shared=False),
        )
    ).first()
    if found is None:
        raise NotFound(entity="lead", id=lead_id)
    return found


def _insert_tags(session: Session, tag: str, where: list[ColumnElement[bool]]) -> int:
    """INSERT INTO lead_tag SELECT the leads matching `where` that lack `tag`; how many rows
    went in. One statement whatever the number of leads."""
    already = exists().where(LeadTag.lead_id == Lead.id, LeadTag.tag == tag)
    # A typed literal: PostgreSQL cannot infer the type of a bare parameter in a SELECT list.
    tag_value = cast(literal(tag), LeadTag.__table__.c.tag.type)
    source = select(Lead.id, tag_value).where(*where, ~already)
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        # NOT EXISTS gives the count; ON CONFLICT keeps a concurrent tagging of the same
        # lead from failing the whole statement (both databases accept it after a WHERE).
        make = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            make(LeadTag)
            .from_select(["lead_id", "tag"], source)
            .on_conflict_do_nothing(index_elements=["lead_id", "tag"])
        )
    else:
        statement = insert(LeadTag).from_select(["lead_id", "tag"], source)
    # SQLAlchemy keeps the row count of an INSERT only when asked (PostgreSQL gives -1).
    statement = statement.execution_options(preserve_rowcount=True)
    return int(session.execute(statement).rowcount or 0)


def _delete_tags(session: Session, tag: str, lead_ids: list[int] | Select) -> int:
    """DELETE `tag` from the leads whose ids `lead_ids` selects; how many rows went."""
    statement = (
        delete(LeadTag)
        .where(LeadTag.tag == tag, col(LeadTag.lead_id).in_(lead_ids))
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(statement).rowcount or 0)


def add_tag(session: Session, actor: Actor, lead_id: int, tag: str) -> str:
    """Put `tag` on one lead in the actor's scope and return the tag as stored.

    Requires create_leads or manage_customers. A tag the lead already has changes nothing and
    writes no audit entry; otherwise `lead.tag` is audited. Flushes; the caller commits.
    """
    _require_any(actor, TAG_PERMISSIONS)
    _visible_lead(session, actor, lead_id)
    tag = catalogue_tag(session, actor, tag)
    added = _insert_tags(session, tag, [Lead.id == lead_id])
    if added:
        audit.record(session, actor, "lead.tag", "lead", lead_id, None, {"tag": tag})
    session.flush()
    return tag


def remove_tag(session: Session, actor: Actor, lead_id: int, tag: str) -> None:
    """Take `tag` off one lead in the actor's scope.

    Requires create_leads or manage_customers. Removing a tag the lead does not have changes
    nothing and writes no audit entry; otherwise `lead.untag` is audited. Flushes; the caller
    commits.
    """
    _require_any(actor, TAG_PERMISSIONS)
    tag = stored_tag(session, tag)
    _visible_lead(session, actor, lead_id)
    removed = _delete_tags(session, tag, [lead_id])
    if removed:
        audit.record(session, actor, "lead.untag", "lead", lead_id, {"tag": tag}, None)
    session.flush()


def bulk_tag(session: Session, actor: Actor, lead_filter: LeadFilter, tag: str) -> int:
    """Put `tag` on every lead that `lead_filter` matches in the actor's scope (all matches,
    not one page) and return how many leads gained it; leads that had it are not counted.

    Requires import_leads or manage_customers. One INSERT ... SELECT; audited as
    `lead.bulk_tag` with the tag, the count and the filter. Flushes; the caller commits.
    """
    _require_any(actor, BULK_TAG_PERMISSIONS)
    tag = catalogue_tag(session, actor, tag)
    added = _insert_tags(session, tag, lead_conditions(actor, lead_filter, shared=False))
    after = {"tag": tag, "count": added, "filter": filter_for_audit(lead_filter)}
    audit.record(session, actor, "lead.bulk_tag", "lead", None, None, after)
    session.flush()
    return added


def bulk_untag(session: Session, actor: Actor, lead_filter: LeadFilter, tag: str) -> int:
    """Take `tag` off every lead that `lead_filter` matches in the actor's scope and return
    how many leads lost it.

    Requires import_leads or manage_customers. One DELETE; audited as `lead.bulk_untag` with
    the tag, the count and the filter. Flushes; the caller commits.
    """
    _require_any(actor, BULK_TAG_PERMISSIONS)
    tag = stored_tag(session, tag)
    matching = select(Lead.id).where(*lead_conditions(actor, lead_filter, shared=False))
    removed = _delete_tags(session, tag, matching)
    after = {"tag": tag, "count": removed, "filter": filter_for_audit(lead_filter)}
    audit.record(session, actor, "lead.bulk_untag", "lead", None, None, after)
    session.flush()
    return removed


def list_tags(session: Session, actor: Actor, *, limit: int = 500) -> list[str]:
    """The tags in use, sorted, at most `limit` of them (for a tag picker); requires
    view_leads. The tag names are the company's vocabulary, so the list is company-wide;
    which leads carry a tag stays within the scope of every search.

    A loose index scan (one index seek per distinct tag), because the picker is drawn on
    every run of the library page and a plain DISTINCT reads every tagged lead."""
    actor.require(Permission.VIEW_LEADS)
    rows = session.execute(
        text(
            "WITH RECURSIVE t(tag) AS ("
            " SELECT min(tag) FROM lead_tag"
            " UNION ALL"
            " SELECT (SELECT min(tag) FROM lead_tag WHERE tag > t.tag) FROM t"
            " WHERE t.tag IS NOT NULL)"
            " SELECT tag FROM t WHERE tag IS NOT NULL LIMIT :limit"
        ),
        {"limit": max(0, limit)},
    )
    return [tag for (tag,) in rows]
