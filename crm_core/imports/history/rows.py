"""Reading a history file column by column (the spec's `read_columns`): what each row says,
before the database is asked who its people are (`check.py`).

Each column is cleaned once and each distinct cell read once (the engine's `ColumnReader`);
the option columns read through value mapping (`reader.codes`), the times in the file's
zone. A row gets the first thing it gets wrong as its reason (no id, an id the file repeats,
a value mapped onto no option, a date that is no date, a win the importer may not bring as
revenue, an amount that is no amount): later checks depend on what went before. What real
exports hold and the product can keep is a notice on the row instead (a win without an
amount counts with no revenue), shown only when the row is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, select

from crm_core.imports.engine import ColumnReader
from crm_core.imports.history.columns import CLOSED, OPTION_FIELDS, HistorySettings
from crm_core.imports.history.library import email_key, phone_key
from crm_core.imports.value_mapping import value_key
from crm_core.models import Lead, Opportunity
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import list_business_lines
from crm_core.platform.permissions import Permission

MAX_ID = 60  # the source's id; with the source prefix it fits the 80-character columns
ALREADY_OPEN = N_("This person already has an open opportunity in this business line.")
IMPORTED, ALREADY_IMPORTED = "imported", "already_imported"  # the good rows' categories
REVENUE = N_("A won opportunity brings revenue: importing it needs the right to record payments.")
UNMAPPED = {
    "stage": N_("{value} is not mapped onto a stage."),
    "channel": N_("{value} is not mapped onto a channel."),
    "lost_reason": N_("{value} is not mapped onto a lost reason."),
    "business_line": N_("{value} is not mapped onto a business line."),
    "intention_level": N_("{value} is not mapped onto an intention level."),
}
NO_AMOUNT = N_("A win without an amount: counted with no revenue.")

Note = tuple[str, str, dict[str, Any]]  # (field, reason, params): a notice on a kept row


@dataclass
class HistoryRow:
    """One good row. As read: the source's id, the codes its option cells map onto, its
    times (None where the file gives none), the people it names. The check then fills in
    `owner`, `qualifier` and `unit` (keys of the plan: an existing id, a planned new one
    (str), or None: the pool or dispatch), the stored lead the row's person is (`lead_id`),
    the stored opportunity it is written onto (`takeover`), its pool state and the
    furthest stage it proves. `category`: imported, or already_imported (skipped)."""

    row: int
    external_id: str
    category: str = IMPORTED
    name: str = ""
    stage: str = "new"
    created_at: datetime | None = None
    closed_at: datetime | None = None
    amount: Decimal | None = None
    owner_name: str | None = None
    qualifier_name: str | None = None
    team_name: str | None = None
    owner: int | str | None = None
    unit: int | str | None = None
    qualifier: int | str | None = None
    stage_before: str | None = None
    furthest: str = "new"
    pool_state: str = "owned"
    lost_reason: str | None = None
    channel: str | None = None
    campaign: str | None = None
    landing_page: str | None = None
    lead_external_id: str | None = None
    phone: str | None = None
    email: str | None = None
    # The first of lead id / phone / e-mail the row gives: the column a refusal names.
    person_field: str | None = None
    lead_id: int | None = None
    takeover: int | None = None
    business_line_id: int = 0
    intention_level: str | None = None
    notes: list[Note] = field(default_factory=list)
    zone: Any = None  # the file's zone: a notice shows a date as the file gives it


def external_key(source: str, source_id: str) -> str:
    """The id an imported opportunity (and a lead without a lead id) is stored under."""
    return f"{source}:{source_id}"


def parse_amount(text: str) -> Decimal:
    """An amount as other CRMs export it (`1,200`, `¥300`); refuses a negative one."""
    value = Decimal(re.sub(r"[,\s¥$€￥]", "", text))
    if not value.is_finite() or value < 0:
        raise InvalidOperation(text)
    return value.quantize(Decimal("0.01"))


def _known(session: Session, ids: list[str]) -> set[str]:
    """Which external ids are stored already (on an opportunity or a lead): chunked IN lists."""
    known: set[str] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for column in (Opportunity.external_id, Lead.external_id):
            known.update(session.exec(select(column).where(col(column).in_(chunk))).all())
    return known


class _Codes:
    """A row's option cells as codes (value mapping), or the reason it maps onto none."""

    def __init__(self, reader: ColumnReader) -> None:
        self.reader = reader
        self.texts = {name: reader.text(name) for name in OPTION_FIELDS}
        self.codes = {name: reader.codes.get(name, {}) for name in OPTION_FIELDS}

    def code(self, name: str, position: int) -> tuple[str | None, str | None]:
        """(code, None), (None, None) for a blank cell, or (None, the cell) unmapped."""
        text = self.texts[name][position]
        if text is None:
            return None, None
        found = self.codes[name].get(value_key(text))
        return (found, None) if found is not None else (None, text)


