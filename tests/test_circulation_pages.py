"""The circulation pages through the real app (AppTest): the rule editor creates, refuses,
dry-runs, pauses and versions rules and runs the engine; the public pool lets a rep claim;
the manager desk assigns and locks; the flow log lists what happened; home shows notices
and what is due for recycling. Users see only the pages of their permissions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from crm_core.circulation.dispatch import dispatch_unassigned
from crm_core.circulation.override import assign_opportunities, return_to_pool, set_locked
from crm_core.circulation.pool import claim_from_pool
from crm_core.circulation.rules import RuleDraft, save_rule
from crm_core.models import DispatchRule, FlowEvent, Notice, Opportunity, RuleVersion
from crm_core.org.units import create_unit
from crm_core.platform import clock
from crm_core.platform.i18n import NC_, translate
from tests.apptest import assert_page_refused, login, signed_in
from tests.factories import SYSTEM, add_owned_opportunity, add_waiting_opportunities

RULES = "pages/circulation/rules.py"
POOL = "pages/circulation/pool.py"
DESK = "pages/circulation/desk.py"
FLOW = "pages/circulation/flow_log.py"


def open_page(username: str, page: str) -> AppTest:
    at = login(username)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def field(at: AppTest, kind: str, name: str) -> str:
    """The key of a rule form widget (keys carry the form's generation)."""
    return f"rules_{kind}_{name}_{at.session_state[f'rules_{kind}_gen']}"


def check(at: AppTest, key: str, ids: list[int]) -> AppTest:
    """Check rows of a page's table (`ui.tables.pick_table` keeps them under `key`); the
    browser tests click the boxes themselves."""
    at.session_state[key] = list(ids)
    return ok(at.run())


def count(db, model, *where) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(model).where(*where)).one()


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def frame_with(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def team_b_rule(db, company, name: str = "Team B first", **action):
    """A dispatch rule of Beijing giving to Team B, saved as bj_manager."""
    manager = company.actor(db, "bj_manager")
    rule = save_rule(
        db,
        manager,
        "dispatch",
        RuleDraft(
            name=name,
            priority=10,
            org_unit_id=company.units["beijing"].id,
            action={"target_unit_id": company.units["team_b"].id, **action},
        ),
    )
    db.commit()
    return rule


# --- rule editor ---------------------------------------------------------------------


def test_a_manager_creates_a_dispatch_rule(app_env, db):
    at = open_page("bj_manager", RULES)
    assert any(
        translate("No rules yet — create the first one below.", "zh") in i.value for i in at.info
    )
    at.text_input(key=field(at, "dispatch", "name")).input("Team B first")
    at.multiselect(key=field(at, "dispatch", "channels")).select("sem")
    at.selectbox(key=field(at, "dispatch", "target_unit_id")).set_value(app_env.units["team_b"].id)
    at.selectbox(key=field(at, "dispatch", "strategy")).set_value("least_loaded")
    ok(at.button(key="rules_dispatch_save").click().run())
    assert any("规则“Team B first”已保存(版本 1)" in s.value for s in at.success)
    rule = db.exec(select(DispatchRule)).one()
    assert (rule.name, rule.org_unit_id, rule.version) == (
        "Team B first",
        app_env.units["beijing"].id,
        1,
    )
    assert rule.conditions["channels"] == ["sem"]
    assert rule.action["target_unit_id"] == app_env.units["team_b"].id
    assert rule.action["strategy"] == "least_loaded"
    assert "Team B first" in list(
        frame_with(at, translate(NC_("org", "Name"), "zh"))[translate(NC_("org", "Name"), "zh")]
    )
    # The form is fresh again for the next rule.
    assert at.text_input(key=field(at, "dispatch", "name")).value == ""


def test_an_unworkable_rule_is_refused_with_the_reason_and_not_stored(app_env, db):
    empty = create_unit(db, SYSTEM, "Team Empty", app_env.units["beijing"].id)
    db.commit()
    at = open_page("bj_manager", RULES)
    at.text_input(key=field(at, "dispatch", "name")).input("Nobody home")
    at.selectbox(key=field(at, "dispatch", "target_unit_id")).set_value(empty.id)
    ok(at.button(key="rules_dispatch_save").click().run())
    assert any("目标组织(含下级):Team Empty 没有在职的销售" in e.value for e in at.error)

    at.selectbox(key=field(at, "dispatch", "target_unit_id")).set_value(app_env.units["team_b"].id)
    at.number_input(key=field(at, "dispatch", "no_return_days")).set_value(-3)
    ok(at.button(key="rules_dispatch_save").click().run())
    assert any("不回到近期失去它的销售(天):不能小于 1" in e.value for e in at.error)
    assert count(db, DispatchRule) == 0
    assert count(db, RuleVersion) == 0


def test_a_recycle_rule_whose_warning_comes_too_late_is_refused(app_env, db):
    at = open_page("bj_manager", RULES)
    at.text_input(key=field(at, "recycle", "name")).input("Idle three days")
    at.number_input(key=field(at, "recycle", "after")).set_value(3)
    at.number_input(key=field(at, "recycle", "warn_days")).set_value(3)
    ok(at.button(key="rules_recycle_save").click().run())
    assert any("预警必须早于回收" in e.value for e in at.error)
    at.number_input(key=field(at, "recycle", "warn_days")).set_value(1)
    ok(at.button(key="rules_recycle_save").click().run())
    assert any("规则“Idle three days”已保存" in s.value for s in at.success)


def test_a_dry_run_shows_what_would_happen_and_changes_nothing(app_env, db):
    ids = add_waiting_opportunities(db, app_env, 3)
    at = open_page("bj_manager", RULES)
    at.text_input(key=field(at, "dispatch", "name")).input("Try Team B")
    at.selectbox(key=field(at, "dispatch", "target_unit_id")).set_value(app_env.units["team_b"].id)
    ok(at.button(key="rules_dispatch_dry").click().run())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[translate("Unassigned", "zh")] == "3"
    assert metrics[translate(NC_("rules.count", "Assigned"), "zh")] == "3"
    assert metrics[translate("No rule matched", "zh")] == "0"
    reps = frame_with(at, translate("Would receive", "zh"))
    assert list(reps[translate(NC_("rules.dry", "Rep"), "zh")]) == ["Rep B1"]
    assert list(reps[translate("Would receive", "zh")]) == ["3"]
    assert "Try Team B (本草稿)" in list(
        frame_with(at, translate("Matched", "zh"))[translate("Rule", "zh")]
    )
    assert count(db, DispatchRule) == 0
    assert count(db, FlowEvent) == 0
    assert count(db, Opportunity, Opportunity.pool_state == "unassigned") == len(ids)
    assert count(db, Notice) == 0


def test_pause_resume_and_the_version_history(app_env, db):
    rule = team_b_rule(db, app_env)
    at = open_page("bj_manager", RULES)
    assert at.selectbox(key="rules_dispatch_pick").value == rule.id
    ok(at.button(key="rules_dispatch_toggle").click().run())
    assert any("规则“Team B first”已暂停" in s.value for s in at.success)
    db.expire_all()
    stored = db.get(DispatchRule, rule.id)
    assert (stored.enabled, stored.version) == (False, 2)
    assert translate("Paused", "zh") in list(
        frame_with(at, translate(NC_("org", "Name"), "zh"))[translate("State", "zh")]
    )

    history = frame_with(at, translate("Changed by", "zh"))
    assert list(history[translate("Version", "zh")]) == [2, 1]
    assert list(history[translate("Change", "zh")]) == [
        translate("Pause", "zh"),
        translate("Created", "zh"),
    ]
    assert set(history[translate("Changed by", "zh")]) == {"Bj Manager"}
    assert '"enabled": false' in history[translate("Rule as saved", "zh")][0]

    ok(at.button(key="rules_dispatch_toggle").click().run())
    assert any("已恢复" in s.value for s in at.success)
    db.expire_all()
    assert db.get(DispatchRule, rule.id).enabled is True


def test_edit_then_delete_with_confirmation(app_env, db):
    rule = team_b_rule(db, app_env)
    at = open_page("bj_manager", RULES)
    ok(at.button(key="rules_dispatch_edit").click().run())
    assert at.text_input(key=field(at, "dispatch", "name")).value == "Team B first"
    assert at.number_input(key=field(at, "dispatch", "priority")).value == 10
    assert at.selectbox(key=field(at, "dispatch", "target_unit_id")).value == (
        app_env.units["team_b"].id
    )
    at.text_input(key=field(at, "dispatch", "name")).input("Team B, renamed")
    ok(at.button(key="rules_dispatch_save").click().run())
    db.expire_all()
    assert (db.get(DispatchRule, rule.id).name, db.get(DispatchRule, rule.id).version) == (
        "Team B, renamed",
        2,
    )

    ok(at.button(key="rules_dispatch_delete").click().run())
    assert any("确定删除规则“Team B, renamed”" in w.value for w in at.warning)
    assert count(db, DispatchRule) == 1  # not before the confirmation
    ok(at.button(key="rules_dispatch_delete_yes").click().run())
    assert count(db, DispatchRule) == 0
    assert any(
        translate("No rules yet — create the first one below.", "zh") in i.value for i in at.info
    )
    assert count(db, RuleVersion, RuleVersion.change == "delete") == 1


def test_run_dispatch_now_and_the_waiting_reasons(app_env, db):
    add_waiting_opportunities(db, app_env, 3)
    rep_b1 = app_env.users["rep_b1"]
    rep_b1.daily_cap = 2
    db.add(rep_b1)
    db.commit()
    rule = team_b_rule(db, app_env)
    at = open_page("bj_manager", RULES)
    assert any("3 个商机等待分配" in c.value for c in at.caption)
    ok(at.button(key="rules_run_dispatch").click().run())
    assert any(s.value.startswith("分配完成") and "已分配 2" in s.value for s in at.success), (
        texts(at.success),
        texts(at.error),
        texts(at.warning),
    )
    assert count(db, Opportunity, Opportunity.owner_id == rep_b1.id) == 2
    waiting = frame_with(at, translate("Reason", "zh"))
    assert list(waiting[translate("Reason", "zh")]) == ["规则“Team B first”找不到有余量的销售"]
    assert list(waiting[translate(NC_("rules.waiting", "Opportunities"), "zh")]) == ["1"]
    runs = frame_with(at, translate("Started by", "zh"))
    assert list(runs[translate("Job", "zh")]) == [translate("Assign", "zh")]
    assert list(runs[translate("Result", "zh")]) == [translate("Done", "zh")]
    assert list(runs[translate("Who", "zh")]) == ["Bj Manager"]
    assert rule.id is not None


def test_a_rep_cannot_open_the_rule_editor_or_the_desk(app_env):
    at = signed_in("rep_a1")
    for page in (RULES, DESK):
        assert_page_refused(at, page)
    ok(at.switch_page(POOL).run())
    ok(at.switch_page(FLOW).run())


# --- public pool -----------------------------------------------------------------------


def test_a_rep_sees_the_pool_with_masked_phones_and_claims(app_env, db):
    ids = add_waiting_opportunities(db, app_env, 3)
    return_to_pool(db, SYSTEM, ids)
    db.commit()
    at = open_page("rep_a1", POOL)
    table = frame_with(at, translate("Phone", "zh"))
    assert list(table["#"]) == ids
    assert all("****" in phone for phone in table[translate("Phone", "zh")])
    assert any("今日已领取 0/20" in i.value for i in at.info)

    check(at, "pool_pick", [ids[0]])
    ok(at.button(key="pool_claim").click().run())
    assert any("您领取了 1 个" in s.value for s in at.success)
    rep = app_env.users["rep_a1"]
    db.expire_all()
    claimed = db.get(Opportunity, ids[0])
    assert (claimed.owner_id, claimed.pool_state) == (rep.id, "owned")
    assert count(db, FlowEvent, FlowEvent.reason == "claim", FlowEvent.to_owner_id == rep.id) == 1
    assert list(frame_with(at, translate("Phone", "zh"))["#"]) == ids[1:]
    assert any("今日已领取 1/20" in i.value for i in at.info)
    assert at.session_state["pool_pick"] == []

    # rep_a2 is faster for one of the two rep_a1 picks next.
    check(at, "pool_pick", [ids[1], ids[2]])
    claim_from_pool(db, app_env.actor(db, "rep_a2"), [ids[2]])
    db.commit()
    ok(at.button(key="pool_claim").click().run())
    assert any("您领取了 1 个" in s.value for s in at.success)
    assert any("已被他人抢先领取" in w.value and f"#{ids[2]}" in w.value for w in at.warning)
    db.expire_all()
    assert db.get(Opportunity, ids[1]).owner_id == rep.id
    assert db.get(Opportunity, ids[2]).owner_id == app_env.users["rep_a2"].id


def test_a_claim_over_the_daily_limit_is_refused_with_the_reason(app_env, db):
    ids = add_waiting_opportunities(db, app_env, 3)
    return_to_pool(db, SYSTEM, ids)
    manager = app_env.actor(db, "bj_manager")
    save_rule(
        db,
        manager,
        "claim",
        RuleDraft(
            name="Two a day", org_unit_id=app_env.units["beijing"].id, action={"daily_claims": 2}
        ),
    )
    db.commit()
    at = open_page("rep_a1", POOL)
    assert any("今日已领取 0/2" in i.value for i in at.info)
    check(at, "pool_pick", ids)
    # Three checked against an allowance of two: said before anything is written.
    expected = translate(
        "{picked} checked, but you may claim {left} more now: uncheck some.", "zh"
    ).format(picked=3, left=2)
    assert expected in [w.value for w in at.warning]
    assert at.button(key="pool_claim").disabled
    assert count(db, Opportunity, Opportunity.pool_state == "public") == 3


# --- manager desk ----------------------------------------------------------------------


def test_a_manager_transfers_assigns_and_locks_from_the_desk(app_env, db):
    opp = add_owned_opportunity(db, app_env, "rep_a1", 1)
    add_owned_opportunity(db, app_env, "rep_c1", 2)  # Shanghai: outside Beijing's reach
    [waiting] = add_waiting_opportunities(db, app_env, 1)  # no unit yet: any manager's
    at = open_page("bj_manager", DESK)
    table = frame_with(at, translate("Head", "zh"))
    assert sorted(table["#"]) == sorted([opp.id, waiting])
    assert any("找到 2 个进行中的商机" in c.value for c in at.caption)

    check(at, "desk_pick", [opp.id])
    ok(at.selectbox(key="desk_rep").set_value(app_env.users["rep_a2"].id).run())
    ok(at.button(key="desk_assign").click().run())
    assert any("已将 1 个商机分给 Rep A2" in s.value for s in at.success)
    db.expire_all()
    assert db.get(Opportunity, opp.id).owner_id == app_env.users["rep_a2"].id
    assert count(db, FlowEvent, FlowEvent.reason == "transfer") == 1

    check(at, "desk_pick", [waiting])
    ok(at.selectbox(key="desk_rep").set_value(app_env.users["rep_b1"].id).run())
    ok(at.button(key="desk_assign").click().run())
    db.expire_all()
    assigned = db.get(Opportunity, waiting)
    assert (assigned.owner_id, assigned.pool_state) == (app_env.users["rep_b1"].id, "owned")
    assert count(db, FlowEvent, FlowEvent.reason == "assign") == 1

    check(at, "desk_pick", [opp.id])
    ok(at.button(key="desk_lock").click().run())
    assert any("已锁定 1 个商机" in s.value for s in at.success)
    db.expire_all()
    assert db.get(Opportunity, opp.id).locked is True
    at.selectbox(key="desk_f_locked").set_value(True)
    ok(at.run())
    assert list(frame_with(at, translate("Head", "zh"))["#"]) == [opp.id]

    check(at, "desk_pick", [opp.id])
    ok(at.button(key="desk_reactivate").click().run())
    assert any("不适用于商机" in e.value for e in at.error)  # it is not dormant


# --- flow log --------------------------------------------------------------------------


def test_the_flow_log_lists_the_events_and_filters_them(app_env, db):
    opp = add_owned_opportunity(db, app_env, "rep_a1", 1)
    manager = app_env.actor(db, "bj_manager")
    assign_opportunities(db, manager, [opp.id], app_env.users["rep_a2"].id)
    clock.advance(timedelta(minutes=5))
    set_locked(db, manager, [opp.id], True)
    db.commit()
    at = open_page("bj_manager", FLOW)
    assert any("共 2 条记录" in c.value for c in at.caption)
    table = frame_with(at, translate("Reason", "zh"))
    assert list(table[translate("Reason", "zh")]) == [
        translate("Lock", "zh"),
        translate("Transferred", "zh"),
    ]
    assert list(table[translate(NC_("flow_log.table", "From"), "zh")]) == ["Rep A2", "Rep A1"]
    assert list(table[translate("Actor", "zh")]) == ["Bj Manager", "Bj Manager"]
    at.selectbox(key="flow_reason").set_value("transfer")
    ok(at.run())
    assert list(
        frame_with(at, translate("Reason", "zh"))[translate(NC_("flow_log.table", "To"), "zh")]
    ) == ["Rep A2"]

    # A rep sees what moved away from them too.
    rep = open_page("rep_a1", FLOW)
    assert translate("Transferred", "zh") in list(
        frame_with(rep, translate("Reason", "zh"))[translate("Reason", "zh")]
    )


# --- home ------------------------------------------------------------------------------


def test_home_shows_notices_and_what_is_due_for_recycling(app_env, db):
    add_waiting_opportunities(db, app_env, 2)
    team_b_rule(db, app_env)
    dispatch_unassigned(db, SYSTEM)
    manager = app_env.actor(db, "bj_manager")
    save_rule(
        db,
        manager,
        "recycle",
        RuleDraft(
            name="Idle three days",
            org_unit_id=app_env.units["beijing"].id,
            conditions={"trigger": "no_follow_up", "after": 3},
            action={"warn_days": 2},
        ),
    )
    db.commit()
    clock.advance(timedelta(days=1, hours=1))  # due in 47 hours, inside the warning
    at = login("rep_b1")
    ok(at)
    # The workbench, where the rep lands, warns with links to each opportunity.
    assert any("即将被回收（2）" in h.value for h in at.subheader)
    at.switch_page("pages/workspace/home.py")
    ok(at.run())
    assert any("您收到了 2 个新商机" in i.value for i in at.info)
    assert any("通知(1 条未读)" in h.value for h in at.subheader)
    due = frame_with(at, translate("Recycled at", "zh"))
    assert list(due[translate(NC_("home.due", "When"), "zh")]) == ["1 天后回收", "1 天后回收"]
    assert set(due[translate("Rule", "zh")]) == {"Idle three days"}
    ok(at.button(key="home_mark_read").click().run())
    assert any(translate("No new notices.", "zh") in c.value for c in at.caption)
    assert count(db, Notice, Notice.read_at.is_(None)) == 0


def test_a_manager_reads_the_rules_that_route_their_units(app_env, db):
    """A rule kept at HQ hands out to Team A: the Beijing manager sees it, read-only, beside
    their own; Shanghai's rules stay out of sight."""
    hq_rule = RuleDraft(
        name="HQ to Team A",
        priority=5,
        org_unit_id=app_env.units["hq"].id,
        action={"strategy": "round_robin", "target_unit_id": app_env.units["team_a"].id},
    )
    save_rule(db, SYSTEM, "dispatch", hq_rule)
    shanghai = RuleDraft(
        name="Shanghai only",
        priority=6,
        org_unit_id=app_env.units["shanghai"].id,
        action={"strategy": "round_robin", "target_unit_id": app_env.units["team_c"].id},
    )
    save_rule(db, SYSTEM, "dispatch", shanghai)
    db.commit()
    at = open_page("bj_manager", RULES)
    shown = " ".join(frame.value.to_csv() for frame in at.dataframe)
    assert "HQ to Team A" in shown and "Shanghai only" not in shown
    no_rules = translate("No rules yet — create the first one below.", "zh")
    assert texts(at.info).count(no_rules) == 4  # every tab but dispatch
    assert any(
        translate(
            "This rule belongs to a unit outside your scope or to the whole company: you may read it but not change it.",
            "zh",
        )
        in c.value
        for c in at.caption
    )


def test_saving_a_rule_that_would_move_over_100_opportunities_asks_first(app_env, db):
    from crm_core.models import User

    add_waiting_opportunities(db, app_env, 120)
    for name in ("rep_a1", "rep_a2"):
        user = db.get(User, app_env.users[name].id)
        user.daily_cap = 500
        db.add(user)
    db.commit()
    at = open_page("bj_manager", RULES)
    at.text_input(key=field(at, "dispatch", "name")).input("Everything to Team A")
    at.selectbox(key=field(at, "dispatch", "target_unit_id")).set_value(app_env.units["team_a"].id)
    ok(at.button(key="rules_dispatch_save").click().run())
    assert count(db, DispatchRule) == 0
    assert any("120" in w.value and "Everything to Team A" in w.value for w in at.warning)
    ok(at.button(key="rules_dispatch_confirm_no").click().run())
    assert count(db, DispatchRule) == 0 and not at.warning
    ok(at.button(key="rules_dispatch_save").click().run())
    ok(at.button(key="rules_dispatch_confirm_yes").click().run())
    assert count(db, DispatchRule) == 1
    assert count(db, Opportunity, Opportunity.pool_state == "owned") == 0  # saved, not run


def test_each_waiting_reason_says_what_to_do(app_env, db):
    add_waiting_opportunities(db, app_env, 2)
    db.commit()
    dispatch_unassigned(db, SYSTEM)
    db.commit()
    at = open_page("bj_manager", RULES)
    frame = frame_with(at, translate("What to do", "zh"))
    assert list(frame[translate("What to do", "zh")]) == [
        translate(
            "Add a dispatch rule whose business line, channel and region match them, or widen an existing rule.",
            "zh",
        )
    ]


def test_a_run_now_that_fails_after_whole_chunks_says_what_it_kept(app_env, db, monkeypatch):
    from crm_core.circulation import jobs
    from crm_core.platform.i18n import label_of

    def one_chunk_then_a_failure(session, actor):
        yield {"warned": 3}
        raise RuntimeError("disk full")

    monkeypatch.setitem(jobs.JOBS, "warnings", one_chunk_then_a_failure)
    at = open_page("bj_manager", RULES)
    at.button(key="rules_run_warnings").click().run()
    assert not at.exception, at.exception
    kept = translate(
        "{job} failed; the whole chunks it had saved before are kept ({counts}): {error}", "zh"
    )
    before_counts = kept.split("{counts}")[0].format(
        job=translate(label_of("job", "warnings"), "zh")
    )
    assert any(e.value.startswith(before_counts) and "3" in e.value for e in at.error), texts(
        at.error
    )
