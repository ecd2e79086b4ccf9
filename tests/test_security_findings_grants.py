"""Regression tests for the security probe's scope findings 4, 5 and 6 (grants).

4. Whoever grants a role, moves a user or moves a unit compares what the account would reach
   from its unit with what they reach themselves, not the width of two scopes.
5. A role editor changes only roles whose holders are all within their reach, and built-in
   roles only when they are an administrator.
6. A lead's creator keeps sight of it only while nobody else has taken it.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_core.circulation.opportunities import count_by
from crm_core.circulation.override import assign_opportunities
from crm_core.imports import engine
from crm_core.imports.roster import ROSTER
from crm_core.leads.edit import update_lead
from crm_core.leads.export import export_leads
from crm_core.leads.intake import LeadInput, intake_leads
from crm_core.leads.learning import learning_for_lead
from crm_core.leads.masking import reveal_phone
from crm_core.leads.merge import merge_leads
from crm_core.leads.search import LeadFilter, count_leads, count_matching, search_leads
from crm_core.leads.tags import add_tag, bulk_tag
from crm_core.models import Lead, Opportunity, OrgUnit, Role, User
from crm_core.org.access import load_actor
from crm_core.org.roles import save_role
from crm_core.org.units import create_unit, move_unit
from crm_core.org.users import bulk_update_users, create_user, set_user_roles, update_user
from crm_core.platform.errors import NotFound, PermissionDenied
from crm_core.platform.metadata import create_option
from crm_core.platform.permissions import DataScope
from crm_core.sales.lead_card import get_lead_detail
from tests.factories import PASSWORD, SYSTEM, add_owned_opportunity, build_small_company

READ_ONLY = ["view_leads", "view_opportunities"]


@pytest.fixture
def company(db):
    return build_small_company(db)


def role(db, code: str, scope: str, permissions, units=(), discount: int = 0) -> Role:
    """A role made by the system (as an administrator would)."""
    return save_role(
        db,
        SYSTEM,
        code=code,
        name=code.replace("_", " ").title(),
        permissions=sorted(permissions),
        data_scope=scope,
        scope_unit_ids=list(units),
        max_discount_pct=discount,
    )


def person(db, company, username: str, unit: str, roles) -> User:
    """An account made by the system, remembered in the company's users."""
    user = create_user(
        db,
        SYSTEM,
        username=username,
        full_name=username.title(),
        employee_no=f"S-{username}",
        password=PASSWORD,
        org_unit_id=company.units[unit].id,
        role_codes=list(roles),
    )
    db.commit()
    company.users[username] = user
    return user


def opportunities_seen(db, actor) -> int:
    return sum(count_by(db, actor, Opportunity.pool_state).values())


# --- finding 4: granting compares reach, not widths ----------------------------------------


@pytest.fixture
def department_manager(db, company):
    """A user manager whose custom scope is the Beijing department unit alone (which holds
    no opportunities itself: they sit in its teams)."""
    role(
        db,
        "dept_users",
        "custom",
        ["manage_users", *READ_ONLY],
        units=[company.units["beijing"].id],
    )
    role(db, "subtree_reader", "subtree", READ_ONLY)
    role(db, "team_reader", "team", READ_ONLY)
    person(db, company, "dept_mgr", "beijing", ["dept_users"])
    for tail, owner in enumerate(("rep_a1", "rep_a2", "rep_b1"), start=1):
        add_owned_opportunity(db, company, owner, tail)
    return company.actor(db, "dept_mgr")


