"""Exporting leads to CSV or XLSX: the leads of a search, as the actor may see them.

The set is `lead_search.lead_conditions` - the same leads the search page shows - read in
keyset-paged chunks through `lead_search.lead_rows`, so a large export costs a few queries
per 2,000 leads and never one per lead, and contact values (phone, e-mail, WeChat id, QQ
number) come out masked exactly as on screen.
Every text cell is neutralised against formula injection; the export is audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from crm_core.custom_fields.definitions import field_label
from crm_core.custom_fields.export import custom_cells
from crm_core.custom_fields.filters import broad_conditions, check_conditions
from crm_core.custom_fields.values import values_for
from crm_core.custom_fields.visibility import fields_visible_to
from crm_core.leads.search import SORTS, LeadFilter, LeadRow, lead_conditions, lead_rows
from crm_core.leads.tags import filter_for_audit
from crm_core.models import Lead
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.cells import neutralise_cell
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_, label_of, translate
from crm_core.platform.metadata import list_options, option_label
from crm_core.platform.option_values import option_labels
from crm_core.platform.permissions import Permission
from crm_core.platform.settings import get_setting

EXPORT_FORMATS = ("csv", "xlsx")
MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK_SIZE = 2000  # leads per query: bounded memory and IN (...) lists on every driver
COLUMNS = (
    "id",
    "name",
    "phone",
    "external_id",
    "channel",
    "campaign",
    "region",
    "city",
    "created_at",
    "tags",
    "opportunities",
    # Last, so the columns files had before keep their places.
    "email",
    "wechat",
    "qq",
)


@dataclass(frozen=True)
class LeadExport:
    """A finished export: the file's bytes and name, and whether the row limit cut it."""

    data: bytes
    filename: str
    mime: str
    rows: int
    truncated: bool  # True: more leads matched than `export.max_rows` allowed


def export_headers(language: str) -> list[str]:
    """The export's column headers in `language`."""
    return [translate(label_of("export.column", name), language) for name in COLUMNS]


def export_leads(
    session: Session,
    actor: Actor,
    lead_filter: LeadFilter,
    fmt: str,
    language: str,
    *,
    sort: str = "newest",
) -> LeadExport:
    """The leads matching `lead_filter` in the actor's scope as a CSV or XLSX file, headers
    and labels in `language`, in the order `sort` (as the search page sorts).

    Requires export_leads. At most the setting `export.max_rows` leads; `truncated` says more
    matched. Audited as `lead.export` with the row count, format and filter. Flushes: the
    caller commits before it hands the file out, so no export leaves without its audit entry.
    """
    actor.require(Permission.EXPORT_LEADS)
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(N_("Unknown export format {fmt}."), fmt=fmt)
    if sort not in SORTS:
        raise ValidationError(N_("Unknown sort order {sort}."), sort=sort)
    check_conditions(session, actor, lead_filter.custom)
    # Chunks walk the order's index: a value many leads share is asked per lead.
    broad_custom = broad_conditions(session, lead_filter.custom, CHUNK_SIZE)
    conditions = lead_conditions(actor, lead_filter, broad_custom=broad_custom)
    # Every field the reader sees gets a column, disabled ones too: their values stay.
    fields = fields_visible_to(session, actor, "lead", include_disabled=True)
    max_rows = int(get_setting(session, "export.max_rows"))
    channels = {
        option.code: option_label(option, language)
        for option in list_options(session, "channel", active_only=False)
    }
    # Campaigns, tags and stages read as their lists name them (disabled entries too).
    words = {c: option_labels(session, c, language) for c in ("campaign", "tag", "stage")}
    sheet = _CsvSheet() if fmt == "csv" else _XlsxSheet(translate("Leads", language))
    sheet.append(export_headers(language) + [field_label(f, language) for f in fields])
    written, truncated = 0, False
    last: Lead | None = None
    while True:
        # One row past the limit tells whether the limit cut the export.
        wanted = min(CHUNK_SIZE, max_rows + 1 - written)
        query = select(Lead).where(*conditions)
        if last is not None:
            query = query.where(_after(last, sort))
        leads = list(session.exec(query.order_by(*_order(sort)).limit(wanted)).all())
        if written + len(leads) > max_rows:
            leads, truncated = leads[: max_rows - written], True
        custom = values_for(
            session, actor, "lead", [lead.id for lead in leads], include_disabled=True
        )
        for row in lead_rows(session, actor, leads):
            cells = _cells(row, channels, words, language)
            sheet.append(cells + custom_cells(fields, custom.get(row.id, {}), language))
        written += len(leads)
        if truncated or len(leads) < wanted or not leads:
            break
        last = leads[-1]
    now = clock.now()
    after = {
        "rows": written,
        "format": fmt,
        "truncated": truncated,
        "sort": sort,
        "filter": filter_for_audit(lead_filter),
    }
    audit.record(session, actor, "lead.export", "lead", None, None, after)
    session.flush()
    return LeadExport(
        data=sheet.finish(),
        filename=f"leads-{now:%Y%m%d-%H%M}.{fmt}",
        mime=MIME_TYPES[fmt],
        rows=written,
        truncated=truncated,
    )


