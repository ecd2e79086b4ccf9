"""The history import row by row: channel and campaign columns (case-insensitive, unknown
ones bad), rows without a known owner to the pool or to dispatch, unknown closers of closed
rows as resigned accounts, the stages a row proves (stage before lost, who qualified) and
no invented trial lessons, lost reasons, and people already in the lead library."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import func, select

from crm_core.imports.history import (
    HistoryOptions,
    guess_columns,
    preview_history,
    run_history_import,
)
from crm_core.imports.history.rows import ALREADY_OPEN
from crm_core.imports.leads import ImportOptions, run_import
from crm_core.imports.leads import guess_columns as guess_lead_columns
from crm_core.imports.tabular import read_table
from crm_core.models import Lead, Opportunity, StageHistory, User
from crm_core.platform.metadata import create_option, find_option
from tests.factories import SYSTEM, build_small_company

FILE = """id,owner,stage,stage before lost,lost reason,created,closed,amount,source,campaign,qualified by,phone,email,name
P1,,Engaging,,,2025-01-02,,,Google,Spring,,,,Ann
P2,Ghost Rep,Prospecting,,,2025-01-02,,,SEM,,,,,Bob
P3,Ghost Rep,Lost,Engaging,Price too high,2025-01-02,2025-01-09,,sem,,Rep A2,,,Cy
P4,Rep A1,Won,,,2025-01-03,2025-01-10,500,SEM,,,,,Di
P5,Rep A1,Lost,,,2025-01-03,2025-01-10,,Tiktok,,,,,Ed
P6,Rep A1,Lost,,Bad weather,2025-01-03,2025-01-10,,SEM,,,,,Ed
P7,Rep A1,Won,,,2025-01-03,2025-01-12,100,SEM,,,139 0000 0009,,Fay
P8,Rep A1,Engaging,,,2025-01-03,,,SEM,,,,GUS@example.com,Gus
P9,Rep A1,Engaging,,,2025-01-03,,,SEM,,,13900000009,,Fay
"""
LEADS = "name,phone,email\nFay,13900000009,\nGus,13900000010,gus@example.com\n"


def _setup(db):
    company = build_small_company(db)
    create_option(db, SYSTEM, "channel", label_en="Google", code="google")
    admin = company.actor(db, "admin")
    leads = read_table(LEADS.encode(), "leads.csv")
    options = ImportOptions(
        mapping=guess_lead_columns(leads.columns),
        default_channel="seo",
        default_line_codes=(company.line.code,),
    )
    assert run_import(db, admin, leads, options).counts["created"] == 2
    # Fay's opportunity has been worked since: it is hers, not the file's to close.
    fay = db.exec(select(Lead).where(Lead.name == "Fay")).one()
    worked = db.exec(select(Opportunity).where(Opportunity.lead_id == fay.id)).one()
    worked.first_follow_up_at = datetime(2026, 1, 5)
    db.add(worked)
    db.commit()
    frame = read_table(FILE.encode(), "history.csv")
    return company, admin, frame


def _options(company, frame, **changes) -> HistoryOptions:
    values = dict(
        mapping=guess_columns(frame.columns),
        business_line_id=company.line.id,
        parent_unit_id=company.units["hq"].id,
        create_missing=True,
    )
    values.update(changes)
    return HistoryOptions(**values)


def _by_id(db) -> dict[str, Opportunity]:
    return {o.external_id: o for o in db.exec(select(Opportunity)).all() if o.external_id}


def test_the_columns_map_themselves(db):
    frame = read_table(FILE.encode(), "history.csv")
    mapping = guess_columns(frame.columns)
    assert {k: v for k, v in mapping.items() if v} == {
        "external_id": "id",
        "owner": "owner",
        "qualifier": "qualified by",
        "stage": "stage",
        "stage_before": "stage before lost",
        "lost_reason": "lost reason",
        "created_at": "created",
        "closed_at": "closed",
        "amount": "amount",
        "name": "name",
        "channel": "source",
        "campaign": "campaign",
        "phone": "phone",
        "email": "email",
    }


def test_each_row_keeps_what_its_file_proves(db):
    company, admin, frame = _setup(db)
    report = preview_history(db, admin, frame, None, _options(company, frame))
    assert [(i.row, i.column, i.reason, i.params) for i in report.issues] == [
        (6, "source", "{value} is not mapped onto a channel.", {"value": "Tiktok"}),
        (7, "lost reason", "{value} is not mapped onto a lost reason.", {"value": "Bad weather"}),
        (10, "phone", ALREADY_OPEN, {}),
    ]
    assert [(w.row, w.column, w.reason) for w in report.warnings] == [
        (3, "owner", "No user called {owner}: the row goes to the pool or to dispatch.")
    ]
    assert (report.unowned, report.known_people, report.taken_over) == (2, 2, 1)
    # Ghost Rep closed a lost deal: a resigned account for it; the open row is no reason.
    assert [name for name, _ in report.new_users] == ["Ghost Rep"]

    done = run_history_import(db, admin, frame, None, _options(company, frame))
    assert done.imported == 6
    rows = _by_id(db)
    a1, a2 = company.users["rep_a1"], company.users["rep_a2"]
    ghost = db.exec(select(User).where(User.full_name == "Ghost Rep")).one()
    assert ghost.status == "resigned"
    p1, p2, p3, p4 = (rows[f"history:P{n}"] for n in (1, 2, 3, 4))
    assert (p1.pool_state, p1.owner_id, p1.stage) == ("public", None, "qualified")
    assert (p2.pool_state, p2.owner_id) == ("public", None)
    # A lost row reaches the stage before it was lost, names who qualified it, and why.
    assert (p3.owner_id, p3.qualified_by_id, p3.furthest_stage, p3.lost_reason) == (
        ghost.id,
        a2.id,
        "qualified",
        "price",
    )
    # A win with nothing else known: new, then won; no trial lessons.
    history = db.exec(
        select(StageHistory.to_stage).where(StageHistory.opportunity_id == p4.id)
    ).all()
    assert (history, p4.furthest_stage, p4.owner_id) == (["new", "won"], "new", a1.id)
    leads = {lead.name: lead for lead in db.exec(select(Lead)).all()}
    assert (leads["Ann"].channel, leads["Ann"].campaign) == ("google", "Spring")
    # The file's campaign joined the campaign list, found whatever its case.
    assert find_option(db, "campaign", "SPRING").code == "Spring"
    assert leads["Di"].channel == "sem"
    # Fay and Gus were in the lead library: no second lead for either. Gus's untouched
    # imported opportunity is the file's; Fay's worked one stays hers, the win beside it.
    assert db.exec(select(func.count()).select_from(Lead).where(Lead.name == "Fay")).one() == 1
    gus = db.exec(select(Opportunity).where(Opportunity.lead_id == leads["Gus"].id)).all()
    assert [(o.external_id, o.stage, o.owner_id) for o in gus] == [
        ("history:P8", "qualified", a1.id)
    ]
    fay = db.exec(
        select(Opportunity.external_id, Opportunity.stage)
        .where(Opportunity.lead_id == leads["Fay"].id)
        .order_by(Opportunity.id)
    ).all()
    assert fay == [(None, "new"), ("history:P7", "won")]


def test_ownerless_rows_can_go_to_dispatch(db):
    company, admin, frame = _setup(db)
    run_history_import(db, admin, frame, None, _options(company, frame, unowned="dispatch"))
    rows = _by_id(db)
    assert [rows[f"history:P{n}"].pool_state for n in (1, 2)] == ["unassigned", "unassigned"]
