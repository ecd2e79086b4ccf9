"""Regression tests for the sign-in findings of the security issue (3, 10, 12, 14, 15).

Each test is named after its finding and failed on the code before the fix.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from crm_core.models import LoginEvent, User
from crm_core.org import auth
from crm_core.platform import clock
from crm_core.platform.i18n import translate
from db.engine import build_engine
from tests.factories import PASSWORD, build_small_company

WRONG = "wrong-pass1"
THREADS = 40
# Long enough for every thread of a burst to get its turn on a busy machine; the waits end
# as soon as the awaited thing happens, they are not sleeps.
GATE_TIMEOUT = 120


@pytest.fixture
def company(db):
    clock.freeze(datetime(2026, 11, 2, 9, 0))
    return build_small_company(db)


@pytest.fixture
def threads_engine(database_url):
    """A connection per thread: the pool would make the burst queue for connections."""
    engine = build_engine(database_url, pooled=False)
    yield engine
    engine.dispose()


class HashSpy:
    """Counts the bcrypt checks made against one account's real hash, by password."""

    def __init__(self, monkeypatch, password_hash: str) -> None:
        self.password_hash = password_hash
        self.checked: list[str] = []
        self._lock = threading.Lock()
        self.hold_right = False
        self.right_in_check = threading.Event()
        self.release = threading.Event()
        original = auth.password_matches

        def spy(password: str, stored: str) -> bool:
            if stored == self.password_hash:
                with self._lock:
                    self.checked.append(password)
                if password == PASSWORD and self.hold_right:
                    # Keep the right password's check in flight while the burst runs.
                    self.right_in_check.set()
                    self.release.wait(GATE_TIMEOUT)
            return original(password, stored)

        monkeypatch.setattr(auth, "password_matches", spy)

    def count(self, password: str) -> int:
        return sum(1 for p in self.checked if p == password)


def _sign_in(engine, password: str, results: list, barrier: threading.Barrier | None = None):
    with Session(engine, expire_on_commit=False) as session:
        if barrier is not None:
            barrier.wait(GATE_TIMEOUT)
        results.append(auth.authenticate(session, "rep_a1", password))


def _burst(engine, passwords: list[str]) -> list[auth.LoginResult]:
    results: list[auth.LoginResult] = []
    barrier = threading.Barrier(len(passwords))
    threads = [
        threading.Thread(target=_sign_in, args=(engine, pw, results, barrier)) for pw in passwords
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GATE_TIMEOUT)
    assert len(results) == len(passwords)
    return results


def _account(db) -> User:
    db.expire_all()
    return db.exec(select(User).where(User.username == "rep_a1")).one()


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_finding_3_parallel_guessing_passes_lockout(db, company, threads_engine, monkeypatch):
    """40 wrong passwords at once: only the allowed 5 reach bcrypt, and the account locks."""
    spy = HashSpy(monkeypatch, company.users["rep_a1"].password_hash)
    results = _burst(threads_engine, [WRONG] * THREADS)

    assert spy.count(WRONG) == 5, f"{spy.count(WRONG)} wrong passwords were checked"
    assert not any(r.ok for r in results)
    account = _account(db)
    assert account.locked_until == clock.now() + timedelta(minutes=15)
    # Every refused attempt is in the sign-in log.
    events = db.exec(select(LoginEvent.event).where(LoginEvent.username == "rep_a1")).all()
    assert events.count("failure") == 5
    assert events.count("refused_locked") == THREADS - 5
    # The right password after the burst is refused without a check, until the lock ends.
    assert not auth.authenticate(db, "rep_a1", PASSWORD).ok
    assert spy.count(PASSWORD) == 0
    clock.advance(timedelta(minutes=15, seconds=1))
    assert auth.authenticate(db, "rep_a1", PASSWORD).ok


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_finding_3_right_password_in_the_burst_does_not_clear_the_lock(
    db, company, threads_engine, monkeypatch
):
    """The right password is being checked while 40 wrong ones arrive: the wrong ones lock
    the account, and the right one, finishing last, neither signs in nor clears the lock."""
    spy = HashSpy(monkeypatch, company.users["rep_a1"].password_hash)
    spy.hold_right = True
    right: list[auth.LoginResult] = []
    first = threading.Thread(target=_sign_in, args=(threads_engine, PASSWORD, right))
    first.start()
    try:
        assert spy.right_in_check.wait(GATE_TIMEOUT)
        results = _burst(threads_engine, [WRONG] * THREADS)
    finally:
        spy.release.set()
        first.join(GATE_TIMEOUT)

    # Five attempts in all were allowed: the right one and four wrong ones.
    assert spy.count(PASSWORD) == 1
    assert spy.count(WRONG) == 4, f"{spy.count(WRONG)} wrong passwords were checked"
    assert not any(r.ok for r in results)
    assert len(right) == 1 and not right[0].ok
    account = _account(db)
    assert account.locked_until is not None and account.locked_until > clock.now()
    assert not auth.authenticate(db, "rep_a1", PASSWORD).ok


