"""The metadata page: an administrator adds, renames and disables a channel (which then is
no longer offered for a new lead), in both languages; a rep cannot open it."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.models import AuditLog, MetadataOption
from crm_core.platform.i18n import translate
from crm_core.platform.metadata import find_option, update_option
from tests.apptest import assert_page_refused, signed_in

PAGE = "pages/admin/metadata.py"
LIBRARY = "pages/leads/library.py"


def submit(at, form: str):
    """Click the submit button of the form whose key starts with `form`."""
    button = next(b for b in at.button if b.key.startswith(f"FormSubmitter:{form}"))
    return button.click().run()


def speaks(db, company, username: str, lang: str) -> None:
    user = company.users[username]
    user.language = lang
    db.add(user)
    db.commit()


def new_lead_channels(username: str, lang: str) -> list[str]:
    """The channel choices of the library's new-lead form, as the user reads them."""
    at = signed_in(username)
    at.switch_page(LIBRARY).run()
    assert not at.exception, at.exception
    label = translate("Channel", lang) + " *"
    box = next(b for b in at.selectbox if b.label == label)
    return list(box.options)


def channel(db, code: str) -> MetadataOption:
    db.expire_all()
    return db.exec(
        select(MetadataOption).where(
            MetadataOption.category == "channel", MetadataOption.code == code
        )
    ).one()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_admin_adds_renames_and_disables_a_channel(app_env, db, lang):
    speaks(db, app_env, "admin", lang)
    at = signed_in("admin")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("Metadata", lang)
    tab_names = [tab.label for tab in at.tabs]
    assert translate("Channels", lang) in tab_names
    assert translate("Stage labels", lang) in tab_names
    # Only the open tab runs: open the channels.
    at.session_state["meta_tabs"] = translate("Channels", lang)
    at.run()
    assert not at.exception, at.exception

    at.text_input(key="meta_add_en_channel_0").input("TikTok")
    at.text_input(key="meta_add_zh_channel_0").input("抖音")
    at.selectbox(key="meta_add_group_channel_0").set_value("paid")
    submit(at, "meta_add_channel_0")
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [translate("{label} added.", lang, label="TikTok")]
    tiktok = channel(db, "tiktok")
    assert (tiktok.label_zh, tiktok.option_group, tiktok.active) == ("抖音", "paid", True)
    shown = "抖音" if lang == "zh" else "TikTok"
    assert shown in new_lead_channels("admin", lang)

    # The same word again, in another case: refused on the page, nothing stored.
    at.text_input(key="meta_add_en_channel_1").input("TIKTOK")
    submit(at, "meta_add_channel_1")
    assert [e.value for e in at.error] == [
        translate("The list already has an option {code}.", lang, code="tiktok")
    ]

    at.selectbox(key="meta_pick_channel").set_value(tiktok.id).run()
    form = f"meta_edit_channel_{tiktok.id}_1"
    at.text_input(key=f"{form}_en").input("TikTok ads")
    submit(at, form)
    assert not at.exception, at.exception
    assert channel(db, "tiktok").label_en == "TikTok ads"

    at.button(key=f"meta_toggle_channel_{tiktok.id}").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        translate("{label} disabled.", lang, label="TikTok ads")
    ]
    assert channel(db, "tiktok").active is False
    shown = "抖音" if lang == "zh" else "TikTok ads"
    assert shown not in new_lead_channels("admin", lang)
    actions = db.exec(
        select(AuditLog.action).where(AuditLog.target_type == "metadata_option")
    ).all()
    assert actions == ["metadata.create", "metadata.update", "metadata.update"]


def test_every_tab_opens_and_a_business_line_is_added(app_env, db):
    at = signed_in("admin")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    labels = [tab.label for tab in at.tabs]
    assert len(labels) == 8
    for label in labels[1:]:
        at.session_state["meta_tabs"] = label
        at.run()
        assert not at.exception, (label, at.exception)
        # The open tab's own list: its entries to change, or word that it has none yet.
        pick = any(b.key.startswith("meta_pick_") for b in at.selectbox)
        empty = translate("This list has no entries yet.", "zh") in [c.value for c in at.caption]
        assert pick or empty, label
    at.session_state["meta_tabs"] = labels[0]
    at.run()
    at.text_input(key="meta_line_name_0").input("IELTS")
    submit(at, "meta_add_line_0")
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [translate("{label} added.", "zh", label="IELTS")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_rep_cannot_open_the_metadata_page(app_env, db, lang):
    speaks(db, app_env, "rep_a1", lang)
    at = signed_in("rep_a1")
    assert_page_refused(at, PAGE)


def test_a_renamed_stage_reads_with_its_new_label(app_env, db):
    admin = app_env.actor(db, "admin")
    qualified = find_option(db, "stage", "qualified")
    update_option(db, admin, qualified.id, label_zh="需求已确认")
    db.commit()
    at = signed_in("admin")
    at.switch_page("pages/sales/board.py").run()
    assert not at.exception, at.exception
    assert "需求已确认" in at.selectbox(key="board_f_stage").options
    at.session_state["meta_tabs"] = translate("Stage labels", "zh")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert any(b.key == "meta_pick_stage" for b in at.selectbox)
    # Stages have no add form and no disable button: only their labels change.
    assert not any(f.key and f.key.startswith("meta_add_stage") for f in at.get("form"))
    assert not any(b.key.startswith("meta_toggle_stage") for b in at.button)