def _order(sort: str) -> tuple:
    # The search page's orders (lead_search), each ending on the id so the key is unique.
    if sort == "oldest":
        return (col(Lead.created_at).asc(), col(Lead.id).asc())
    if sort == "name":
        return (col(Lead.name_key).asc(), col(Lead.id).asc())
    return (col(Lead.created_at).desc(), col(Lead.id).desc())


def _after(last: Lead, sort: str) -> ColumnElement[bool]:
    """The keyset condition: leads that come after `last` in the order `sort`. Spelled out
    with OR/AND rather than a row-value comparison so that both databases use the index."""
    if sort == "name":
        key, value, ascending = Lead.name_key, last.name_key, True
    else:
        key, value, ascending = Lead.created_at, last.created_at, sort == "oldest"
    if ascending:
        return or_(key > value, and_(key == value, Lead.id > last.id))
    return or_(key < value, and_(key == value, Lead.id < last.id))


def _opportunities(row: LeadRow, stages: dict[str, str], language: str) -> str:
    """ "business line: owner / stage / pool" per visible opportunity, joined with "; "."""
    parts = []
    for opp in row.opportunities:
        owner = opp.owner_name or translate("no owner", language)
        parts.append(
            f"{opp.business_line}: {owner} / {stages.get(opp.stage) or _label('stage', opp.stage, language)}"
            f" / {_label('pool', opp.pool_state, language)}"
        )
    return "; ".join(parts)


def _label(family: str, code: str, language: str) -> str:
    # A business line's own stage may have no translation: its code shows as itself.
    return translate(label_of(family, code), language)


def _cells(
    row: LeadRow, channels: dict[str, str], words: dict[str, dict[str, str]], language: str
) -> list[object]:
    values: list[object] = [
        row.id,
        row.name,
        row.phone,
        row.external_id or "",
        channels.get(row.channel, row.channel),
        words["campaign"].get(row.campaign or "", row.campaign or ""),
        row.region or "",
        row.city or "",
        row.created_at.replace(microsecond=0),
        ", ".join(words["tag"].get(tag, tag) for tag in row.tags),
        _opportunities(row, words["stage"], language),
        row.email,
        row.wechat,
        row.qq,
    ]
    # Control characters go first (XLSX cannot hold them), so that "\x01=cmd" cannot shed
    # its first character after the formula check and start with "=" in the file.
    return [
        neutralise_cell(ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v)
        for v in values
    ]


class _CsvSheet:
    """CSV in UTF-8 with a byte-order mark: without it Excel reads Chinese as mojibake."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def append(self, values: Sequence[object]) -> None:
        self._writer.writerow(
            [v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in values]
        )

    def finish(self) -> bytes:
        return self._buffer.getvalue().encode("utf-8-sig")


class _XlsxSheet:
    """A write-only workbook: rows stream to a temporary file instead of living as cells."""

    def __init__(self, title: str) -> None:
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title)

    def append(self, values: Sequence[object]) -> None:
        self._sheet.append(list(values))

    def finish(self) -> bytes:
        buffer = io.BytesIO()
        self._book.save(buffer)
        return buffer.getvalue()