def test_finding_3_old_password_guesses_count_towards_the_lock(db, company, monkeypatch):
    """The account page's "current password" is a password check too: guessing it there
    uses up the same allowance as the sign-in form, and a locked account checks nothing."""
    from crm_core.platform.errors import ValidationError

    actor = company.actor(db, "rep_a1")
    spy = HashSpy(monkeypatch, company.users["rep_a1"].password_hash)
    for _ in range(5):
        with pytest.raises(ValidationError) as wrong:
            auth.change_password(db, actor, WRONG, "n3w-password")
        assert wrong.value.key == "The current password is not correct."
    with pytest.raises(ValidationError) as locked:
        auth.change_password(db, actor, PASSWORD, "n3w-password")
    assert locked.value.key == "Too many wrong passwords. Try again in {minutes} minutes."
    assert spy.count(PASSWORD) == 0 and spy.count(WRONG) == 5
    assert not auth.authenticate(db, "rep_a1", PASSWORD).ok
    clock.advance(timedelta(minutes=16))
    auth.change_password(db, actor, PASSWORD, "n3w-password")
    assert auth.authenticate(db, "rep_a1", "n3w-password").ok


# -- Finding 10 (long passwords) and 15 (a password ending in a space) ---------------------

TOO_LONG = {
    "73 ASCII bytes": "a1" * 36 + "x",
    "26 characters, 76 bytes": "汉字" * 12 + "a1xx",
}


def _set_password_everywhere(db, company, password: str) -> list[str]:
    """Set `password` in each place the product sets one; the error key each answered."""
    from crm_core.org.users import create_user, reset_password
    from crm_core.platform.errors import ValidationError

    admin = company.actor(db, "admin")
    user = db.get(User, company.users["rep_a2"].id)
    user.must_change_password = True  # the first-password change
    db.add(user)
    db.commit()
    attempts = {
        "account page": lambda: auth.change_password(
            db, company.actor(db, "rep_a1"), PASSWORD, password
        ),
        "first password": lambda: auth.change_password(
            db, company.actor(db, "rep_a2"), PASSWORD, password
        ),
        "admin reset": lambda: reset_password(db, admin, company.users["rep_b1"].id, password),
        "new user": lambda: create_user(
            db,
            admin,
            username="newbie",
            full_name="New Bie",
            employee_no="E9999",
            password=password,
            org_unit_id=company.units["team_a"].id,
            role_codes=["rep"],
        ),
    }
    keys = []
    for name, attempt in attempts.items():
        with pytest.raises(ValidationError) as refused:
            attempt()
        db.rollback()
        keys.append((name, refused.value.key, refused.value.params))
    return keys


@pytest.mark.parametrize("password", TOO_LONG.values(), ids=TOO_LONG.keys())
def test_finding_10_password_over_72_bytes_is_refused_by_name(db, company, password):
    keys = _set_password_everywhere(db, company, password)
    assert keys == [
        (
            name,
            "The password is too long: at most {maximum} bytes (a Chinese character counts as 3).",
            {"maximum": 72},
        )
        for name in ("account page", "first password", "admin reset", "new user")
    ]
    # Signing in with it fails like a wrong password, known account or not.
    result = auth.authenticate(db, "rep_a1", password)
    assert (result.ok, result.reason) == (False, "bad_credentials")
    assert auth.authenticate(db, "nobody", password).reason == "bad_credentials"
    # Exactly 72 bytes is fine, and signs in.
    auth.change_password(db, company.actor(db, "rep_a1"), PASSWORD, "a1" * 36)
    assert auth.authenticate(db, "rep_a1", "a1" * 36).ok


