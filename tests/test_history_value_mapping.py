"""The history import's value mapping and custom fields: each option column's distinct
values with their row counts (`Won` and `won` one value), what reads as an option or as the
words most CRMs use (`Engaging`, `Prospecting`), what maps onto nothing stays a bad row with
its reason; the user's choices (and options created on the spot) import the rest and are
remembered for the next history file; custom fields of opportunities and leads are columns
whose bad cells are bad rows and whose values are written for the rows imported."""

from __future__ import annotations

from sqlmodel import select

from crm_core.custom_fields.cells import NOT_A_NUMBER
from crm_core.custom_fields.definitions import ChoiceDraft, define_field
from crm_core.custom_fields.values import values_for
from crm_core.imports.engine import MESSAGES
from crm_core.imports.history import (
    HistoryOptions,
    custom_columns,
    guess_columns,
    preview_history,
    run_history_import,
    value_columns,
)
from crm_core.imports.tabular import read_table
from crm_core.imports.value_mapping import (
    BY_MEMORY,
    BY_OPTION,
    LEAVE,
    create_options_for,
    field_category,
)
from crm_core.models import ImportValueMap, Lead, Opportunity
from tests.factories import SYSTEM, build_small_company

FILE = """id,owner,stage,lost reason,created,closed,amount,source,intention,business line,Deal size,Product,Visited
H1,Rep A1,Won,,2025-01-02,2025-01-10,500,Google,A,kaoyan,1200,Gold,yes
H2,Rep A1,won,,2025-01-03,2025-01-11,300,google,B,,"3,400",gold,no
H3,Rep A1,Closed Won,,2025-01-04,2025-01-12,200,GOOGLE,,,,,
H4,Rep A1,Lost,Price too high,2025-01-05,2025-01-13,,Baidu,,,,,
H5,Rep A1,Engaging,,2025-01-06,,,baidu,C,,,,
H6,Rep A1,Prospecting,,2025-01-07,,,SEM,,,,Platinum,
H7,Rep A1,Lost,Too expensive,2025-01-08,2025-01-14,,sem,,,,,
H8,Rep A1,Engaging,,2025-01-06,,,Sem,,,lots,,
"""
# The next export of the same CRM: the same words, other spellings.
NEXT_FILE = """id,owner,stage,lost reason,created,closed,amount,source
N1,Rep A1,closed won,,2025-02-02,2025-02-10,50,BAIDU
N2,Rep A1,LOST,too expensive,2025-02-03,2025-02-11,,google
"""


def custom_fields(db) -> dict[str, int]:
    size = define_field(db, SYSTEM, "opportunity", label_en="Deal size", kind="number")
    product = define_field(
        db,
        SYSTEM,
        "opportunity",
        label_en="Product",
        kind="choice",
        choices=[ChoiceDraft("Gold", code="gold"), ChoiceDraft("Silver", code="silver")],
    )
    visited = define_field(db, SYSTEM, "lead", label_en="Visited", kind="yes_no")
    db.commit()
    return {"size": size.id, "product": product.id, "visited": visited.id}


def setup(db):
    company = build_small_company(db)
    fields = custom_fields(db)
    admin = company.actor(db, "admin")
    frame = read_table(FILE.encode(), "history.csv")
    custom = custom_columns(db, admin)
    options = HistoryOptions(
        mapping=guess_columns(frame.columns, custom), business_line_id=company.line.id
    )
    return company, admin, frame, options, fields


def test_the_columns_and_custom_fields_map_themselves(db):
    company, admin, frame, options, _ = setup(db)
    mapped = {name: column for name, column in options.mapping.items() if column}
    assert mapped["channel"] == "source" and mapped["intention_level"] == "intention"
    assert mapped["business_line"] == "business line"
    assert mapped["opportunity.deal_size"] == "Deal size"
    assert mapped["opportunity.product"] == "Product"
    assert mapped["lead.visited"] == "Visited"


