"""Lead tags: normalising, tagging one lead, bulk tagging over a search, scope and audit."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import event, update
from sqlmodel import select

from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.leads.search import LeadFilter, search_leads
from crm_core.leads.tags import (
    add_tag,
    bulk_tag,
    bulk_untag,
    list_tags,
    normalise_tag,
    remove_tag,
)
from crm_core.models import AuditLog, Lead, LeadTag
from crm_core.platform import clock
from crm_core.platform.errors import NotFound, PermissionDenied, ValidationError
from crm_core.platform.i18n import is_message
from crm_core.platform.metadata import create_option
from tests.factories import add_owned_opportunity, build_small_company


@pytest.fixture
def company(db):
    """Leads 1..4 owned by rep_a1, rep_a2 (Team A), rep_b1 (Team B), rep_c1 (Shanghai);
    lead 5 waits unassigned (entered by the admin)."""
    clock.freeze(datetime(2024, 5, 6, 9, 30))
    company = build_small_company(db)
    company.leads = {}
    for tail, owner in enumerate(("rep_a1", "rep_a2", "rep_b1", "rep_c1"), start=1):
        company.leads[owner] = add_owned_opportunity(db, company, owner, tail).lead_id
    result = intake_leads(
        db,
        company.actor(db, "admin"),
        [
            LeadInput(
                name="Zhao Lei",
                phone="13900000005",
                channel="sem",
                campaign="spring",
                business_line_codes=["kaoyan"],
            )
        ],
        source="manual",
    )
    # The tag catalogue the people below choose from (only an administrator adds to it).
    for tag in ("hot lead", "VIP", "mine now", "beijing"):
        create_option(db, company.actor(db, "admin"), "tag", label_en=tag)
    db.commit()
    company.leads["unassigned"] = result.outcomes[0].lead_id
    return company


def tags_of(db, lead_id: int) -> list[str]:
    return list(
        db.exec(select(LeadTag.tag).where(LeadTag.lead_id == lead_id).order_by(LeadTag.tag)).all()
    )


def audit_entries(db, action: str) -> list[AuditLog]:
    return list(
        db.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()
    )


# --- normalising ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("VIP", "VIP"),
        ("  VIP  ", "VIP"),
        ("high \t  intent\nA", "high intent A"),
        ("考研 2025", "考研 2025"),
    ],
)
def test_normalise_strips_and_collapses_whitespace(text, tag):
    assert normalise_tag(text) == tag


@pytest.mark.parametrize("text", ["", "   ", "\t\n", None])
def test_normalise_refuses_an_empty_tag(text):
    with pytest.raises(ValidationError) as error:
        normalise_tag(text)
    assert error.value.key == "A tag cannot be empty."


def test_normalise_allows_sixty_characters_and_no_more():
    assert normalise_tag("x" * 60) == "x" * 60
    assert normalise_tag("  " + "x" * 60 + "  ") == "x" * 60
    with pytest.raises(ValidationError) as error:
        normalise_tag("x" * 61)
    assert (error.value.key, error.value.params) == (
        "A tag has at most {max} characters.",
        {"max": 60},
    )


def test_error_keys_are_translated():
    for key in (
        "A tag cannot be empty.",
        "A tag has at most {max} characters.",
        "Most leads in one export",
    ):
        assert is_message(key)


# --- one lead ------------------------------------------------------------------------------


def test_add_and_remove_a_tag_with_audit(db, company):
    rep = company.actor(db, "rep_a1")
    lead_id = company.leads["rep_a1"]
    assert add_tag(db, rep, lead_id, "  hot   lead ") == "hot lead"
    assert tags_of(db, lead_id) == ["hot lead"]
    [entry] = audit_entries(db, "lead.tag")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        rep.user_id,
        "lead",
        str(lead_id),
    )
    assert entry.after == {"tag": "hot lead"}

    remove_tag(db, rep, lead_id, "hot lead")
    assert tags_of(db, lead_id) == []
    [entry] = audit_entries(db, "lead.untag")
    assert (entry.target_id, entry.before) == (str(lead_id), {"tag": "hot lead"})


def test_adding_an_existing_tag_or_removing_a_missing_one_is_a_no_op(db, company):
    rep = company.actor(db, "rep_a1")
    lead_id = company.leads["rep_a1"]
    add_tag(db, rep, lead_id, "VIP")
    assert add_tag(db, rep, lead_id, " VIP ") == "VIP"
    assert tags_of(db, lead_id) == ["VIP"]
    assert len(audit_entries(db, "lead.tag")) == 1
    remove_tag(db, rep, lead_id, "never there")
    assert tags_of(db, lead_id) == ["VIP"]
    assert audit_entries(db, "lead.untag") == []


def test_a_rep_cannot_tag_another_reps_lead(db, company):
    rep = company.actor(db, "rep_a1")
    other = company.leads["rep_a2"]
    with pytest.raises(NotFound) as error:
        add_tag(db, rep, other, "mine now")
    assert error.value.params == {"entity": "lead", "id": other}
    add_tag(db, company.actor(db, "admin"), other, "VIP")
    with pytest.raises(NotFound):
        remove_tag(db, rep, other, "VIP")
    assert tags_of(db, other) == ["VIP"]


def test_a_merged_lead_cannot_be_tagged(db, company):
    admin = company.actor(db, "admin")
    merged = company.leads["rep_a2"]
    db.exec(update(Lead).where(Lead.id == merged).values(merged_into_id=company.leads["rep_a1"]))
    db.commit()
    with pytest.raises(NotFound):
        add_tag(db, admin, merged, "VIP")


def test_tagging_needs_create_leads_or_manage_customers(db, company):
    boss = company.actor(db, "boss")  # executive: views everything, creates nothing
    with pytest.raises(PermissionDenied):
        add_tag(db, boss, company.leads["rep_a1"], "VIP")
    with pytest.raises(PermissionDenied):
        remove_tag(db, boss, company.leads["rep_a1"], "VIP")


def test_a_bad_tag_is_refused_before_anything_is_written(db, company):
    rep = company.actor(db, "rep_a1")
    with pytest.raises(ValidationError):
        add_tag(db, rep, company.leads["rep_a1"], "   ")
    assert tags_of(db, company.leads["rep_a1"]) == []


# --- bulk ----------------------------------------------------------------------------------


def test_bulk_tag_covers_only_the_leads_in_scope_even_with_an_empty_filter(db, company):
    manager = company.actor(db, "bj_manager")  # Beijing subtree: Team A and Team B
    assert bulk_tag(db, manager, LeadFilter(), "beijing") == 3
    tagged = set(db.exec(select(LeadTag.lead_id).where(LeadTag.tag == "beijing")).all())
    leads = company.leads
    assert tagged == {leads["rep_a1"], leads["rep_a2"], leads["rep_b1"]}


def test_bulk_tag_counts_new_tags_only_and_is_idempotent(db, company):
    admin = company.actor(db, "admin")
    add_tag(db, admin, company.leads["rep_a1"], "VIP")
    assert bulk_tag(db, admin, LeadFilter(), "VIP") == 4
    assert bulk_tag(db, admin, LeadFilter(), " VIP ") == 0
    assert len(db.exec(select(LeadTag).where(LeadTag.tag == "VIP")).all()) == 5


def test_bulk_tag_follows_the_filter_and_the_tag_filter_finds_them(db, company):
    admin = company.actor(db, "admin")
    assert bulk_tag(db, admin, LeadFilter(campaign="spr"), "spring push") == 1
    page = search_leads(db, admin, LeadFilter(tag="spring push"))
    assert [row.id for row in page.rows] == [company.leads["unassigned"]]
    assert page.rows[0].tags == ("spring push",)
    # Tag the leads that carry one tag with another, then take it off again.
    assert bulk_tag(db, admin, LeadFilter(tag="spring push"), "follow up") == 1
    assert bulk_untag(db, admin, LeadFilter(tag="spring push"), "follow up") == 1
    assert tags_of(db, company.leads["unassigned"]) == ["spring push"]


def test_bulk_untag_removes_only_within_scope(db, company):
    admin = company.actor(db, "admin")
    bulk_tag(db, admin, LeadFilter(), "VIP")
    manager = company.actor(db, "bj_manager")
    assert bulk_untag(db, manager, LeadFilter(), "VIP") == 3
    remaining = set(db.exec(select(LeadTag.lead_id).where(LeadTag.tag == "VIP")).all())
    assert remaining == {company.leads["rep_c1"], company.leads["unassigned"]}
    assert bulk_untag(db, manager, LeadFilter(), "VIP") == 0


def test_bulk_skips_merged_leads(db, company):
    admin = company.actor(db, "admin")
    merged = company.leads["rep_a2"]
    db.exec(update(Lead).where(Lead.id == merged).values(merged_into_id=company.leads["rep_a1"]))
    db.commit()
    assert bulk_tag(db, admin, LeadFilter(), "VIP") == 4
    assert tags_of(db, merged) == []


def test_a_rep_may_not_tag_in_bulk(db, company):
    rep = company.actor(db, "rep_a1")
    with pytest.raises(PermissionDenied):
        bulk_tag(db, rep, LeadFilter(), "VIP")
    with pytest.raises(PermissionDenied):
        bulk_untag(db, rep, LeadFilter(), "VIP")
    assert db.exec(select(LeadTag)).all() == []


def test_bulk_tag_is_audited_with_count_and_filter(db, company):
    admin = company.actor(db, "admin")
    lead_filter = LeadFilter(text="139 0000 0005", created_from=date(2024, 5, 1), channel="sem")
    assert bulk_tag(db, admin, lead_filter, "VIP") == 1
    assert bulk_untag(db, admin, lead_filter, "VIP") == 1
    [tagged] = audit_entries(db, "lead.bulk_tag")
    [untagged] = audit_entries(db, "lead.bulk_untag")
    for entry in (tagged, untagged):
        assert (entry.actor_id, entry.target_type) == (admin.user_id, "lead")
        assert entry.after["tag"] == "VIP"
        assert entry.after["count"] == 1
        recorded = entry.after["filter"]
        assert recorded["created_from"] == "2024-05-01"
        assert recorded["created_to"] is None
        assert recorded["channel"] == "sem"
        # The searched number is masked: the audit never holds a full phone number.
        assert recorded["text"] == "1****0005"
        assert "13900000005" not in str(entry.after)


def test_bulk_tag_is_one_statement_whatever_the_number_of_leads(db, company, engine):
    admin = company.actor(db, "admin")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def run(tag: str) -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            bulk_tag(db, admin, LeadFilter(), tag)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return sum(1 for s in statements if s.lstrip().upper().startswith("INSERT INTO LEAD_TAG"))

    assert run("few") == 1
    intake_leads(
        db,
        admin,
        [
            LeadInput(
                name=f"Extra {i}",
                phone=f"137{i:08d}",
                channel="sem",
                business_line_codes=["kaoyan"],
            )
            for i in range(30)
        ],
        source="manual",
    )
    db.commit()
    assert run("many") == 1
    assert len(db.exec(select(LeadTag).where(LeadTag.tag == "many")).all()) == 35


def test_a_bad_filter_or_tag_changes_nothing(db, company):
    admin = company.actor(db, "admin")
    with pytest.raises(ValidationError):
        bulk_tag(
            db, admin, LeadFilter(created_from=date(2024, 5, 2), created_to=date(2024, 5, 1)), "x"
        )
    with pytest.raises(ValidationError):
        bulk_tag(db, admin, LeadFilter(), "y" * 61)
    assert db.exec(select(LeadTag)).all() == []
    assert audit_entries(db, "lead.bulk_tag") == []


# --- listing -------------------------------------------------------------------------------


def test_list_tags_is_the_distinct_sorted_vocabulary(db, company):
    admin = company.actor(db, "admin")
    # Lower-case tags: the order of mixed case depends on the database's collation.
    add_tag(db, admin, company.leads["rep_a1"], "mid")
    add_tag(db, admin, company.leads["rep_a1"], "alpha")
    add_tag(db, admin, company.leads["rep_a2"], "mid")
    add_tag(db, admin, company.leads["rep_c1"], "zeta")
    assert list_tags(db, admin) == ["alpha", "mid", "zeta"]
    assert list_tags(db, admin, limit=2) == ["alpha", "mid"]
    # The names are the company's vocabulary; the leads behind them stay in scope.
    rep = company.actor(db, "rep_a1")
    assert list_tags(db, rep) == ["alpha", "mid", "zeta"]
    assert search_leads(db, rep, LeadFilter(tag="zeta")).rows == []
    remove_tag(db, admin, company.leads["rep_c1"], "zeta")
    assert list_tags(db, admin) == ["alpha", "mid"]


def test_list_tags_needs_view_leads(db, company):
    nobody = replace(company.actor(db, "rep_a1"), permissions=frozenset())
    with pytest.raises(PermissionDenied):
        list_tags(db, nobody)