def test_finding_10_account_page_answers_a_long_password_with_a_message(app_env):
    from crm_core.platform.i18n import translate
    from tests.apptest import login

    at = login("rep_a1")
    at.switch_page("pages/workspace/account.py").run()
    long_password = TOO_LONG["73 ASCII bytes"]
    for label, value in (
        (translate("Current password", "zh"), PASSWORD),
        (translate("New password", "zh"), long_password),
        (translate("Repeat the new password", "zh"), long_password),
    ):
        next(w for w in at.text_input if w.label == label).input(value)
    next(b for b in at.button if b.label == translate("Change password", "zh")).click()
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        translate(
            "The password is too long: at most {maximum} bytes (a Chinese character counts as 3).",
            "zh",
            maximum=72,
        )
    ]


EDGE_SPACES = {
    "trailing space": "secret456 ",
    "leading space": " secret456",
    "trailing ideographic space": "secret456\u3000",
    "trailing tab": "secret456\t",
}


@pytest.mark.parametrize("password", EDGE_SPACES.values(), ids=EDGE_SPACES.keys())
def test_finding_15_password_with_a_space_at_an_end_is_refused_when_set(db, company, password):
    keys = _set_password_everywhere(db, company, password)
    assert keys == [
        (
            name,
            "The password may not begin or end with a space: the sign-in form drops such spaces, so it could never be used.",
            {},
        )
        for name in ("account page", "first password", "admin reset", "new user")
    ]


def test_finding_15_only_spaces_at_the_ends_are_refused(app_env, db):
    """The sign-in form strips the ends only: a space inside is kept and signs in."""
    from crm_core.platform.errors import ValidationError
    from tests.apptest import login

    actor = app_env.actor(db, "rep_a1")
    with pytest.raises(ValidationError) as refused:
        auth.change_password(db, actor, PASSWORD, "secret 456 ")
    assert (
        refused.value.key
        == "The password may not begin or end with a space: the sign-in form drops such spaces, so it could never be used."
    )
    auth.change_password(db, actor, PASSWORD, "secret 456")
    at = login("rep_a1", "secret 456")
    assert not at.exception
    assert at.session_state["authentication_status"] is True


# -- Finding 12 (account enumeration; collisions naming a colleague's opportunity) ----------


def test_finding_12_every_failed_sign_in_gets_the_same_message(app_env, db):
    """Locked, unknown, resigned with the right password, wrong password: one message, so
    the form tells nobody which accounts exist or what state they are in."""
    from crm_core.platform.i18n import translate
    from tests.apptest import login

    for _ in range(5):
        auth.authenticate(db, "rep_a1", WRONG)
    resigned = db.get(User, app_env.users["rep_b1"].id)
    resigned.status = "resigned"
    db.add(resigned)
    db.commit()

    messages = {}
    for case, (username, password) in {
        "locked, right password": ("rep_a1", PASSWORD),
        "unknown": ("ghost", PASSWORD),
        "resigned, right password": ("rep_b1", PASSWORD),
        "wrong password": ("rep_a2", WRONG),
    }.items():
        at = login(username, password)
        assert not at.exception, at.exception
        assert at.session_state["authentication_status"] is False
        messages[case] = [e.value for e in at.error]
    expected = [
        translate(
            "Wrong username or password, or the account cannot sign in right now. After several failed attempts, sign-in is paused for a while; if it keeps failing, ask your administrator.",
            "zh",
        )
    ]
    assert messages == dict.fromkeys(messages, expected)


def _shanghai_manager(db, company) -> User:
    """A sales manager heading Shanghai, above rep_c1's Team C."""
    from crm_core.org.units import set_unit_head
    from crm_core.org.users import create_user
    from tests.factories import SYSTEM

    manager = create_user(
        db,
        SYSTEM,
        username="sh_manager",
        full_name="Sh Manager",
        employee_no="E0100",
        password=PASSWORD,
        org_unit_id=company.units["shanghai"].id,
        role_codes=["sales_manager"],
    )
    set_unit_head(db, SYSTEM, company.units["shanghai"].id, manager.id)
    db.commit()
    return manager


def _notices(db, user_id: int) -> list[tuple[str, dict]]:
    from crm_core.models import Notice

    db.expire_all()
    rows = db.exec(select(Notice).where(Notice.user_id == user_id).order_by(Notice.id)).all()
    return [(n.kind, n.params) for n in rows]