def test_finding_4_custom_scope_manager_cannot_create_a_subtree_account(
    db, company, department_manager
):
    assert opportunities_seen(db, department_manager) == 0
    with pytest.raises(PermissionDenied) as refused:
        create_user(
            db,
            department_manager,
            username="wide",
            full_name="Wide",
            employee_no="S-wide",
            password=PASSWORD,
            org_unit_id=company.units["beijing"].id,
            role_codes=["subtree_reader"],
        )
    # A list of units reaches no subtree: no subtree role is theirs to give, anywhere.
    assert (
        refused.value.key == "You cannot grant the role {role}: its data scope is wider than yours."
    )
    db.rollback()
    assert db.exec(select(User).where(User.username == "wide")).first() is None
    # What stays within the granter's reach is still granted: the team of their own unit.
    create_user(
        db,
        department_manager,
        username="narrow",
        full_name="Narrow",
        employee_no="S-narrow",
        password=PASSWORD,
        org_unit_id=company.units["beijing"].id,
        role_codes=["team_reader"],
    )


def test_finding_4_custom_scope_manager_cannot_widen_an_accounts_roles(
    db, company, department_manager
):
    clerk = person(db, company, "clerk", "beijing", ["team_reader"])
    with pytest.raises(PermissionDenied) as refused:
        set_user_roles(db, department_manager, clerk.id, ["subtree_reader"])
    # A list of units reaches no subtree: no subtree role is theirs to give, anywhere.
    assert (
        refused.value.key == "You cannot grant the role {role}: its data scope is wider than yours."
    )
    db.rollback()
    assert opportunities_seen(db, load_actor(db, clerk.id)) == 0


def test_finding_4_moving_a_user_moves_their_reach(db, company):
    # The Beijing manager also reads the Shanghai unit itself (not its teams).
    role(db, "shanghai_desk", "custom", ["view_leads"], units=[company.units["shanghai"].id])
    role(db, "subtree_reader", "subtree", READ_ONLY)
    set_user_roles(db, SYSTEM, company.users["bj_manager"].id, ["sales_manager", "shanghai_desk"])
    set_user_roles(db, SYSTEM, company.users["rep_a1"].id, ["rep", "subtree_reader"])
    add_owned_opportunity(db, company, "rep_c1", 1)
    manager = company.actor(db, "bj_manager")
    rep_a1 = company.users["rep_a1"].id
    # From Shanghai the subtree role would reach Team C, which the manager does not.
    with pytest.raises(PermissionDenied) as refused:
        update_user(db, manager, rep_a1, org_unit_id=company.units["shanghai"].id)
    assert (
        refused.value.key
        == "You cannot give the role {role} to someone in {unit}: from there it would reach data outside your own scope."
    )
    db.rollback()
    changed, errors = bulk_update_users(
        db, manager, [{"id": rep_a1, "org_unit_id": company.units["shanghai"].id}]
    )
    assert changed == 0
    assert [(e.column, e.key) for e in errors] == [
        (
            "org_unit_id",
            "You cannot give the role {role} to someone in {unit}: from there it would reach data outside your own scope.",
        )
    ]
    db.rollback()
    assert db.get(User, rep_a1).org_unit_id == company.units["team_a"].id
    assert opportunities_seen(db, load_actor(db, rep_a1)) == 0
    # Within the manager's own subtree the move is theirs to make.
    update_user(db, manager, rep_a1, org_unit_id=company.units["team_b"].id)


def test_finding_4_the_roster_checks_reach_from_the_rows_unit(db, company):
    from crm_core.imports.tabular import read_table

    role(db, "shanghai_desk", "custom", ["view_leads"], units=[company.units["shanghai"].id])
    role(db, "subtree_reader", "subtree", READ_ONLY)
    set_user_roles(db, SYSTEM, company.users["bj_manager"].id, ["sales_manager", "shanghai_desk"])
    set_user_roles(db, SYSTEM, company.users["rep_a1"].id, ["rep", "subtree_reader"])
    db.commit()
    rep_a1 = db.get(User, company.users["rep_a1"].id)
    data = (
        "Employee No,Name,Unit,Title,Status\n"
        f"{rep_a1.employee_no},{rep_a1.full_name},HQ/Shanghai,,active\n"
        "E9001,New Reader,HQ/Shanghai,subtree_reader,active\n"
        "E9002,Team B Reader,HQ/Beijing/Team B,subtree_reader,active\n"
    ).encode()
    frame = read_table(data, "r.csv")
    preview = engine.preview(db, company.actor(db, "bj_manager"), ROSTER, frame)
    assert [(i.row, i.field, i.key, i.params) for i in preview.issues] == [
        (
            2,
            "unit",
            "In this unit the account's role {role} would reach data outside your scope.",
            {"role": "subtree_reader"},
        ),
        (3, "title", "You cannot grant the role {role}.", {"role": "subtree_reader"}),
    ]
    assert [r.employee_no for r in preview.rows] == ["E9002"]


