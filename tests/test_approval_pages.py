"""The approval pages, in both languages: an administrator configures a flow; a manager's
re-activation waits in the administrator's inbox with its history and is approved there;
the manager sees it under their own requests; a rep cannot open the flows page and sees an
empty inbox."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.approvals.entry import request_or_reactivate
from crm_core.models import ApprovalFlow, ApprovalRequest, Opportunity, User
from crm_core.org.access import load_actor
from crm_core.org.users import role_by_code
from crm_core.platform.i18n import translate
from tests.approval_world import dormant, flow
from tests.apptest import assert_page_refused, signed_in

FLOWS = "pages/admin/approval_flows.py"
INBOX = "pages/workspace/approval_inbox.py"


def speaks(db, username: str, lang: str) -> None:
    user = db.exec(select(User).where(User.username == username)).one()
    user.language = lang
    db.add(user)
    db.commit()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_administrator_adds_a_flow(app_env, db, lang):
    speaks(db, "admin", lang)
    at = signed_in("admin")
    at.switch_page(FLOWS).run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("Approval flows", lang)
    at.selectbox(key="flows_kind_new").set_value("refund")
    at.text_input(key="flows_floor_new").input("5000")
    manager, admin = role_by_code(db, "sales_manager").id, role_by_code(db, "admin").id
    at.multiselect(key="flows_steps_new").set_value([manager, admin])
    at.button(key="flows_save").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    stored = db.exec(select(ApprovalFlow)).one()
    assert (stored.kind, str(stored.min_amount), stored.steps) == (
        "refund",
        "5000.00",
        [manager, admin],
    )
    assert len(at.dataframe) == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_request_is_approved_from_the_inbox(app_env, db, lang):
    flow(db, "reactivation", ["admin"])
    opp = dormant(db, app_env)
    request_or_reactivate(db, load_actor(db, app_env.users["bj_manager"].id), [opp.id])
    db.commit()
    speaks(db, "admin", lang)
    at = signed_in("admin")
    at.switch_page(INBOX).run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("Approvals", lang)
    [request] = db.exec(select(ApprovalRequest)).all()
    at.button(key=f"approval_yes_{request.id}").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    assert db.get(Opportunity, opp.id).pool_state == "unassigned"
    assert db.get(ApprovalRequest, request.id).state == "approved"
    speaks(db, "bj_manager", lang)
    mine = signed_in("bj_manager")
    mine.switch_page(INBOX).run()
    mine.segmented_control(key="approvals_view").set_value("mine").run()
    assert not mine.exception, mine.exception
    assert any(f"#{request.id}" in c.value for c in mine.caption)


def test_a_rep_sees_an_empty_inbox_and_cannot_configure_flows(app_env, db):
    at = signed_in("rep_a1")
    at.switch_page(INBOX).run()
    assert not at.exception, at.exception
    assert at.info
    assert_page_refused(signed_in("rep_a1"), FLOWS)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_opportunity_page_shows_its_waiting_request_and_history(app_env, db, lang):
    flow(db, "reactivation", ["admin"])
    opp = dormant(db, app_env)
    request_or_reactivate(db, load_actor(db, app_env.users["bj_manager"].id), [opp.id])
    db.commit()
    [request] = db.exec(select(ApprovalRequest)).all()
    speaks(db, "bj_manager", lang)
    at = signed_in("bj_manager")
    at.switch_page("pages/sales/opportunity.py")
    at.query_params["id"] = str(opp.id)
    at.run()
    assert not at.exception, at.exception
    heading = translate("Approval requests ({count})", lang, count=1)
    assert any(e.label == heading for e in at.expander)
    assert any(f"#{request.id}" in m.value for m in at.markdown)
    decision = translate("Decision", lang)
    [history] = [d.value for d in at.dataframe if decision in d.value.columns]
    assert list(history[decision]) == [translate("Asked", lang)]