def test_finding_12_collision_outside_scope_names_no_owner_and_tells_their_manager(db, company):
    from crm_core.leads.intake import LeadInput, intake_leads
    from crm_core.models import FollowUp, Notice
    from tests.factories import add_owned_opportunity

    manager = _shanghai_manager(db, company)
    theirs = add_owned_opportunity(db, company, "rep_c1", 21)  # Shanghai, +8613800000021
    rep = company.actor(db, "rep_a1")  # Beijing, own rows only
    result = intake_leads(
        db,
        rep,
        [
            LeadInput(
                name="Li Lei", phone="138 0000 0021", channel="sem", business_line_codes=["kaoyan"]
            )
        ],
        source="manual",
        keep_for_self=True,
    )
    db.commit()
    [outcome] = result.outcomes
    assert outcome.status == "collision"
    [collision] = outcome.collisions
    assert collision.hidden
    assert (collision.opportunity_id, collision.owner_id, collision.owner_name) == (None,) * 3
    assert "Rep C1" not in repr(collision) and str(theirs.id) not in repr(collision)
    # The inquiry is still logged on the owner's opportunity, and their manager is told.
    note = db.exec(select(FollowUp).where(FollowUp.opportunity_id == theirs.id)).one()
    assert note.author_id == rep.user_id
    assert _notices(db, manager.id) == [
        ("collision.colleague", {"by": "Rep A1", "opportunity": theirs.id})
    ]
    assert db.exec(select(Notice).where(Notice.user_id != manager.id)).all() == []

    # Someone whose scope holds the opportunity still sees who has it, and nobody is told.
    ours = add_owned_opportunity(db, company, "rep_a2", 22)
    seen = intake_leads(
        db,
        company.actor(db, "bj_manager"),
        [
            LeadInput(
                name="Han Mei", phone="13800000022", channel="sem", business_line_codes=["kaoyan"]
            )
        ],
        source="manual",
    )
    db.commit()
    [visible] = seen.outcomes[0].collisions
    assert not visible.hidden
    assert (visible.opportunity_id, visible.owner_name) == (ours.id, "Rep A2")
    assert len(_notices(db, manager.id)) == 1


def test_finding_12_import_report_hides_owners_outside_scope(db, company):
    from crm_core.imports.leads import ImportOptions, guess_columns, preview_import, run_import
    from crm_core.imports.tabular import read_table
    from tests.factories import add_owned_opportunity
    from tests.test_lead_import import csv_bytes

    manager = _shanghai_manager(db, company)
    for tail in (31, 32):
        add_owned_opportunity(db, company, "rep_c1", tail)
    add_owned_opportunity(db, company, "rep_a1", 33)
    rows = [
        [f"客户{tail}", f"138000000{tail}", "sem", "", "kaoyan", "", ""] for tail in (31, 32, 33)
    ]
    frame = read_table(csv_bytes(rows), "leads.csv")
    options = ImportOptions(mapping=guess_columns(frame.columns))
    importer = company.actor(db, "bj_manager")  # Beijing subtree
    preview = preview_import(db, importer, frame, options)
    assert [(c.row, c.owner_name, c.hidden) for c in preview.collisions] == [
        (2, None, True),
        (3, None, True),
        (4, "Rep A1", False),
    ]
    assert _notices(db, manager.id) == []  # a preview tells nobody
    done = run_import(db, importer, frame, options)
    db.commit()
    assert [(c.owner_name, c.hidden) for c in done.collisions] == [
        (None, True),
        (None, True),
        ("Rep A1", False),
    ]
    assert _notices(db, manager.id) == [("collision.colleagues", {"by": "Bj Manager", "count": 2})]


def test_finding_12_lead_form_says_only_that_a_colleague_follows_the_person_up(app_env, db):
    from crm_core.platform.i18n import translate
    from tests.apptest import login
    from tests.factories import add_owned_opportunity

    theirs = add_owned_opportunity(db, app_env, "rep_c1", 41)
    at = login("rep_a1")
    at.switch_page("pages/leads/library.py").run()
    form_inputs = {t.label: t for t in at.text_input}
    form_inputs["姓名 *"].input("撞单客户")
    form_inputs[translate("Phone", "zh")].input("138 0000 0041")
    at.multiselect[0].select("kaoyan")
    at.button(key="FormSubmitter:leads_new-保存名片").click().run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert warnings == [
        translate(
            "This person is already followed up by a colleague; the inquiry was logged on their opportunity.",
            "zh",
        )
    ]
    assert not any("Rep C1" in w or str(theirs.id) in w for w in warnings)