def test_each_distinct_value_with_its_rows_and_match(db):
    company, admin, frame, options, fields = setup(db)
    found = value_columns(db, admin, frame, options)
    assert set(found) == {
        "stage",
        "lost_reason",
        "channel",
        "intention_level",
        "business_line",
        "opportunity.product",
    }
    stages = {(v.value, v.rows): (v.code, v.how) for v in found["stage"].values}
    assert stages == {
        ("Won", 2): ("won", BY_OPTION),
        ("Lost", 2): ("lost", BY_OPTION),
        ("Engaging", 2): ("qualified", BY_OPTION),
        ("Prospecting", 1): ("new", BY_OPTION),
        ("Closed Won", 1): (None, None),
    }
    channels = {(v.value, v.rows): v.code for v in found["channel"].values}
    assert channels == {("Google", 1 + 1 + 1): None, ("Baidu", 2): None, ("SEM", 3): "sem"}
    assert found["opportunity.product"].category == field_category(fields["product"])
    products = {(v.key, v.rows): v.code for v in found["opportunity.product"].values}
    assert products == {("gold", 2): "gold", ("platinum", 1): None}

    report = preview_history(db, admin, frame, None, options)
    issues = [(i.row, i.column, i.reason, i.params) for i in report.issues]
    assert issues == [
        (2, "source", "{value} is not mapped onto a channel.", {"value": "Google"}),
        (3, "source", "{value} is not mapped onto a channel.", {"value": "google"}),
        (4, "stage", "{value} is not mapped onto a stage.", {"value": "Closed Won"}),
        (5, "source", "{value} is not mapped onto a channel.", {"value": "Baidu"}),
        (6, "source", "{value} is not mapped onto a channel.", {"value": "baidu"}),
        # A choice value mapped onto none, in the engine's words (as every import).
        (7, "Product", MESSAGES["choice"], {"field": "product", "value": "Platinum"}),
        (8, "lost reason", "{value} is not mapped onto a lost reason.", {"value": "Too expensive"}),
        (9, "Deal size", NOT_A_NUMBER, {"field": "deal_size", "value": "lots"}),
    ]


def choose(db, admin, options: HistoryOptions, fields) -> HistoryOptions:
    """What the user does on the page: create Google, map the rest, leave Platinum's
    sibling as is."""
    made = create_options_for(db, admin, "channel", ["Google"], group="paid")
    db.commit()
    assert made == {"google": "google"}
    return HistoryOptions(
        **{
            **options.__dict__,
            "value_choices": {
                "stage": {"closed won": "won"},
                "channel": {"baidu": "sem"},
                "lost_reason": {"too expensive": "price"},
                "opportunity.product": {"platinum": "silver"},
            },
        }
    )


