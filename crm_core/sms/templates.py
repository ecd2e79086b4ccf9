"""SMS templates and their approval: written as drafts, submitted, approved by someone holding
`approve_sms` (not their author, unless an administrator), and only then sent. Editing an
approved template sends it back to draft; a retired one stays on the send log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from crm_core.models import TEMPLATE_PURPOSES, SmsTemplate, User
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission
from crm_core.sms.texts import check_body
from crm_core.sms.words import find_words

EDITABLE = ("draft", "rejected", "approved")


@dataclass(frozen=True)
class TemplateRow:
    id: int
    name: str
    body: str
    purpose: str
    state: str
    review_note: str | None
    created_by: str | None
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None


def _require_reader(actor: Actor) -> None:
    readers = (Permission.SEND_SMS, Permission.BULK_SMS, Permission.MANAGE_SMS)
    if not any(actor.can(p) for p in (*readers, Permission.APPROVE_SMS)):
        actor.require(Permission.SEND_SMS)


def list_templates(
    session: Session, actor: Actor, *, states: tuple[str, ...] | None = None
) -> list[TemplateRow]:
    """Templates by name, optionally only those in `states` (senders see approved ones)."""
    _require_reader(actor)
    if not (actor.can(Permission.MANAGE_SMS) or actor.can(Permission.APPROVE_SMS)):
        states = ("approved",)
    author = User.__table__.alias("author")
    reviewer = User.__table__.alias("reviewer")
    query = (
        select(SmsTemplate, author.c.full_name, reviewer.c.full_name)
        .join(author, author.c.id == SmsTemplate.created_by_id, isouter=True)
        .join(reviewer, reviewer.c.id == SmsTemplate.reviewed_by_id, isouter=True)
        .order_by(SmsTemplate.name)
    )
    if states:
        query = query.where(col(SmsTemplate.state).in_(states))
    return [
        TemplateRow(
            t.id,
            t.name,
            t.body,
            t.purpose,
            t.state,
            t.review_note,
            a,
            t.created_at,
            r,
            t.reviewed_at,
        )
        for t, a, r in session.exec(query).all()
    ]


def _template(session: Session, template_id: int) -> SmsTemplate:
    template = session.get(SmsTemplate, template_id)
    if template is None:
        raise NotFound(entity="sms_template", id=template_id)
    return template


def _check(session: Session, name: str, body: str, purpose: str, template_id: int | None):
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise ValidationError(N_("Give the template a name (at most 120 characters)."))
    if purpose not in TEMPLATE_PURPOSES:
        raise ValidationError(N_("Unknown template purpose {purpose}."), purpose=purpose)
    body = check_body(body)
    clash = session.exec(
        select(SmsTemplate.id).where(SmsTemplate.name == name, SmsTemplate.id != template_id)
    ).first()
    if clash is not None:
        raise ValidationError(N_("A template named “{name}” exists already."), name=name)
    return name, body


def _snapshot(t: SmsTemplate) -> dict:
    return {"name": t.name, "body": t.body, "purpose": t.purpose, "state": t.state}


def create_template(
    session: Session, actor: Actor, *, name: str, body: str, purpose: str = "notice"
) -> SmsTemplate:
    """A new draft template (SMS managers); its variables are checked now."""
    actor.require(Permission.MANAGE_SMS)
    name, body = _check(session, name, body, purpose, None)
    template = SmsTemplate(
        name=name, body=body, purpose=purpose, created_by_id=actor.user_id, created_at=clock.now()
    )
    session.add(template)
    session.flush()
    audit.record(
        session,
        actor,
        "sms_template.create",
        "sms_template",
        template.id,
        None,
        _snapshot(template),
    )
    return template


def update_template(
    session: Session, actor: Actor, template_id: int, *, name: str, body: str, purpose: str
) -> SmsTemplate:
    """Change a template's text; an approved or rejected one goes back to draft."""
    actor.require(Permission.MANAGE_SMS)
    template = _template(session, template_id)
    if template.state == "pending":
        raise ValidationError(N_("A template waiting for approval cannot be edited."))
    if template.state not in EDITABLE:
        raise ValidationError(N_("A retired template cannot be edited."))
    before = _snapshot(template)
    template.name, template.body = _check(session, name, body, purpose, template.id)
    template.purpose = purpose
    template.state = "draft"
    template.updated_at = clock.now()
    session.add(template)
    audit.record(
        session,
        actor,
        "sms_template.update",
        "sms_template",
        template.id,
        before,
        _snapshot(template),
    )
    session.flush()
    return template


def _refuse_words(session: Session, template: SmsTemplate) -> None:
    found = find_words(session, [template.name, template.body])
    if found:
        raise ValidationError(
            N_("The template holds sensitive words: {words}."), words=", ".join(found)
        )


def submit_template(session: Session, actor: Actor, template_id: int) -> SmsTemplate:
    """Ask for approval: a draft or rejected template without sensitive words."""
    actor.require(Permission.MANAGE_SMS)
    template = _template(session, template_id)
    if template.state not in ("draft", "rejected"):
        raise ValidationError(N_("Only a draft or a rejected template can be submitted."))
    _refuse_words(session, template)
    return _move(session, actor, template, "pending", "sms_template.submit")


def _require_reviewer(actor: Actor, template: SmsTemplate) -> None:
    actor.require(Permission.APPROVE_SMS)
    if template.state != "pending":
        raise ValidationError(N_("Only a submitted template can be reviewed."))
    if template.created_by_id == actor.user_id and not actor.is_administrator:
        raise PermissionDenied(N_("A template is approved by someone other than its author."))


def approve_template(session: Session, actor: Actor, template_id: int) -> SmsTemplate:
    """Approve a submitted template for sending (its words are checked again: the list may
    have grown since it was submitted)."""
    template = _template(session, template_id)
    _require_reviewer(actor, template)
    _refuse_words(session, template)
    template.review_note = None
    return _move(session, actor, template, "approved", "sms_template.approve")


def reject_template(session: Session, actor: Actor, template_id: int, note: str) -> SmsTemplate:
    """Send a submitted template back to its author with the reason."""
    template = _template(session, template_id)
    _require_reviewer(actor, template)
    note = " ".join((note or "").split())
    if not note:
        raise ValidationError(N_("Say why the template is rejected."))
    template.review_note = note[:400]
    return _move(session, actor, template, "rejected", "sms_template.reject")


def retire_template(session: Session, actor: Actor, template_id: int) -> SmsTemplate:
    """Stop using a template; messages already sent keep pointing at it."""
    actor.require(Permission.MANAGE_SMS)
    template = _template(session, template_id)
    if template.state == "retired":
        return template
    return _move(session, actor, template, "retired", "sms_template.retire")


def _move(session: Session, actor: Actor, template: SmsTemplate, state: str, action: str):
    before = template.state
    template.state = state
    now = clock.now()
    template.updated_at = now
    if action in ("sms_template.approve", "sms_template.reject"):
        template.reviewed_by_id = actor.user_id
        template.reviewed_at = now
    session.add(template)
    audit.record(session, actor, action, "sms_template", template.id, before, state)
    session.flush()
    return template


def approved_template(session: Session, template_id: int) -> SmsTemplate:
    """The template to send, or ValidationError when it is not approved."""
    template = _template(session, template_id)
    if template.state != "approved":
        raise ValidationError(
            N_("Only an approved template is sent: “{name}” is not approved."), name=template.name
        )
    return template
