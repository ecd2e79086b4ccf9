"""The work-chat pages, in both languages: an administrator sets a unit's robot (the address
and secret never shown again), sends a test message to a fake robot on 127.0.0.1 and reads
the delivery log; a rep opts into pushes on their account page; a rep cannot open the
administrators' page."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.models import User, WorkChatOptIn, WorkChatRobot
from crm_core.platform import clock
from crm_core.platform.i18n import label_of, translate
from crm_core.platform.notices import send_counts
from crm_core.work_chat.delivery import run_push
from tests.apptest import assert_page_refused, signed_in
from tests.factories import SYSTEM
from tests.fake_work_chat import FakeRobot

PAGE = "pages/admin/work_chat.py"
ACCOUNT = "pages/workspace/account.py"


def speaks(db, username: str, lang: str) -> None:
    user = db.exec(select(User).where(User.username == username)).one()
    user.language = lang
    db.add(user)
    db.commit()


def submit(at, form: str):
    button = next(b for b in at.button if b.key.startswith(f"FormSubmitter:{form}"))
    return button.click().run()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_administrator_sets_tests_and_reads_the_log(app_env, db, lang):
    robot = FakeRobot()
    url = robot.start()
    try:
        speaks(db, "admin", lang)
        at = signed_in("admin")
        at.switch_page(PAGE).run()
        assert not at.exception, at.exception
        assert at.title[0].value == translate("Work-chat notices", lang)
        beijing = app_env.units["beijing"].id
        at.selectbox[0].set_value(beijing)
        at.selectbox[1].set_value("wecom")
        at.text_input[0].input(url)
        submit(at, "work_chat_robot")
        assert not at.exception, at.exception
        db.expire_all()
        stored = db.exec(select(WorkChatRobot)).one()
        assert stored.org_unit_id == beijing and "127.0.0.1" not in stored.webhook_encrypted
        # The table says only that an address is set.
        shown = at.dataframe[0].value.to_string()
        assert "127.0.0.1" not in shown and translate("Set", lang) in shown
        at.button(key="wc_test").click().run()
        assert not at.exception, at.exception
        assert len(robot.received) == 1
        assert any(
            translate("The robot took the test message.", lang) in s.value for s in at.success
        )
        # A pushed notice shows in the delivery log.
        rep = app_env.users["rep_a1"]
        db.add(WorkChatOptIn(user_id=rep.id, kind="dispatch.received", since=clock.now()))
        send_counts(db, "dispatch.received", {rep.id: 2}, clock.now())
        db.commit()
        run_push(db, SYSTEM)
        run_push(db, SYSTEM)
        db.commit()
        at.session_state["wc_tabs"] = translate("Delivery log", lang)
        at.run()
        assert not at.exception, at.exception
        log = at.dataframe[0].value
        assert list(log[translate("User", lang)]) == ["Rep A1"]
        sent = translate(label_of("work_chat.state", "sent"), lang)
        assert list(log[translate("State", lang)]) == [sent]
        assert len(robot.received) == 2 and "@Rep A1" in robot.texts()[1]
    finally:
        robot.stop()
    assert_page_refused(signed_in("rep_a1"), PAGE)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_rep_opts_into_pushes_on_the_account_page(app_env, db, lang):
    speaks(db, "rep_a1", lang)
    at = signed_in("rep_a1")
    at.switch_page(ACCOUNT).run()
    assert not at.exception, at.exception
    at.checkbox(key="push_dispatch.received").check()
    at.checkbox(key="push_recycle.warning").check()
    submit(at, "work_chat_opt_in")
    assert not at.exception, at.exception
    db.expire_all()
    rep = app_env.users["rep_a1"].id
    kinds = set(db.exec(select(WorkChatOptIn.kind).where(WorkChatOptIn.user_id == rep)).all())
    assert kinds == {"dispatch.received", "recycle.warning"}
    assert any(translate("Your choices are saved.", lang) in s.value for s in at.success)
    at.checkbox(key="push_recycle.warning").uncheck()
    submit(at, "work_chat_opt_in")
    db.expire_all()
    kinds = set(db.exec(select(WorkChatOptIn.kind).where(WorkChatOptIn.user_id == rep)).all())
    assert kinds == {"dispatch.received"}
