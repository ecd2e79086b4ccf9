"""AppTest: the workbench, the opportunity board and the opportunity detail page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from crm_core.models import FollowUp, Opportunity
from crm_core.platform import clock
from crm_core.platform.i18n import NC_, translate
from tests.apptest import login
from tests.factories import add_owned_opportunity

DETAIL = "pages/sales/opportunity.py"
BOARD = "pages/sales/board.py"


def links(at) -> list[str]:
    """The labels of the page links the page shows."""
    return [node.proto.label for node in _walk(at.main) if getattr(node, "type", "") == "page_link"]


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


@pytest.fixture
def work(app_env, db):
    """rep_a1 holds two opportunities: one overdue, one new and untouched; rep_a2 one."""
    late = add_owned_opportunity(db, app_env, "rep_a1", 1)
    row = db.get(Opportunity, late.id)
    row.next_follow_up_at = clock.now() - timedelta(hours=5)
    row.first_follow_up_at = clock.now() - timedelta(days=2)
    db.add(row)
    fresh = add_owned_opportunity(db, app_env, "rep_a1", 2)
    other = add_owned_opportunity(db, app_env, "rep_a2", 3)
    db.commit()
    return late, fresh, other


def test_a_rep_lands_on_the_workbench_with_links_to_their_work(work):
    late, fresh, other = work
    at = login("rep_a1")
    assert not at.exception
    assert any("欢迎,Rep A1" in title.value for title in at.title)
    labels = links(at)
    assert any(f"#{late.id} Lead 1" in label for label in labels)  # overdue
    assert any(f"#{fresh.id} Lead 2" in label for label in labels)  # new, untouched
    assert not any(f"#{other.id} " in label for label in labels)
    # overdue, due later today, new and not yet contacted
    assert [m.value for m in at.metric][:3] == ["1", "0", "1"]


def test_a_manager_sees_the_team_backlog(work):
    at = login("bj_manager")
    assert not at.exception
    frame = at.dataframe[-1].value
    assert set(frame[translate(NC_("board.filter", "Rep"), "zh")]) == {"Rep A1", "Rep A2"}


def test_the_detail_page_logs_a_follow_up(work, db):
    late, _, _ = work
    at = login("rep_a1")
    at.switch_page(DETAIL)
    at.query_params["id"] = str(late.id)
    at.run()
    assert not at.exception
    assert any(f"#{late.id} Lead 1" in title.value for title in at.title)
    at.text_area[0].input("Asked about weekend classes")
    at.button(key="opp_fu0_save").click()
    at.run()
    assert not at.exception, at.exception
    assert any(translate("Follow-up saved.", "zh") in s.value for s in at.success)
    db.expire_all()
    follow_up = db.exec(select(FollowUp)).one()
    assert (follow_up.opportunity_id, follow_up.content) == (late.id, "Asked about weekend classes")
    assert db.get(Opportunity, late.id).last_follow_up_at is not None
    # The form starts empty again.
    assert at.text_area(key="opp_fu1_content").value == ""


def test_the_follow_up_form_asks_only_what_the_chosen_stage_needs(work, db):
    late, _, _ = work
    at = login("rep_a1")
    at.switch_page(DETAIL)
    at.query_params["id"] = str(late.id)
    at.run()
    lost_label = translate("Why was it lost?", "zh")
    trial_label = translate("Trial date", "zh")
    assert lost_label not in [box.label for box in at.selectbox]
    assert trial_label not in [day.label for day in at.date_input]
    at.selectbox(key="opp_fu0_stage").set_value("trial_booked").run()
    assert trial_label in [day.label for day in at.date_input]
    assert lost_label not in [box.label for box in at.selectbox]
    at.selectbox(key="opp_fu0_stage").set_value("lost").run()
    assert lost_label in [box.label for box in at.selectbox]
    assert trial_label not in [day.label for day in at.date_input]
    # Lost needs no next follow-up: the field is gone too.
    assert translate("Next follow-up", "zh") not in [day.label for day in at.date_input]
    at.text_area(key="opp_fu0_content").input("Went with another school")
    at.selectbox(key="opp_fu0_lost_reason").set_value("competitor")
    at.button(key="opp_fu0_save").click().run()
    assert not at.exception
    db.expire_all()
    row = db.get(Opportunity, late.id)
    assert (row.stage, row.lost_reason) == ("lost", "competitor")


def test_a_revealed_phone_reads_nationally_with_a_call_link(work):
    late, _, _ = work
    at = login("rep_a1")
    at.switch_page(DETAIL)
    at.query_params["id"] = str(late.id)
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "tel:" not in text  # masked: nothing to dial yet
    at.button(key="opp_reveal").click().run()
    text = " ".join(m.value for m in at.markdown)
    assert "138 0000 0001" in text and "(tel:+8613800000001)" in text


def test_a_refused_follow_up_says_why(work):
    late, _, _ = work
    at = login("rep_a1")
    at.switch_page(DETAIL)
    at.query_params["id"] = str(late.id)
    at.run()
    at.button(key="opp_fu0_save").click()  # nothing written
    at.run()
    assert any(
        translate("Write what was said, or choose a result.", "zh") in e.value for e in at.error
    )


def test_a_rep_cannot_open_another_reps_opportunity_by_id(work):
    _, _, other = work
    at = login("rep_a1")
    at.switch_page(DETAIL)
    at.query_params["id"] = str(other.id)
    at.run()
    assert not at.exception
    assert any("未找到" in e.value or "不存在" in e.value for e in at.error)
    assert not any("Lead 3" in title.value for title in at.title)


def test_the_board_shows_only_the_readers_scope(work, app_env):
    at = login("rep_a1")
    at.switch_page(BOARD).run()
    assert not at.exception
    labels = links(at)
    assert any("Lead 1" in label for label in labels)
    assert not any("Lead 3" in label for label in labels)
    at.segmented_control(key="board_view").set_value("list").run()
    assert not at.exception
    assert sorted(at.dataframe[0].value[translate("Lead", "zh")]) == ["Lead 1", "Lead 2"]

    manager = login("bj_manager")
    manager.switch_page(BOARD).run()
    manager.segmented_control(key="board_view").set_value("list").run()
    assert sorted(manager.dataframe[0].value[translate("Lead", "zh")]) == [
        "Lead 1",
        "Lead 2",
        "Lead 3",
    ]
    manager.selectbox(key="board_f_owner").set_value(app_env.users["rep_a2"].id).run()
    assert list(manager.dataframe[0].value[translate("Lead", "zh")]) == ["Lead 3"]


def test_a_manager_gives_a_requested_transfer_on_the_desk(work, app_env, db):
    from crm_core.sales.transfers import request_transfer

    late, _, _ = work
    request = request_transfer(db, app_env.actor(db, "rep_a1"), late.id, "Moved to Shanghai")
    db.commit()
    at = login("lead_a")
    at.switch_page("pages/circulation/desk.py").run()
    assert not at.exception
    assert any("Moved to Shanghai" in m.value for m in at.markdown)
    at.selectbox(key=f"transfer_to_{request.id}").set_value(app_env.users["rep_a2"].id).run()
    at.button(key=f"transfer_give_{request.id}").click().run()
    assert not at.exception
    assert any(
        translate("Transferred; the rep has been told.", "zh") in s.value for s in at.success
    )
    db.expire_all()
    assert db.get(Opportunity, late.id).owner_id == app_env.users["rep_a2"].id


def test_new_work_arrives_on_an_open_workbench_with_a_toast(work, app_env, db):
    """What dispatch hands out while the page is open shows up on the page's next poll, with a
    toast for the newcomer and the new notice; what was there at first gets no toast."""
    from crm_core.platform.notices import send_counts

    at = login("rep_a1")
    assert not at.exception and not at.toast
    arrived = add_owned_opportunity(db, app_env, "rep_a1", 4)
    send_counts(db, "dispatch.received", {app_env.users["rep_a1"].id: 1}, clock.now())
    db.commit()
    at.run()
    assert not at.exception
    toasts = [toast.value for toast in at.toast]
    assert translate("New assignment: {name}", "zh").format(name="Lead 4") in toasts
    assert "您收到了 1 个新商机。" in toasts
    assert len(toasts) == 2
    assert any(f"#{arrived.id} Lead 4" in label for label in links(at))
    at.run()
    assert not at.toast


def test_the_workbench_polls_its_live_parts():
    """The new assignments and the notices are fragments on a timer of at most 15 s."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path("pages/sales/workbench.py").read_text(encoding="utf-8"))
    polled = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(d, ast.Call)
            and getattr(d.func, "attr", "") == "fragment"
            and any(k.arg == "run_every" for k in d.keywords)
            for d in node.decorator_list
        )
    }
    assert polled == {"live_new_assignments", "live_notices"}
    assert "REFRESH_SECONDS = 15" in Path("pages/sales/workbench.py").read_text(encoding="utf-8")


def test_a_manager_acts_on_rows_checked_in_the_board_list(work, app_env, db):
    late, fresh, other = work
    at = login("bj_manager")
    at.switch_page(BOARD).run()
    at.segmented_control(key="board_view").set_value("list").run()
    assert not at.exception
    at.session_state["board_pick"] = [fresh.id]
    at.run()
    at.selectbox(key="board_rep").set_value(app_env.users["rep_a2"].id).run()
    at.button(key="board_assign").click().run()
    assert not at.exception
    assert any("已将 1 个商机分给 Rep A2" in s.value for s in at.success)
    db.expire_all()
    assert db.get(Opportunity, fresh.id).owner_id == app_env.users["rep_a2"].id
    assert db.get(Opportunity, late.id).owner_id == app_env.users["rep_a1"].id
    assert at.session_state["board_pick"] == []


def test_a_rep_has_no_bulk_acts_on_the_board_list(work):
    at = login("rep_a1")
    at.switch_page(BOARD).run()
    at.segmented_control(key="board_view").set_value("list").run()
    assert not at.exception
    assert not [b for b in at.button if b.key and b.key.startswith("board_assign")]