def read_history(session: Session, actor: Actor, reader: ColumnReader) -> list[HistoryRow]:
    """The file's rows as `HistoryRow`s, rows imported before among them (category
    `already_imported`); a bad row gets its first reason (`reader.bad`) and is left out."""
    settings: HistorySettings = reader.settings or HistorySettings()
    ids = reader.text("external_id")
    known = _known(
        session,
        sorted({external_key(settings.source, i) for i in ids if i and len(i) <= MAX_ID}),
    )
    codes = _Codes(reader)
    created, created_bad = reader.typed("created_at")
    closed, closed_bad = reader.typed("closed_at")
    texts = {
        name: reader.text(name)
        for name in (
            "name",
            "amount",
            "owner",
            "qualifier",
            "team",
            "campaign",
            "landing_page",
            "lead_id",
            "phone",
            "email",
        )
    }
    lines = {line.code: line.id for line in list_business_lines(session, active_only=False)}
    default_stage = reader.default("stage")
    default_line = reader.default("business_line")
    # A won row becomes a paid order, i.e. revenue on the dashboards: only someone who may
    # record payments may bring revenue in, as by hand or by the payment import.
    may_record_revenue = actor.can(Permission.RECORD_PAYMENTS)
    amounts: dict[str, Decimal | None] = {}
    first_row: dict[str, int] = {}
    rows: list[HistoryRow] = []
    for position, number in enumerate(reader.numbers):

        def bad(name: str, key: str, position: int = position, **params: Any) -> None:
            reader.bad(position, name, key, **params)

        source_id = ids[position]
        if not source_id:
            bad("external_id", N_("No opportunity id."))
            continue
        if len(source_id) > MAX_ID:
            bad("external_id", N_("The id is longer than {max} characters."), max=MAX_ID)
            continue
        if source_id in first_row:
            bad("external_id", N_("The same id as row {first}."), first=first_row[source_id])
            continue
        first_row[source_id] = number
        if reader.is_bad(position):
            continue  # a custom field's cell that does not read: its reason says it
        if external_key(settings.source, source_id) in known:
            rows.append(HistoryRow(number, source_id, ALREADY_IMPORTED))
            continue
        stage, text = codes.code("stage", position)
        if text is not None:
            bad("stage", UNMAPPED["stage"], value=text)
            continue
        stage = stage or default_stage
        if not stage:
            bad("stage", N_("No stage."))
            continue
        found: dict[str, str | None] = dict.fromkeys(OPTION_FIELDS)
        unmapped = None
        for name in ("stage_before", "lost_reason", "channel", "business_line", "intention_level"):
            if name == "lost_reason" and stage != "lost":
                continue  # only a lost row's reason is kept, so only its reason must map
            found[name], text = codes.code(name, position)
            if text is not None:
                unmapped = (name, text)
                break
        if unmapped is not None:
            name, text = unmapped
            bad(name, UNMAPPED[OPTION_FIELDS[name]], value=text)
            continue
        line = found["business_line"] or default_line
        if line is None:
            bad("business_line", N_("No business line: choose one for the whole file."))
            continue
        if position in created_bad or position in closed_bad:
            name = "created_at" if position in created_bad else "closed_at"
            key, params = (created_bad if name == "created_at" else closed_bad)[position]
            bad(name, key, **params)
            continue
        if stage == "won" and not may_record_revenue:
            bad("stage", REVENUE)
            continue
        row = HistoryRow(
            number,
            source_id,
            name=(texts["name"][position] or source_id)[:120],
            stage=stage,
            created_at=created[position],
            closed_at=closed[position] if stage in CLOSED else None,
            owner_name=texts["owner"][position],
            qualifier_name=texts["qualifier"][position],
            team_name=texts["team"][position],
            stage_before=found["stage_before"],
            lost_reason=found["lost_reason"],
            channel=found["channel"],
            campaign=texts["campaign"][position],
            landing_page=texts["landing_page"][position],
            lead_external_id=texts["lead_id"][position],
            business_line_id=lines[line],
            intention_level=found["intention_level"],
            zone=reader.zone,
        )
        row.phone = phone_key(texts["phone"][position])
        row.email = email_key(texts["email"][position])
        row.person_field = next(
            (n for n in ("lead_id", "phone", "email") if texts[n][position]), None
        )
        if stage == "won":
            text = texts["amount"][position]
            if not text:
                row.amount = Decimal(0)
                row.notes.append(("amount", NO_AMOUNT, {}))
            else:
                if text not in amounts:
                    try:
                        amounts[text] = parse_amount(text)
                    except (InvalidOperation, ValueError):
                        amounts[text] = None
                if amounts[text] is None:
                    bad("amount", N_("Not an amount of money: {value}."), value=text)
                    continue
                row.amount = amounts[text]
        rows.append(row)
    return rows
