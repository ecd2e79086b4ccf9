"""Values from the option lists: campaigns matched whatever their case (new ones from an
entrance join the list), the tag catalogue, disabled values kept on history but refused for
new rows, usage counts."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.circulation.opportunities import set_intention_level
from crm_core.leads.edit import update_lead
from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.leads.search import LeadFilter, search_leads
from crm_core.leads.tags import TAG_DISABLED, TAG_UNKNOWN, add_tag, bulk_tag, remove_tag
from crm_core.models import AuditLog, Lead, LeadTag, MetadataOption
from crm_core.platform.errors import ValidationError
from crm_core.platform.metadata import create_option, find_option, list_options, update_option
from crm_core.platform.option_values import (
    INTENTION_NOT_CHOOSABLE,
    NOT_CHOOSABLE,
    catalogue_stored_values,
    option_labels,
    usage_counts,
)
from tests.factories import add_owned_opportunity, build_small_company


@pytest.fixture
def company(db):
    return build_small_company(db)


def lead(name: str, phone: str, campaign: str | None = None, tags=()) -> LeadInput:
    return LeadInput(
        name=name,
        phone=phone,
        channel="SEM",
        campaign=campaign,
        tags=list(tags),
        business_line_codes=["kaoyan"],
    )


def campaigns(db) -> list[str]:
    return [o.code for o in list_options(db, "campaign", active_only=False)]


def test_campaigns_of_any_case_count_as_one_and_new_ones_join_the_list(db, company):
    admin = company.actor(db, "admin")
    result = intake_leads(
        db,
        admin,
        [
            lead("A", "13900000001", "Spring-2026"),
            lead("B", "13900000002", "spring-2026"),
            lead("C", "13900000003", " SPRING-2026 "),
            lead("D", "13900000004", "Ｓｐｒｉｎｇ-2026"),  # full-width letters
        ],
        source="import",
    )
    assert {o.status for o in result.outcomes} == {"created"}
    stored = db.exec(select(Lead.campaign).distinct()).all()
    assert stored == ["Spring-2026"]
    assert campaigns(db) == ["Spring-2026"]
    entry = db.exec(select(AuditLog).where(AuditLog.action == "metadata.create")).one()
    assert entry.after["origin"] == "import" and entry.actor_id == admin.user_id
    assert usage_counts(db, "campaign") == {"Spring-2026": 4}
    # A known campaign keeps the list's spelling, even from a form.
    intake_leads(db, admin, [lead("E", "13900000005", "SPRING-2026")], source="form")
    assert campaigns(db) == ["Spring-2026"]
    found = search_leads(db, admin, LeadFilter(campaign_code="Spring-2026"))
    assert found.total == 5


def test_a_dry_run_adds_nothing_to_the_lists(db, company):
    intake_leads(
        db,
        company.actor(db, "admin"),
        [lead("A", "13900000001", "Autumn", tags=["VIP"])],
        source="import",
        dry_run=True,
    )
    assert campaigns(db) == []
    assert list_options(db, "tag", active_only=False) == []


def test_a_disabled_campaign_stays_on_its_leads_and_cannot_be_chosen_by_hand(db, company):
    admin = company.actor(db, "admin")
    spring = create_option(db, admin, "campaign", label_en="Spring-2026")
    autumn = create_option(db, admin, "campaign", label_en="Autumn-2026")
    opportunity = add_owned_opportunity(db, company, "rep_a1", 1)
    rep = company.actor(db, "rep_a1")
    update_lead(db, rep, opportunity.lead_id, {"campaign": "spring-2026"})
    assert db.get(Lead, opportunity.lead_id).campaign == "Spring-2026"
    update_option(db, admin, spring.id, active=False, label_en="Spring 2026 (old)")
    # The lead keeps it and reads with its new words; an unrelated edit does not trip on it.
    update_lead(db, rep, opportunity.lead_id, {"campaign": "Spring-2026", "city": "Beijing"})
    assert option_labels(db, "campaign", "en")["Spring-2026"] == "Spring 2026 (old)"
    with pytest.raises(ValidationError) as refused:
        update_lead(db, rep, opportunity.lead_id, {"campaign": "Winter"})
    assert refused.value.key == NOT_CHOOSABLE
    update_lead(db, rep, opportunity.lead_id, {"campaign": "AUTUMN-2026"})
    assert db.get(Lead, opportunity.lead_id).campaign == autumn.code
    with pytest.raises(ValidationError):
        update_lead(db, rep, opportunity.lead_id, {"campaign": "spring 2026 (old)"})


def test_tags_come_from_the_catalogue(db, company):
    admin = company.actor(db, "admin")
    rep = company.actor(db, "rep_a1")
    lead_id = add_owned_opportunity(db, company, "rep_a1", 1).lead_id
    with pytest.raises(ValidationError) as refused:
        add_tag(db, rep, lead_id, "VIP")
    assert refused.value.key == TAG_UNKNOWN
    # An administrator's new tag joins the catalogue (audited); then the rep may give it.
    assert add_tag(db, admin, lead_id, "VIP") == "VIP"
    assert find_option(db, "tag", "vip").code == "VIP"
    other = add_owned_opportunity(db, company, "rep_a1", 2).lead_id
    assert add_tag(db, rep, other, "vip") == "VIP"
    vip = find_option(db, "tag", "VIP")
    update_option(db, admin, vip.id, active=False)
    third = add_owned_opportunity(db, company, "rep_a1", 3).lead_id
    with pytest.raises(ValidationError) as refused:
        add_tag(db, rep, third, "VIP")
    assert refused.value.key == TAG_DISABLED
    with pytest.raises(ValidationError):
        bulk_tag(db, admin, LeadFilter(), "vip")
    # Disabled: still on the leads that have it, and it can be taken off.
    assert usage_counts(db, "tag") == {"VIP": 2}
    remove_tag(db, rep, other, "vip")
    assert db.exec(select(LeadTag.lead_id)).all() == [lead_id]


def test_tags_from_an_import_join_the_catalogue_under_one_spelling(db, company):
    admin = company.actor(db, "admin")
    create_option(db, admin, "tag", label_en="VIP", label_zh="重要客户")
    intake_leads(
        db,
        admin,
        [
            lead("A", "13900000001", tags=["vip", "Webinar"]),
            lead("B", "13900000002", tags=["重要客户", "WEBINAR"]),
        ],
        source="import",
    )
    assert sorted(db.exec(select(LeadTag.tag).distinct()).all()) == ["VIP", "Webinar"]
    assert [o.code for o in list_options(db, "tag")] == ["VIP", "Webinar"]


def test_intention_levels_follow_their_list(db, company):
    admin = company.actor(db, "admin")
    opportunity = add_owned_opportunity(db, company, "rep_a1", 1)
    manager = company.actor(db, "bj_manager")
    create_option(db, admin, "intention_level", label_en="E: cold", label_zh="E：冷淡")
    assert set_intention_level(db, manager, [opportunity.id], "E") == 1
    level_d = find_option(db, "intention_level", "D")
    update_option(db, admin, level_d.id, active=False)
    with pytest.raises(ValidationError) as refused:
        set_intention_level(db, manager, [opportunity.id], "D")
    assert refused.value.key == INTENTION_NOT_CHOOSABLE
    assert usage_counts(db, "intention_level") == {"E": 1}


def test_an_intention_level_code_is_one_letter(db, company):
    admin = company.actor(db, "admin")
    level = create_option(db, admin, "intention_level", label_en="S: signed up")
    assert level.code == "S"
    with pytest.raises(ValidationError):
        create_option(db, admin, "intention_level", label_en="Hot", code="HOT")


def test_stored_values_written_in_bulk_get_catalogue_entries(db, company):
    opportunity = add_owned_opportunity(db, company, "rep_a1", 1)
    stored = db.get(Lead, opportunity.lead_id)
    stored.campaign = "2026Q1-考研-百度"
    db.add(stored)
    db.add(LeadTag(lead_id=stored.id, tag="Webinar"))
    db.flush()
    assert catalogue_stored_values(db) == 2
    assert catalogue_stored_values(db) == 0
    categories = db.exec(
        select(MetadataOption.category, MetadataOption.code).where(
            MetadataOption.category.in_(("campaign", "tag"))
        )
    ).all()
    assert sorted(categories) == [("campaign", "2026Q1-考研-百度"), ("tag", "Webinar")]


def test_an_entrance_may_name_a_channel_by_its_label_in_any_case(db, company):
    admin = company.actor(db, "admin")
    google = create_option(db, admin, "channel", label_en="Google", label_zh="谷歌", group="paid")
    items = [lead("A", "13900000001"), lead("B", "13900000002"), lead("C", "13900000003")]
    items[0].channel, items[1].channel, items[2].channel = "GOOGLE", "谷歌", "搜索广告"
    result = intake_leads(db, admin, items, source="import")
    assert {o.status for o in result.outcomes} == {"created"}
    assert sorted(db.exec(select(Lead.channel)).all()) == ["google", "google", "sem"]
    # Disabled: its leads keep it, a new lead cannot take it.
    update_option(db, admin, google.id, active=False)
    accepted = intake_leads(db, admin, [lead("D", "13900000004")], source="form")
    assert accepted.outcomes[0].status == "created"
    item = lead("E", "13900000005")
    item.channel = "Google"
    [outcome] = intake_leads(db, admin, [item], source="form").outcomes
    assert outcome.status == "rejected" and outcome.field == "channel"
    assert usage_counts(db, "channel") == {"google": 2, "sem": 2}
