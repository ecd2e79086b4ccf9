"""The Collaborators section of the opportunity page and the shared list of board and
workbench, driven through the app."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.circulation.collaborators import add_collaborator
from crm_core.models import AuditLog, OpportunityCollaborator
from crm_core.platform.i18n import translate
from tests.apptest import signed_in
from tests.factories import add_owned_opportunity
from tests.test_sales_pages import links

DETAIL = "pages/sales/opportunity.py"
BOARD = "pages/sales/board.py"


@pytest.fixture
def opp(app_env, db):
    row = add_owned_opportunity(db, app_env, "rep_a1", 1)
    db.commit()
    return row


def _detail(username: str, opportunity_id: int):
    at = signed_in(username)
    at.switch_page(DETAIL)
    at.query_params["id"] = str(opportunity_id)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_owner_adds_changes_and_removes_a_collaborator(opp, app_env, db):
    at = _detail("rep_a1", opp.id)
    assert any(translate("Collaborators", "zh") in h.value for h in at.subheader)
    rep_c1 = app_env.users["rep_c1"].id
    at.selectbox(key="collab_user").set_value(rep_c1)
    at.selectbox(key="collab_access").set_value("follow_up")
    at.button(key="FormSubmitter:opp_collab_add-" + translate("Add collaborator", "zh")).click()
    at.run()
    assert not at.exception, at.exception
    assert any(translate("Collaborator added.", "zh") in s.value for s in at.success)
    db.expire_all()
    row = db.exec(select(OpportunityCollaborator)).one()
    assert (row.user_id, row.access) == (rep_c1, "follow_up")
    frame = at.dataframe[-1].value
    assert list(frame[translate("Colleague", "zh")]) == ["Rep C1"]

    at.selectbox(key=f"collab_change_{rep_c1}").set_value("read").run()
    at.button(key="collab_change").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    assert db.exec(select(OpportunityCollaborator.access)).one() == "read"

    at.button(key="collab_remove").click().run()
    assert not at.exception, at.exception
    db.expire_all()
    assert db.exec(select(OpportunityCollaborator)).all() == []
    actions = db.exec(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-3:] == [
        "opportunity.collaborator_add",
        "opportunity.collaborator_access",
        "opportunity.collaborator_remove",
    ]


def test_a_collaborator_sees_it_shared_and_only_the_forms_of_their_access(opp, app_env, db):
    owner = app_env.actor(db, "rep_a1")
    add_collaborator(db, owner, opp.id, app_env.users["rep_c1"].id, "read")
    db.commit()
    board = signed_in("rep_c1")
    board.switch_page(BOARD).run()
    assert not board.exception, board.exception
    assert any(f"#{opp.id} Lead 1" in label for label in links(board))
    assert any(translate("Shared with me", "zh") in e.label for e in board.expander)

    at = _detail("rep_c1", opp.id)
    assert any(f"#{opp.id} Lead 1" in title.value for title in at.title)
    note = translate("You collaborate on this opportunity with read access.", "zh")
    assert any(note in c.value for c in at.caption)
    assert len(at.tabs) == 0
    assert not [b for b in at.button if b.key == "collab_remove"]

    row = db.exec(select(OpportunityCollaborator)).one()
    row.access = "follow_up"
    db.add(row)
    db.commit()
    at = _detail("rep_c1", opp.id)
    labels = [tab.label for tab in at.tabs]
    assert labels == [
        translate("Log a follow-up", "zh"),
        translate("Intention and next follow-up", "zh"),
    ]


def test_a_removed_collaborator_finds_nothing_on_the_next_open(opp, app_env, db):
    from crm_core.circulation.collaborators import remove_collaborator

    owner = app_env.actor(db, "rep_a1")
    add_collaborator(db, owner, opp.id, app_env.users["rep_c1"].id, "read")
    db.commit()
    _detail("rep_c1", opp.id)
    remove_collaborator(db, owner, opp.id, app_env.users["rep_c1"].id)
    db.commit()
    at = _detail("rep_c1", opp.id)
    assert at.error
    assert not any("Lead 1" in title.value for title in at.title)


def test_the_section_reads_in_english_too(opp, app_env, db):
    from crm_core.models import User

    user = db.get(User, app_env.users["rep_a1"].id)
    user.language = "en"
    db.add(user)
    db.commit()
    at = _detail("rep_a1", opp.id)
    assert any(h.value == "Collaborators" for h in at.subheader)
    assert any("Nobody else works on this opportunity." in c.value for c in at.caption)