def test_mapped_values_import_and_are_remembered_for_the_next_file(db):
    company, admin, frame, options, fields = setup(db)
    chosen = choose(db, admin, options, fields)
    report = run_history_import(db, admin, frame, None, chosen)
    assert [(i.row, i.column) for i in report.issues] == [(9, "Deal size")]
    assert report.imported == 7
    opportunities = {o.external_id: o for o in db.exec(select(Opportunity)).all()}
    stages = {k: o.stage for k, o in opportunities.items()}
    assert stages == {
        "history:H1": "won",
        "history:H2": "won",
        "history:H3": "won",
        "history:H4": "lost",
        "history:H5": "qualified",
        "history:H6": "new",
        "history:H7": "lost",
    }
    assert opportunities["history:H7"].lost_reason == "price"
    assert opportunities["history:H4"].lost_reason == "price"
    assert {k: o.intention_level for k, o in opportunities.items() if o.intention_level} == {
        "history:H1": "A",
        "history:H2": "B",
        "history:H5": "C",
    }
    assert {o.business_line_id for o in opportunities.values()} == {company.line.id}
    channels = dict(db.exec(select(Lead.external_id, Lead.channel)).all())
    assert channels == {
        "history:H1": "google",
        "history:H2": "google",
        "history:H3": "google",
        "history:H4": "sem",
        "history:H5": "sem",
        "history:H6": "sem",
        "history:H7": "sem",
    }
    # Custom fields, written for the opportunities and leads the run wrote.
    ids = {k: o.id for k, o in opportunities.items()}
    values = values_for(db, admin, "opportunity", ids.values())
    assert values[ids["history:H1"]] == {"deal_size": 1200.0, "product": "gold"}
    assert values[ids["history:H2"]] == {"deal_size": 3400.0, "product": "gold"}
    assert values[ids["history:H6"]] == {"product": "silver"}
    assert ids["history:H3"] not in values
    leads = {o.external_id: o.lead_id for o in opportunities.values()}
    lead_values = values_for(db, admin, "lead", leads.values())
    assert lead_values[leads["history:H1"]] == {"visited": True}
    assert lead_values[leads["history:H2"]] == {"visited": False}
    assert report.custom_values == 7
    # What the user chose is remembered as the history import's; what reads as an option
    # (SEM, Won, the created Google) needs no memory.
    remembered = set(
        db.exec(
            select(
                ImportValueMap.category, ImportValueMap.source_key, ImportValueMap.option_code
            ).where(ImportValueMap.kind == "history")
        ).all()
    )
    assert remembered == {
        ("stage", "closed won", "won"),
        ("channel", "baidu", "sem"),
        ("lost_reason", "too expensive", "price"),
        (field_category(fields["product"]), "platinum", "silver"),
    }

    following = read_table(NEXT_FILE.encode(), "next.csv")
    plain = HistoryOptions(
        mapping=guess_columns(following.columns), business_line_id=company.line.id
    )
    found = value_columns(db, admin, following, plain)
    assert {v.key: (v.code, v.how) for v in found["stage"].values} == {
        "closed won": ("won", BY_MEMORY),
        "lost": ("lost", BY_OPTION),
    }
    assert {v.key: (v.code, v.how) for v in found["channel"].values} == {
        "baidu": ("sem", BY_MEMORY),
        "google": ("google", BY_OPTION),
    }
    done = run_history_import(db, admin, following, None, plain)
    assert (done.imported, done.rejected) == (2, 0)
    assert (
        db.exec(
            select(Opportunity.lost_reason).where(Opportunity.external_id == "history:N2")
        ).one()
        == "price"
    )


def test_leave_keeps_a_remembered_value_as_bad_rows(db):
    company, admin, frame, options, fields = setup(db)
    run_history_import(db, admin, frame, None, choose(db, admin, options, fields))
    following = read_table(NEXT_FILE.encode(), "next.csv")
    left = HistoryOptions(
        mapping=guess_columns(following.columns),
        business_line_id=company.line.id,
        value_choices={"stage": {"closed won": LEAVE}},
    )
    report = preview_history(db, admin, following, None, left)
    assert [(i.row, i.reason) for i in report.issues] == [
        (2, "{value} is not mapped onto a stage.")
    ]


