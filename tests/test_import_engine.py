"""The import engine with a tiny spec of its own: a file that sets the channel of leads found by
phone. Column mapping (guessed, given, refused), typed cells, value mapping remembered per
import kind, the key, checks against the database with warnings apart from bad rows, custom
field columns, both modes (all or nothing writes nothing), the audit entry and the rejected
rows file."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import bindparam, func, update
from sqlmodel import col, select

from crm_core.custom_fields.definitions import define_field
from crm_core.custom_fields.values import values_for
from crm_core.imports import engine
from crm_core.imports.engine import FieldSpec, ImportOptions, ImportSpec, WriteOutcome
from crm_core.imports.tabular import read_table
from crm_core.imports.value_mapping import LEAVE, value_key
from crm_core.models import AuditLog, ImportValueMap, Lead
from crm_core.org.access import lead_scope
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.permissions import Permission
from tests.factories import add_owned_opportunity, build_small_company

NO_LEAD = "No lead has the phone {phone}."
HIGH_SCORE = "A score of {score} is unusually high."


@dataclass(frozen=True)
class ChannelRow:
    row: int
    phone: str
    channel: str
    score: float | None
    category: str = "changed"
    lead_id: int | None = None


def _read(reader: engine.RowReader) -> ChannelRow | None:
    if reader.issues:  # nothing to look up
        return None
    return ChannelRow(reader.number, reader["phone"], reader["channel"], reader["score"])


def _check(session, actor, rows, found: engine.Findings):
    phones = [row.phone for row in rows]
    leads = dict(
        session.exec(
            select(Lead.phone, Lead.id).where(col(Lead.phone).in_(phones), lead_scope(actor))
        ).all()
    )
    channels = dict(
        session.exec(select(Lead.id, Lead.channel).where(col(Lead.id).in_(leads.values()))).all()
    )
    good = []
    for row in rows:
        lead_id = leads.get(row.phone)
        if lead_id is None:
            found.reject(row.row, "phone", NO_LEAD, phone=row.phone)
            continue
        if row.score is not None and row.score > 90:
            found.warn(row.row, "score", HIGH_SCORE, score=row.score)
        category = "unchanged" if channels[lead_id] == row.channel else "changed"
        good.append(replace(row, lead_id=lead_id, category=category))
    found.details["leads"] = sum(1 for row in good if not found.is_bad(row.row))
    return good


def _write(session, actor, preview: engine.Preview) -> WriteOutcome:
    changed = preview.rows_in("changed")
    if changed:
        table = Lead.__table__
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(channel=bindparam("b_ch")),
            [{"b_id": r.lead_id, "b_ch": r.channel} for r in changed],
        )
    counts = {"changed": len(changed), "rejected": len(preview.rejected)}
    return WriteOutcome(
        counts, {"file_rows": preview.total_rows}, {r.row: [r.lead_id] for r in preview.rows}
    )


SPEC = ImportSpec(
    kind="lead_channels",
    permission=Permission.IMPORT_LEADS,
    fields=(
        FieldSpec("phone", ("phone", "手机号"), required=True, kind="phone"),
        FieldSpec("channel", ("channel", "渠道"), category="channel", required=True),
        FieldSpec("score", ("score", "评分"), kind="number"),
    ),
    read=_read,
    check=_check,
    write=_write,
    categories=("changed", "unchanged"),
    audit_action="lead.import",
    audit_target="lead",
    key="phone",
    custom_entity="lead",
)
OTHER_KIND = replace(SPEC, kind="other_channels")


def frame(*rows, header=("Phone", "Channel", "Score")):
    lines = [",".join(header), *(",".join(r) for r in rows)]
    return read_table(("\n".join(lines) + "\n").encode(), "channels.csv")


@pytest.fixture
def world(db):
    company = build_small_company(db)
    for tail in (1, 2, 3):
        add_owned_opportunity(db, company, "rep_a1", tail)
    db.commit()
    return company


@pytest.fixture
def admin(db, world):
    return world.actor(db, "admin")


def channel_of(db, tail: int) -> str:
    db.expire_all()
    return db.exec(select(Lead.channel).where(Lead.phone == f"+86138{tail:08d}")).one()


def audits(db) -> int:
    return db.exec(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "lead.import")
    ).one()


def test_columns_are_guessed_in_either_language_given_or_refused(db, admin):
    zh = frame(("13800000001", "SEO", "1"), header=("手机号", "渠道", "评分"))
    plan = engine.preview(db, admin, SPEC, zh)
    assert plan.mapping == {"phone": "手机号", "channel": "渠道", "score": "评分"}
    assert engine.guess_columns(SPEC.fields, ["Phone", "x"])["phone"] == "Phone"
    with pytest.raises(ValidationError) as error:
        engine.preview(db, admin, SPEC, zh, ImportOptions({"phone": "Nope"}))
    assert error.value.key == "The file has no column {column}."
    with pytest.raises(ValidationError) as error:
        engine.preview(db, admin, SPEC, zh, ImportOptions({"phone": "手机号"}))
    assert error.value.key == "Choose a column for: {columns}."
    nobody = replace(admin, permissions=frozenset())  # without the spec's permission
    with pytest.raises(PermissionDenied):
        engine.preview(db, nobody, SPEC, zh)


def test_bad_rows_keep_every_reason_and_warnings_stay_apart(db, admin):
    plan = engine.preview(
        db,
        admin,
        SPEC,
        frame(
            ("13800000001", "seo", "95"),  # good, with a warning
            ("13800000002", "Nowhere", "x"),  # no option, no number
            ("13900000009", "SEO", ""),  # no such lead
            ("13800000001", "SEO", "1"),  # repeats row 2
            ("-", "SEO", ""),  # a placeholder phone: required
            ("12", "SEO", ""),  # no phone number
        ),
    )
    reasons = {(i.row, i.field, i.key) for i in plan.issues}
    assert reasons == {
        (3, "channel", "“{value}” is mapped onto no option."),
        (3, "score", "“{value}” is not a number."),
        (4, "phone", NO_LEAD),
        (5, "phone", "{value} is already on row {first_row}."),
        (6, "phone", "{field} is required."),
        (7, "phone", "{phone} is not a valid phone number."),
    }
    assert [(r.row, r.category) for r in plan.rows] == [(2, "changed")]
    assert [(w.row, w.field, w.key, w.params) for w in plan.warnings] == [
        (2, "score", HIGH_SCORE, {"score": 95.0})
    ]
    assert plan.counts == {"changed": 1, "unchanged": 0, "rejected": 5}
    assert plan.details == {"leads": 1}
    table = list(
        csv.reader(
            io.StringIO(engine.rejected_rows_csv(admin, SPEC, plan, "en").decode("utf-8-sig"))
        )
    )
    assert [line[0] for line in table[1:]] == ["3", "4", "5", "6", "7"]
    assert "Channel: “Nowhere” is mapped onto no option." in table[1][-1]


def test_all_or_nothing_writes_nothing_and_good_rows_write_the_good(db, admin, world):
    before = channel_of(db, 1)
    plan = engine.preview(
        db, admin, SPEC, frame(("13800000001", "SEO", ""), ("13800000002", "??", ""))
    )
    steps: list[float] = []
    refused = engine.apply(db, admin, SPEC, plan, "all_or_nothing", progress=steps.append)
    assert refused.refused and refused.audit_id is None and steps == []
    assert channel_of(db, 1) == before and audits(db) == 0
    run = engine.apply(db, admin, SPEC, plan, "good_rows", progress=steps.append)
    assert run.stored and run.counts == {"changed": 1, "rejected": 1}
    assert steps == sorted(steps) and steps[-1] == 1.0
    assert channel_of(db, 1) == "seo" and channel_of(db, 2) == before
    entry = db.get(AuditLog, run.audit_id)
    assert entry.action == "lead.import" and entry.after["counts"] == run.counts
    assert entry.after["file_rows"] == 2
    with pytest.raises(ValidationError):
        engine.apply(db, admin, OTHER_KIND, plan, "good_rows")  # another import's preview
    (last,) = engine.last_runs(db, admin, SPEC)  # the refused run recorded nothing
    assert (last.source, last.mode, last.counts) == ("channels.csv", "good_rows", run.counts)
    other = world.actor(db, "bj_manager")
    assert engine.last_runs(db, replace(other, permissions=admin.permissions), SPEC) == []


def test_value_mapping_is_chosen_then_remembered_per_import_kind(db, admin):
    file = frame(("13800000001", "Baidu Ads", ""), ("13800000002", "baidu  ads", ""))
    plan = engine.preview(db, admin, SPEC, file)
    (value,) = plan.values["channel"]
    assert (value.rows, value.code) == (2, None) and len(plan.rejected) == 2
    choice = {"channel": {value_key("Baidu Ads"): "sem"}}
    plan = engine.preview(db, admin, SPEC, file, ImportOptions(value_choices=choice))
    assert len(plan.rows) == 2 and not plan.rejected
    engine.apply(db, admin, SPEC, plan, "good_rows")
    assert channel_of(db, 2) == "sem"
    stored = db.exec(select(ImportValueMap.kind, ImportValueMap.option_code)).all()
    assert stored == [("lead_channels", "sem")]
    again = engine.preview(db, admin, SPEC, file)  # the next file of this kind
    assert again.values["channel"][0].how == "remembered" and not again.rejected
    other = engine.preview(db, admin, OTHER_KIND, file)  # another import does not share it
    assert len(other.rejected) == 2
    left = {"channel": {value_key("Baidu Ads"): LEAVE}}
    kept_bad = engine.preview(db, admin, SPEC, file, ImportOptions(value_choices=left))
    assert len(kept_bad.rejected) == 2


def test_custom_field_columns_are_offered_read_and_written(db, admin):
    define_field(db, admin, "lead", label_en="Budget", label_zh="预算", kind="number")
    db.commit()
    names = [f.name for f in engine.import_fields(db, admin, SPEC)]
    assert names == ["phone", "channel", "score", "custom.budget"]
    plan = engine.preview(
        db,
        admin,
        SPEC,
        frame(
            ("13800000001", "SEO", "", "12000.5"),
            ("13800000002", "SEO", "", "lots"),
            ("13800000003", "SEO", "", ""),
            header=("Phone", "Channel", "Score", "预算"),
        ),
    )
    assert plan.mapping["custom.budget"] == "预算"
    ((issue,),) = [r.issues for r in plan.rejected]
    assert (issue.row, issue.field, issue.column) == (3, "custom.budget", "预算")
    assert issue.params == {"field": "budget", "value": "lots"}
    engine.apply(db, admin, SPEC, plan, "good_rows")
    lead_ids = dict(db.exec(select(Lead.phone, Lead.id)).all())
    held = values_for(db, admin, "lead", [lead_ids["+8613800000001"], lead_ids["+8613800000003"]])
    assert held[lead_ids["+8613800000001"]]["budget"] == 12000.5
    assert "budget" not in held.get(lead_ids["+8613800000003"], {})  # a blank writes nothing