def test_finding_4_moving_a_unit_needs_everything_below_it_in_reach(db, company):
    """A unit moved under another hands all of its subtree to the new parent's managers."""
    beijing, shanghai = company.units["beijing"], company.units["shanghai"]
    role(db, "org_desk", "custom", ["manage_org", *READ_ONLY], units=[beijing.id, shanghai.id])
    person(db, company, "desk", "hq", ["org_desk"])
    person(db, company, "sh_manager", "shanghai", ["sales_manager"])
    add_owned_opportunity(db, company, "rep_a1", 1)
    desk = company.actor(db, "desk")
    with pytest.raises(PermissionDenied) as refused:
        move_unit(db, desk, beijing.id, shanghai.id)
    assert (
        refused.value.key
        == "You cannot move {unit}: {count} of the units in it are outside your scope, and they would move with it."
    )
    db.rollback()
    assert db.get(OrgUnit, beijing.id).parent_id == company.units["hq"].id
    assert opportunities_seen(db, company.actor(db, "sh_manager")) == 0
    # The Beijing manager moves a team within Beijing, as before.
    manager = company.actor(db, "bj_manager")
    team_d = create_unit(db, manager, "Team D", beijing.id)
    move_unit(db, manager, team_d.id, company.units["team_a"].id)


# --- finding 5: a role editor changes nobody outside their reach ---------------------------


@pytest.fixture
def beijing_role_editor(db, company):
    """The Beijing sales manager, also allowed to edit roles (discount limit 30%)."""
    manager = company.actor(db, "bj_manager")
    role(db, "bj_roles", "subtree", [*manager.permissions, "manage_roles"], discount=30)
    set_user_roles(db, SYSTEM, company.users["bj_manager"].id, ["sales_manager", "bj_roles"])
    db.commit()
    return company.actor(db, "bj_manager")


def test_finding_5_beijing_role_editor_cannot_change_the_builtin_rep_role(
    db, company, beijing_role_editor
):
    rep = db.exec(select(Role).where(Role.code == "rep")).one()
    before = (sorted(rep.permissions), rep.data_scope, rep.max_discount_pct)
    with pytest.raises(PermissionDenied) as refused:
        save_role(
            db,
            beijing_role_editor,
            code="rep",
            name=rep.name,
            role_id=rep.id,
            permissions=sorted(
                {*rep.permissions, "export_leads", "merge_leads", "assign_opportunities"}
            ),
            data_scope="team",
            max_discount_pct=30,
        )
    assert (
        refused.value.key
        == "Only an administrator can change the built-in role {code}: it is held across the whole company."
    )
    db.rollback()
    db.expire_all()
    rep = db.exec(select(Role).where(Role.code == "rep")).one()
    assert (sorted(rep.permissions), rep.data_scope, rep.max_discount_pct) == before
    shanghai_rep = company.actor(db, "rep_c1")
    assert shanghai_rep.scope is DataScope.SELF and not shanghai_rep.can("export_leads")


