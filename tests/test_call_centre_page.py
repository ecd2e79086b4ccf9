"""The call-centre page and click-to-call on the opportunity, in both languages: an
administrator adds a line and a seat and sets the vendor (the secret not shown again); the
rep with the seat presses "Call from my seat" and the call rings through the vendor; the call
log shows the calls, numbers masked for a reader without the permission."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.calls.providers import save_call_provider_config
from crm_core.calls.setup import save_line, save_seat
from crm_core.models import CallLine, CallRecord, CallSeat, Setting, User
from crm_core.platform.i18n import translate
from tests.apptest import assert_page_refused, signed_in
from tests.factories import SYSTEM, add_owned_opportunity
from tests.fake_call_centre import FakeCallCentre

PAGE = "pages/admin/call_centre.py"
DETAIL = "pages/sales/opportunity.py"


def speaks(db, username: str, lang: str) -> None:
    user = db.exec(select(User).where(User.username == username)).one()
    user.language = lang
    db.add(user)
    db.commit()


def submit(at, form: str):
    button = next(b for b in at.button if b.key.startswith(f"FormSubmitter:{form}"))
    return button.click().run()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_administrator_sets_up_lines_seats_and_the_vendor(app_env, db, lang):
    speaks(db, "admin", lang)
    at = signed_in("admin")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("Call centre", lang)
    at.session_state["calls_tabs"] = translate("Lines", lang)
    at.run()
    at.text_input[0].input("Beijing")
    at.text_input[1].input("010 5555 0100")
    submit(at, "calls_line")
    assert not at.exception, at.exception
    db.expire_all()
    assert db.exec(select(CallLine.caller_number)).all() == ["+861055550100"]
    at.session_state["calls_tabs"] = translate("Seats", lang)
    at.run()
    at.text_input[0].input("8001")
    submit(at, "calls_seat")
    assert not at.exception, at.exception
    db.expire_all()
    assert db.exec(select(CallSeat.seat_no)).all() == ["8001"]
    at.session_state["calls_tabs"] = translate("Provider", lang)
    at.run()
    at.selectbox[0].set_value("http")
    at.text_input[0].input("https://calls.example.com")
    secret = next(
        i
        for i in at.text_input
        if i.label
        == translate("Secret (stored encrypted; leave empty to keep the stored one)", lang)
    )
    secret.input("vendor-secret-1")
    submit(at, "calls_provider")
    assert not at.exception, at.exception
    db.expire_all()
    assert "vendor-secret-1" not in str(db.get(Setting, "calls.provider").value)
    for tab in ("Call log", "Import call records"):
        at.session_state["calls_tabs"] = translate(tab, lang)
        at.run()
        assert not at.exception, (tab, at.exception)
    assert_page_refused(signed_in("rep_a1"), PAGE)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_rep_calls_from_the_opportunity(app_env, db, lang):
    opp = add_owned_opportunity(db, app_env, "rep_a1", 1)
    vendor = FakeCallCentre("s")
    url = vendor.start()
    try:
        save_call_provider_config(
            db, SYSTEM, kind="http", base_url=url, secret="s", timeout_seconds=2
        )
        line = save_line(db, SYSTEM, name="Beijing", caller_number="01055550100")
        save_seat(db, SYSTEM, seat_no="8001", user_id=app_env.users["rep_a1"].id, line_id=line.id)
        db.commit()
        speaks(db, "rep_a1", lang)
        at = signed_in("rep_a1")
        at.switch_page(DETAIL)
        at.query_params["id"] = str(opp.id)
        at.run()
        assert not at.exception, at.exception
        at.button(key="opp_call_button").click().run()
        assert not at.exception, at.exception
        assert [r["callee"] for r in vendor.requests] == ["+8613800000001"]
        db.expire_all()
        assert db.exec(select(CallRecord.state)).all() == ["ringing"]
        assert translate("Ringing", lang) in [c.value for c in at.caption]
    finally:
        vendor.stop()
    # A rep without a seat sees no call button.
    other = add_owned_opportunity(db, app_env, "rep_a2", 2)
    at = signed_in("rep_a2")
    at.switch_page(DETAIL)
    at.query_params["id"] = str(other.id)
    at.run()
    assert not at.exception, at.exception
    assert "opp_call_button" not in [b.key for b in at.button]


WORKBENCH = "pages/sales/workbench.py"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_rep_calls_from_the_workbench(app_env, db, lang):
    """The workbench offers the rep's own opportunities with a number and calls the picked
    one through the opportunity page's button; a rep without a seat gets the reason only,
    and with calling off nobody sees anything of it."""
    mine = add_owned_opportunity(db, app_env, "rep_a1", 1)
    add_owned_opportunity(db, app_env, "rep_a2", 2)  # work for the rep without a seat
    vendor = FakeCallCentre("s")
    url = vendor.start()
    try:
        save_call_provider_config(
            db, SYSTEM, kind="http", base_url=url, secret="s", timeout_seconds=2
        )
        line = save_line(db, SYSTEM, name="Beijing", caller_number="01055550100")
        save_seat(db, SYSTEM, seat_no="8001", user_id=app_env.users["rep_a1"].id, line_id=line.id)
        db.commit()
        for rep in ("rep_a1", "rep_a2"):
            speaks(db, rep, lang)
        at = signed_in("rep_a1")
        at.switch_page(WORKBENCH).run()
        assert not at.exception, at.exception
        picker = at.selectbox(key="bench_call_pick")
        assert picker.options == [picker.format_func(mine.id)]  # only the rep's own
        at.button(key="bench_call_button").click().run()
        assert not at.exception, at.exception
        assert [r["callee"] for r in vendor.requests] == ["+8613800000001"]
        db.expire_all()
        [call] = db.exec(select(CallRecord)).all()
        assert (call.state, call.opportunity_id, call.user_id, call.source) == (
            "ringing",
            mine.id,
            app_env.users["rep_a1"].id,
            "click",
        )
        assert translate("Ringing", lang) in [c.value for c in at.caption]
        # Another rep without a seat: no button, the reason in one line.
        at = signed_in("rep_a2")
        at.switch_page(WORKBENCH).run()
        assert not at.exception, at.exception
        assert "bench_call_button" not in [b.key for b in at.button]
        reason = translate(
            "Click-to-call needs a seat on an active line: ask the call-centre administrator.",
            lang,
        )
        assert reason in [c.value for c in at.caption]
    finally:
        vendor.stop()
    # Calling off: nothing of it on the workbench, not even for the rep with the seat.
    save_call_provider_config(db, SYSTEM, kind="none")
    db.commit()
    at = signed_in("rep_a1")
    at.switch_page(WORKBENCH).run()
    assert not at.exception, at.exception
    assert "bench_call_button" not in [b.key for b in at.button]
    assert "bench_call_pick" not in [s.key for s in at.selectbox]