def test_finding_12_without_a_unit_head_the_nearest_managers_are_told(db, company):
    """No head on the way up from Team C: the holders of assign_opportunities in the nearest
    unit that has any (here the administrator at HQ) are told."""
    from crm_core.leads.intake import LeadInput, intake_leads
    from tests.factories import add_owned_opportunity

    theirs = add_owned_opportunity(db, company, "rep_c1", 51)
    intake_leads(
        db,
        company.actor(db, "rep_b1"),
        [LeadInput(name="Wei", phone="13800000051", channel="sem", business_line_codes=["kaoyan"])],
        source="manual",
    )
    db.commit()
    assert _notices(db, company.users["admin"].id) == [
        ("collision.colleague", {"by": "Rep B1", "opportunity": theirs.id})
    ]


# -- Finding 14 (the sign-in cookie was set by JavaScript: neither HttpOnly nor Secure) -----

KEY = "unit-test-cookie-key-0123456789abcdef"


def _epoch(moment: datetime) -> float:
    from datetime import UTC

    return moment.replace(tzinfo=UTC).timestamp()


def test_finding_14_cookie_lives_one_idle_period_and_is_renewed_while_active(db, company):
    """The cookie the server sets lives an hour (the idle setting) and is renewed, with the
    session's first issue time, while the user is active; never past the longest life."""
    policy = auth.cookie_policy(db)
    assert policy == auth.CookiePolicy(idle=timedelta(minutes=60), longest=timedelta(days=7))
    start = clock.now()
    order = auth.redeem_cookie_ticket(
        db, auth.cookie_ticket(KEY, start, username="rep_a1", issued_at=start), KEY, start
    )
    assert (order.max_age, order.expires_at) == (3600, start + timedelta(hours=1))

    def valid_at(token: str, moment: datetime) -> bool:
        decoded = auth.decode_session_token(token, KEY, 7.0, _epoch(moment))
        return decoded is not None and auth.session_user(db, decoded.username, decoded.issued_at)

    assert valid_at(order.token, start + timedelta(minutes=59))
    assert not valid_at(order.token, start + timedelta(minutes=61))  # idle an hour: gone

    # Active: 40 minutes in, less than half the hour is left, so the cookie is renewed.
    clock.advance(timedelta(minutes=20))
    assert auth.renewed_expiry(policy, start, order.expires_at, clock.now()) is None
    clock.advance(timedelta(minutes=20))
    renewed_until = auth.renewed_expiry(policy, start, order.expires_at, clock.now())
    assert renewed_until == clock.now() + timedelta(hours=1)
    renewal = auth.redeem_cookie_ticket(
        db,
        auth.cookie_ticket(KEY, clock.now(), username="rep_a1", issued_at=start),
        KEY,
        clock.now(),
    )
    assert renewal.expires_at == renewed_until
    assert valid_at(renewal.token, start + timedelta(minutes=99))
    assert auth.decode_session_token(renewal.token, KEY, 7.0, _epoch(clock.now())).issued_at == (
        start
    )

    # Still bound to the account's session version: a log-out kills the renewed cookie.
    clock.advance(timedelta(minutes=1))
    auth.log_out(db, company.users["rep_a1"].id)
    assert not valid_at(renewal.token, clock.now())

    # However active, a session ends a week after sign-in.
    late = start + timedelta(days=7) - timedelta(minutes=10)
    assert auth.cookie_expiry(policy, start, late) == start + timedelta(days=7)
    assert auth.cookie_expiry(policy, start, start + timedelta(days=7)) is None


def _post(app, body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]]]:
    """One POST through an ASGI app (no HTTP client library is installed)."""
    import asyncio

    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/crm-session",
        "raw_path": b"/crm-session",
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8501),
        "client": ("127.0.0.1", 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], [(k.decode(), v.decode()) for k, v in start["headers"]]