def test_finding_5_role_editor_cannot_change_a_role_held_outside_their_reach(
    db, company, beijing_role_editor
):
    shared = role(db, "night_shift", "self", ["view_leads"])
    own = role(db, "bj_night_shift", "self", ["view_leads"])
    set_user_roles(db, SYSTEM, company.users["rep_c1"].id, ["rep", "night_shift"])
    set_user_roles(db, SYSTEM, company.users["rep_a1"].id, ["rep", "night_shift", "bj_night_shift"])
    db.commit()
    with pytest.raises(PermissionDenied) as refused:
        save_role(
            db,
            beijing_role_editor,
            code="night_shift",
            name="Night shift",
            role_id=shared.id,
            permissions=["view_leads", "export_leads"],
            data_scope="self",
        )
    assert (
        refused.value.key
        == "You cannot change the role {code}: {count} person who holds it is outside your scope."
    )
    assert refused.value.params == {"code": "night_shift", "count": 1}
    db.rollback()
    assert not company.actor(db, "rep_c1").can("export_leads")
    # A role held only inside Beijing stays the editor's to change.
    save_role(
        db,
        beijing_role_editor,
        code="bj_night_shift",
        name="Night shift (Beijing)",
        role_id=own.id,
        permissions=["view_leads", "export_leads"],
        data_scope="team",
    )
    db.commit()
    assert company.actor(db, "rep_a1").can("export_leads")


def test_finding_5_a_role_edit_cannot_widen_a_holders_reach_past_the_editor(db, company):
    beijing = company.units["beijing"]
    reader = role(db, "bj_reader", "team", READ_ONLY)
    clerk = person(db, company, "clerk", "beijing", ["bj_reader"])
    add_owned_opportunity(db, company, "rep_a1", 1)
    wider = {
        "code": "bj_reader",
        "name": "Beijing reader",
        "role_id": reader.id,
        "permissions": READ_ONLY,
        "data_scope": "subtree",
    }
    # An editor whose custom scope is the Beijing unit alone reaches no subtree at all.
    role(db, "dept_roles", "custom", ["manage_roles", *READ_ONLY], units=[beijing.id])
    person(db, company, "dept_editor", "beijing", ["dept_roles"])
    dept_editor = company.actor(db, "dept_editor")
    assert opportunities_seen(db, dept_editor) == 0
    with pytest.raises(PermissionDenied) as refused:
        save_role(db, dept_editor, **wider)
    assert (
        refused.value.key == "You cannot grant the role {role}: its data scope is wider than yours."
    )
    db.rollback()
    with pytest.raises(PermissionDenied) as refused:
        save_role(
            db,
            dept_editor,
            code="wide_reader",
            name="Wide reader",
            permissions=READ_ONLY,
            data_scope="subtree",
        )
    assert (
        refused.value.key == "You cannot grant the role {role}: its data scope is wider than yours."
    )
    db.rollback()
    # An editor who reaches Team A's subtree and the Beijing unit: the clerk is within
    # reach, but from Beijing a subtree role would reach Team B too.
    role(db, "team_a_roles", "subtree", ["manage_roles", *READ_ONLY])
    role(db, "beijing_desk", "custom", READ_ONLY, units=[beijing.id])
    person(db, company, "mixed_editor", "team_a", ["team_a_roles", "beijing_desk"])
    with pytest.raises(PermissionDenied) as refused:
        save_role(db, company.actor(db, "mixed_editor"), **wider)
    assert (
        refused.value.key
        == "You cannot give the role {role} to someone in {unit}: from there it would reach data outside your own scope."
    )
    db.rollback()
    assert opportunities_seen(db, load_actor(db, clerk.id)) == 0


# --- finding 6: a lead's creator keeps nothing beyond their scope --------------------------


def type_in_lead(db, actor, phone: str = "13812345678", *, keep: bool = False) -> int:
    result = intake_leads(
        db,
        actor,
        [LeadInput(name="Zhang Wei", phone=phone, channel="sem", business_line_codes=["kaoyan"])],
        source="manual",
        keep_for_self=keep,
    )
    [outcome] = result.outcomes
    assert outcome.status == "created", outcome
    db.commit()
    return outcome.lead_id


def opportunity_of(db, lead_id: int) -> int:
    return db.exec(select(Opportunity.id).where(Opportunity.lead_id == lead_id)).one()