def test_a_business_line_column_puts_rows_on_their_lines(db):
    from crm_core.platform.metadata import create_business_line

    company = build_small_company(db)
    ielts = create_business_line(db, SYSTEM, name="IELTS")
    db.commit()
    admin = company.actor(db, "admin")
    text = (
        "id,owner,stage,created,business line,phone\n"
        "L1,Rep A1,Engaging,2025-01-02,Postgraduate exam,13900000001\n"
        "L2,Rep A1,Engaging,2025-01-02,ielts,13900000001\n"
        "L3,Rep A1,Engaging,2025-01-02,Abroad,13900000002\n"
        "L4,Rep A1,Engaging,2025-01-02,,13900000003\n"
    )
    frame = read_table(text.encode(), "lines.csv")
    options = HistoryOptions(mapping=guess_columns(frame.columns), business_line_id=ielts.id)
    report = preview_history(db, admin, frame, None, options)
    assert [(i.row, i.reason, i.params) for i in report.issues] == [
        (4, "{value} is not mapped onto a business line.", {"value": "Abroad"})
    ]
    options = HistoryOptions(
        **{**options.__dict__, "value_choices": {"business_line": {"abroad": ielts.code}}}
    )
    run_history_import(db, admin, frame, None, options)
    lines = dict(db.exec(select(Opportunity.external_id, Opportunity.business_line_id)).all())
    # One person, one open opportunity per line; a row without a line takes the chosen one.
    assert lines == {
        "history:L1": company.line.id,
        "history:L2": ielts.id,
        "history:L3": ielts.id,
        "history:L4": ielts.id,
    }
    assert len(set(db.exec(select(Opportunity.lead_id)).all())) == 3


PAGE = "pages/admin/history_import.py"


def value_box(at, field: str, key: str):
    return next(
        s
        for s in at.selectbox
        if (s.key or "").startswith(f"history_import_values_{field}_") and s.key.endswith(f"_{key}")
    )


def test_the_page_lists_the_values_maps_them_and_remembers(app_env, db):
    from crm_core.platform.i18n import translate
    from tests.apptest import login

    fields = custom_fields(db)
    at = login("admin")
    at.switch_page(PAGE).run()
    at.file_uploader[0].upload("history.csv", FILE.encode(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    # Rows whose file names no business line take the one chosen for the whole file.
    line = next(
        s for s in at.selectbox if (s.key or "").startswith("history_import_default_business")
    )
    line.set_value(line_code(db)).run()
    # Engaging and Prospecting read as the stages most CRMs mean; Closed Won reads as none.
    assert value_box(at, "stage", "engaging").value == "qualified"
    assert value_box(at, "stage", "prospecting").value == "new"
    assert value_box(at, "stage", "closed won").value == LEAVE
    # Google, google and GOOGLE are one value: create it as a channel on the spot.
    value_box(at, "channel", "google").select("\x00create").run()
    create = next(b for b in at.button if (b.key or "").endswith("_create"))
    create.click().run()
    assert not at.exception, at.exception
    assert value_box(at, "channel", "google").value == "google"
    value_box(at, "stage", "closed won").select("won").run()
    value_box(at, "channel", "baidu").select("sem").run()
    value_box(at, "lost_reason", "too expensive").select("price").run()
    value_box(at, "opportunity.product", "platinum").select("silver").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[translate("Opportunities", "zh")] == "7"
    assert metrics[translate("Bad rows", "zh")] == "1"  # lots is no deal size
    at.button(key="history_import_import").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    stages = dict(db.exec(select(Opportunity.external_id, Opportunity.stage)).all())
    assert stages["history:H3"] == "won" and len(stages) == 7
    assert set(db.exec(select(Lead.channel)).all()) == {"google", "sem"}
    remembered = set(
        db.exec(
            select(ImportValueMap.category, ImportValueMap.source_key).where(
                ImportValueMap.kind == "history"
            )
        ).all()
    )
    assert remembered == {
        ("stage", "closed won"),
        ("channel", "baidu"),
        ("lost_reason", "too expensive"),
        (field_category(fields["product"]), "platinum"),
    }
    product = values_for(db, company_admin(db), "opportunity", [_id(db, "history:H6")])
    assert list(product.values()) == [{"product": "silver"}]


def line_code(db) -> str:
    from crm_core.models import BusinessLine

    return db.exec(select(BusinessLine.code).order_by(BusinessLine.id)).first()


def company_admin(db):
    from crm_core.models import User
    from crm_core.org.access import load_actor

    return load_actor(db, db.exec(select(User).where(User.username == "admin")).one().id)


def _id(db, external_id: str) -> int:
    return db.exec(select(Opportunity.id).where(Opportunity.external_id == external_id)).one()