@pytest.mark.usefixtures("committed_db")  # other connections must see its rows
def test_finding_14_the_server_sets_the_cookie_http_only_secure_and_strict(
    db, company, monkeypatch, app_settings
):
    import json

    from starlette.applications import Starlette

    from ui.session_cookie import session_cookie_routes

    monkeypatch.setenv("CRM_COOKIE_KEY", KEY)
    app = Starlette(routes=session_cookie_routes())
    json_headers = {"content-type": "application/json", "host": "127.0.0.1:8501"}

    def post(ticket: str, **extra: str):
        body = json.dumps({"ticket": ticket}).encode()
        return _post(app, body, {**json_headers, **extra})

    now = clock.now()
    status, headers = post(auth.cookie_ticket(KEY, now, username="rep_a1", issued_at=now))
    assert status == 204
    [cookie] = [v for k, v in headers if k == "set-cookie"]
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0].startswith("crm_session=")
    assert {"HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=3600"} <= set(parts)
    token = parts[0].split("=", 1)[1]
    assert auth.decode_session_token(token, KEY, 7.0, _epoch(now)).username == "rep_a1"

    # A clear order deletes it; a stale, forged or cross-site order sets nothing.
    status, headers = post(auth.cookie_ticket(KEY, now))
    assert status == 204 and "Max-Age=0" in dict(headers)["set-cookie"]
    refused = [
        post(auth.cookie_ticket(KEY, now - timedelta(minutes=2), username="rep_a1", issued_at=now)),
        post(
            auth.cookie_ticket(
                "another-key-0123456789abcdef-0123456789", now, username="rep_a1", issued_at=now
            )
        ),
        post(token),  # a session cookie is no order
        post(
            auth.cookie_ticket(KEY, now, username="rep_a1", issued_at=now),
            **{"sec-fetch-site": "cross-site"},
        ),
        _post(
            app,
            json.dumps(
                {"ticket": auth.cookie_ticket(KEY, now, username="rep_a1", issued_at=now)}
            ).encode(),
            {"content-type": "text/plain", "host": "127.0.0.1:8501"},
        ),
    ]
    assert [status for status, _ in refused] == [403, 403, 403, 403, 415]
    assert not any(k == "set-cookie" for _, headers in refused for k, _ in headers)
    # An order is no session cookie either.
    assert (
        auth.decode_session_token(
            auth.cookie_ticket(KEY, now, username="rep_a1", issued_at=now), KEY, 7.0, _epoch(now)
        )
        is None
    )


def test_finding_14_an_idle_session_ends_and_activity_keeps_it(app_env, db):
    """In the app: a signed-in browser that stays idle past the hour is signed out at its
    next click; one that is used every 40 minutes stays signed in."""
    from tests.apptest import login

    clock.freeze(datetime(2026, 11, 2, 9, 0))
    at = login("rep_a1")
    assert at.session_state["authentication_status"] is True
    for _ in range(4):  # active: 40, 80, 120, 160 minutes
        clock.advance(timedelta(minutes=40))
        at.run()
        assert not at.exception, at.exception
        assert at.session_state["authentication_status"] is True
    clock.advance(timedelta(minutes=61))
    at.run()
    assert not at.exception, at.exception
    assert not at.session_state["authentication_status"]
    assert [w.label for w in at.text_input] == [
        translate("Username", "zh"),
        translate("Password", "zh"),
    ]


def test_finding_14_an_active_session_still_ends_at_its_longest_life(app_env, db):
    from crm_core.platform.settings import set_setting
    from tests.apptest import login
    from tests.factories import SYSTEM

    set_setting(db, SYSTEM, "login.cookie_expiry_days", 0.1)  # 2 h 24 min
    db.commit()
    clock.freeze(datetime(2026, 11, 2, 9, 0))
    at = login("rep_a1")
    for _ in range(3):  # active: 40, 80, 120 minutes
        clock.advance(timedelta(minutes=40))
        at.run()
        assert at.session_state["authentication_status"] is True
    clock.advance(timedelta(minutes=40))  # 160 minutes: past the longest life
    at.run()
    assert not at.exception, at.exception
    assert not at.session_state["authentication_status"]


@pytest.mark.browser
def test_finding_14_browser_cookie_is_http_only_and_secure(engine, database_url, tmp_path):
    """The real browser: the session cookie is out of reach of scripts, sent only over a
    secure channel (Chromium counts 127.0.0.1 as one), and still keeps the session on
    reload."""
    from playwright.sync_api import expect, sync_playwright

    from tests.browser import app_with_company, launch, require_chromium, sign_in

    require_chromium()
    with app_with_company(engine, database_url, tmp_path) as url, sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context()
        page = context.new_page()
        sign_in(page, url, "rep_a1", PASSWORD)
        expect(page.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)

        def session_cookies():
            return [c for c in context.cookies() if c["name"] == "crm_session"]

        # Until the cookie is there: set by a script (before the fix) or by the server
        # (the page marks the server's answer).
        page.wait_for_function(
            "document.cookie.includes('crm_session=')"
            " || document.documentElement.dataset.crmSession === 'set'",
            timeout=30_000,
        )
        [cookie] = session_cookies()
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
        assert "crm_session" not in page.evaluate("document.cookie")
        page.reload()
        expect(page.get_by_role("heading", name="欢迎,Rep A1")).to_be_visible(timeout=30_000)
        browser.close()