def assert_lead_out_of_reach(db, actor, lead_id: int, phone: str, leads_left: int = 0) -> None:
    """Every way to the lead (card, reveal, edit, tags, search, count, learning) is shut."""
    for read in (
        lambda: get_lead_detail(db, actor, lead_id),
        lambda: reveal_phone(db, actor, lead_id),
        lambda: update_lead(db, actor, lead_id, {"name": "Mine", "phone": "13900000000"}),
        lambda: add_tag(db, actor, lead_id, "mine"),
        lambda: learning_for_lead(db, actor, lead_id),
    ):
        with pytest.raises(NotFound):
            read()
        db.rollback()
    assert search_leads(db, actor, LeadFilter(text=phone)).rows == []
    assert search_leads(db, actor, LeadFilter(text=phone[-4:])).rows == []
    assert lead_id not in [r.id for r in search_leads(db, actor, LeadFilter()).rows]
    assert count_matching(db, actor, LeadFilter(text="Zhang")) == (0, False)
    assert count_leads(db, actor) == leads_left
    lead = db.get(Lead, lead_id)
    db.refresh(lead)
    assert (lead.name, lead.phone) == ("Zhang Wei", "+86" + phone)


def test_finding_6_a_reps_typed_in_lead_goes_with_its_opportunity(db, company):
    creator = company.actor(db, "rep_a1")
    lead_id = type_in_lead(db, creator)
    # Waiting for dispatch, the lead is still the creator's to open and correct; so is a
    # lead with no opportunity at all.
    assert get_lead_detail(db, creator, lead_id).name == "Zhang Wei"
    bare = Lead(
        name="Li Na",
        name_key="li na",
        phone="+8613833330000",
        phone_suffix="0000",
        channel="sem",
        created_by_id=creator.user_id,
    )
    db.add(bare)
    db.commit()
    assert count_leads(db, creator) == 2
    assert reveal_phone(db, creator, bare.id) == "+8613833330000"
    assign_opportunities(
        db, company.actor(db, "admin"), [opportunity_of(db, lead_id)], company.users["rep_c1"].id
    )
    db.commit()
    assert_lead_out_of_reach(db, creator, lead_id, "13812345678", leads_left=1)
    # The new owner has it, of course.
    assert get_lead_detail(db, company.actor(db, "rep_c1"), lead_id).name == "Zhang Wei"


def test_finding_6_a_lead_kept_then_transferred_away_leaves_its_creator(db, company):
    creator = company.actor(db, "rep_a1")
    lead_id = type_in_lead(db, creator, keep=True)
    assert get_lead_detail(db, creator, lead_id).opportunities[0].owner_name == "Rep A1"
    assign_opportunities(
        db, company.actor(db, "admin"), [opportunity_of(db, lead_id)], company.users["rep_c1"].id
    )
    db.commit()
    assert_lead_out_of_reach(db, creator, lead_id, "13812345678")


def test_finding_6_an_importing_manager_keeps_only_what_their_subtree_holds(db, company):
    """A Beijing manager enters two leads; one goes to Beijing, one to Shanghai."""
    admin = company.actor(db, "admin")
    manager = company.actor(db, "bj_manager")
    stays = type_in_lead(db, manager, "13811110000")
    leaves = type_in_lead(db, manager, "13822220000")
    both = LeadFilter(text="Zhang")
    assert count_matching(db, manager, both) == (2, False)
    assign_opportunities(db, admin, [opportunity_of(db, stays)], company.users["rep_a1"].id)
    assign_opportunities(db, admin, [opportunity_of(db, leaves)], company.users["rep_c1"].id)
    db.commit()
    assert [r.id for r in search_leads(db, manager, both).rows] == [stays]
    export = export_leads(db, manager, LeadFilter(), "csv", "en")
    assert export.rows == 1
    with pytest.raises(NotFound):
        merge_leads(db, manager, stays, leaves)
    db.rollback()
    create_option(db, admin, "tag", label_en="spring")  # tags come from the catalogue
    assert bulk_tag(db, manager, both, "spring") == 1
    with pytest.raises(NotFound):
        get_lead_detail(db, manager, leaves)
    assert get_lead_detail(db, manager, stays).id == stays
