"""The company's own option lists and business lines: added, renamed, disabled, audited;
found whatever the case of the words."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.models import AuditLog
from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.metadata import (
    create_business_line,
    create_option,
    find_business_line,
    find_option,
    list_business_lines,
    list_options,
    update_business_line,
    update_option,
)
from tests.factories import build_small_company


@pytest.fixture
def company(db):
    return build_small_company(db)


def test_an_administrator_adds_a_channel_found_in_any_case(db, company):
    admin = company.actor(db, "admin")
    google = create_option(db, admin, "channel", label_en="Google", label_zh="谷歌", group="paid")
    assert google.code == "google" and google.option_group == "paid"
    for spelling in ("google", "GOOGLE", " Google ", "谷歌"):
        assert find_option(db, "channel", spelling).id == google.id
    with pytest.raises(ValidationError) as refused:
        create_option(db, admin, "channel", label_en="google")
    assert refused.value.key == "The list already has an option {code}."
    entry = db.exec(select(AuditLog).where(AuditLog.action == "metadata.create")).one()
    assert entry.after["code"] == "google"


def test_a_chinese_label_keeps_its_characters_as_code(db, company):
    douyin = create_option(db, company.actor(db, "admin"), "channel", label_en="抖音")
    assert douyin.code == "抖音" and douyin.label_zh == "抖音"
    assert find_option(db, "channel", "抖音").id == douyin.id


def test_a_disabled_option_is_no_longer_offered_but_still_found(db, company):
    admin = company.actor(db, "admin")
    baidu = create_option(db, admin, "channel", label_en="Baidu", label_zh="百度")
    update_option(db, admin, baidu.id, active=False, label_en="Baidu search")
    assert baidu.code not in {o.code for o in list_options(db, "channel")}
    assert find_option(db, "channel", "baidu search").id == baidu.id
    assert find_option(db, "channel", "baidu search", active_only=True) is None
    entry = db.exec(select(AuditLog).where(AuditLog.action == "metadata.update")).one()
    assert entry.before["active"] is True and entry.after["active"] is False


def test_stages_are_fixed_and_groups_are_checked(db, company):
    admin = company.actor(db, "admin")
    with pytest.raises(ValidationError):
        create_option(db, admin, "stage", label_en="Negotiation")
    with pytest.raises(ValidationError):
        create_option(db, admin, "channel", label_en="Radio", group="sometimes")
    with pytest.raises(ValidationError):
        create_option(db, admin, "colour", label_en="Red")


def test_only_metadata_managers_change_lists(db, company):
    for username in ("rep_a1", "bj_manager"):
        with pytest.raises(PermissionDenied):
            create_option(db, company.actor(db, username), "channel", label_en="TikTok")
        with pytest.raises(PermissionDenied):
            create_business_line(db, company.actor(db, username), name="IELTS")


def test_business_lines_are_added_renamed_and_disabled(db, company):
    admin = company.actor(db, "admin")
    ielts = create_business_line(db, admin, name="IELTS")
    assert ielts.code == "ielts"
    assert find_business_line(db, "ielts").id == ielts.id
    with pytest.raises(ValidationError):
        create_business_line(db, admin, name="ielts")
    update_business_line(db, admin, ielts.id, name="IELTS prep", active=False)
    assert ielts.id not in {line.id for line in list_business_lines(db)}
    assert find_business_line(db, "IELTS PREP").id == ielts.id
    actions = db.exec(select(AuditLog.action).where(AuditLog.target_type == "business_line")).all()
    assert sorted(actions) == ["business_line.create", "business_line.update"]


def test_default_intention_levels_and_channel_groups(db):
    assert [o.code for o in list_options(db, "intention_level")] == ["A", "B", "C", "D"]
    groups = {o.code: o.option_group for o in list_options(db, "channel")}
    assert groups["sem"] == "paid" and groups["referral"] == "referral"
