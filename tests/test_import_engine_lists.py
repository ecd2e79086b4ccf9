"""The import engine's list cells and choice fields: a cell holding several values (business
lines, tags) is split and each part goes through value mapping on its own; a choice custom
field's values map onto its choices like an option column, remembered per import kind."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from sqlmodel import select

from crm_core.custom_fields.definitions import ChoiceDraft, define_field
from crm_core.custom_fields.values import values_for
from crm_core.imports import engine
from crm_core.imports.engine import FieldSpec, ImportOptions, WriteOutcome
from crm_core.imports.engine.cells import MESSAGES
from crm_core.imports.value_mapping import value_key
from crm_core.models import ImportValueMap, Lead
from crm_core.platform.errors import ValidationError
from tests.factories import add_owned_opportunity, build_small_company
from tests.test_import_engine import SPEC, frame


@pytest.fixture
def admin(db):
    company = build_small_company(db)
    for tail in (1, 2):  # the leads the tiny spec finds by phone
        add_owned_opportunity(db, company, "rep_a1", tail)
    db.commit()
    return company.actor(db, "admin")


@dataclass(frozen=True)
class ListRow:
    row: int
    phone: str
    channels: tuple[str, ...]
    tags: tuple[str, ...]
    category: str = "seen"


LISTS = replace(
    SPEC,
    kind="lead_lists",
    fields=(
        FieldSpec("phone", ("phone",), required=True, kind="phone"),
        FieldSpec("channels", ("channels",), category="channel", several=True),
        FieldSpec("tags", ("tags",), several=True),
    ),
    read=lambda r: ListRow(r.number, r["phone"], r["channels"] or (), r["tags"] or ()),
    check=lambda session, actor, rows, found: rows,
    write=lambda session, actor, plan: WriteOutcome({"seen": len(plan.rows)}),
    categories=("seen",),
    custom_entity=None,
)


def test_a_list_cell_maps_each_part_and_an_unmapped_part_rejects_the_row(db, admin):
    file = frame(
        ("13800000001", "SEO；sem、SEO", "vip、 vip|new"),
        ("13800000002", "sem/Baidu Ads", ""),
        header=("Phone", "Channels", "Tags"),
    )
    plan = engine.preview(db, admin, LISTS, file)
    counts = {v.value: v.rows for v in plan.values["channels"]}
    assert counts == {"SEO": 2, "sem": 2, "Baidu Ads": 1}  # parts counted apart
    (good,) = plan.rows
    assert (good.channels, good.tags) == (("seo", "sem"), ("vip", "new"))  # repeats dropped
    ((issue,),) = [r.issues for r in plan.rejected]
    assert (issue.row, issue.field, issue.key) == (3, "channels", MESSAGES["option"])
    assert issue.params == {"value": "Baidu Ads"}  # the part at fault, not the whole cell
    choice = {"channels": {value_key("Baidu Ads"): "sem"}}
    plan = engine.preview(db, admin, LISTS, file, ImportOptions(value_choices=choice))
    assert [r.channels for r in plan.rows] == [("seo", "sem"), ("sem",)]


def test_a_choice_field_maps_through_value_mapping_and_is_remembered(db, admin):
    levels = [ChoiceDraft("Gold", "金卡", "gold"), ChoiceDraft("Silver", "银卡", "silver")]
    define_field(
        db, admin, "lead", label_en="Level", label_zh="等级", kind="choice", choices=levels
    )
    define_field(db, admin, "lead", label_en="Topics", kind="multi_choice", choices=levels)
    db.commit()
    fields = {f.name: f for f in engine.import_fields(db, admin, SPEC)}
    assert fields["custom.level"].category and not fields["custom.level"].several
    assert fields["custom.topics"].several
    file = frame(
        ("13800000001", "SEO", "", "金卡", "gold; SILVER"),
        ("13800000002", "SEO", "", "Platinum", ""),
        header=("Phone", "Channel", "Score", "等级", "Topics"),
    )
    plan = engine.preview(db, admin, SPEC, file)
    assert {v.value: v.code for v in plan.values["custom.level"]} == {
        "金卡": "gold",
        "Platinum": None,
    }
    ((issue,),) = [r.issues for r in plan.rejected]
    assert (issue.row, issue.field, issue.key) == (3, "custom.level", MESSAGES["choice"])
    assert issue.params == {"field": "level", "value": "Platinum"}
    chosen = {"custom.level": {value_key("Platinum"): "gold"}}
    plan = engine.preview(db, admin, SPEC, file, ImportOptions(value_choices=chosen))
    assert not plan.rejected
    engine.apply(db, admin, SPEC, plan, "good_rows")
    leads = dict(db.exec(select(Lead.phone, Lead.id)).all())
    held = values_for(db, admin, "lead", [leads["+8613800000001"], leads["+8613800000002"]])
    assert held[leads["+8613800000001"]]["level"] == "gold"
    assert list(held[leads["+8613800000001"]]["topics"]) == ["gold", "silver"]
    assert held[leads["+8613800000002"]]["level"] == "gold"
    remembered = db.exec(select(ImportValueMap.kind, ImportValueMap.option_code)).all()
    assert remembered == [("lead_channels", "gold")]
    again = engine.preview(db, admin, SPEC, file)  # the next file of this kind
    assert not again.rejected


def test_a_value_for_the_whole_file_fills_blank_cells_and_stands_for_a_column(db, admin):
    file = frame(
        ("13800000001", "SEO", ""), ("13800000002", "", "vip"), header=("Phone", "Channels", "Tags")
    )
    whole = ImportOptions(defaults={"channels": ("sem",)})
    plan = engine.preview(db, admin, LISTS, file, whole)
    assert [r.channels for r in plan.rows] == [("seo",), ("sem",)]  # the file's own wins
    needs = replace(
        LISTS, fields=(*LISTS.fields[:1], replace(LISTS.fields[1], required=True), LISTS.fields[2])
    )
    tags_only = frame(("13800000001", "vip"), header=("Phone", "Tags"))
    with pytest.raises(ValidationError):  # a required field needs a column or a default
        engine.preview(db, admin, needs, tags_only)
    plan = engine.preview(db, admin, needs, tags_only, whole)
    assert [r.channels for r in plan.rows] == [("sem",)]
    with pytest.raises(ValidationError) as refused:  # a default must be an option of its list
        engine.preview(db, admin, LISTS, file, ImportOptions(defaults={"channels": ("nope",)}))
    assert refused.value.params == {"value": "nope", "field": "channels"}
