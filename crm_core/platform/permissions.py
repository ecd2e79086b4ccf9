"""Named permissions, data scopes and the built-in roles.

A role is a set of these names plus a data scope; a user holding several roles gets the union
of their permissions and of the units their scopes reach (custom unit lists are merged).
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    VIEW_LEADS = "view_leads"
    CREATE_LEADS = "create_leads"
    IMPORT_LEADS = "import_leads"
    EXPORT_LEADS = "export_leads"
    MERGE_LEADS = "merge_leads"
    VIEW_FULL_PHONE = "view_full_phone"
    MANAGE_CUSTOMERS = "manage_customers"
    VIEW_OPPORTUNITIES = "view_opportunities"
    WORK_OPPORTUNITIES = "work_opportunities"
    CLAIM_FROM_POOL = "claim_from_pool"
    # Dispatch gives opportunities only to holders of this: reps and team leads, not the
    # managers, executives or admins who sit in the same units.
    RECEIVE_DISPATCH = "receive_dispatch"
    ASSIGN_OPPORTUNITIES = "assign_opportunities"
    MANAGE_RULES = "manage_rules"
    RUN_JOBS = "run_jobs"
    VIEW_DASHBOARDS = "view_dashboards"
    QA_INSPECT = "qa_inspect"
    MANAGE_PRODUCTS = "manage_products"
    CREATE_ORDERS = "create_orders"
    APPROVE_DISCOUNTS = "approve_discounts"
    RECORD_PAYMENTS = "record_payments"
    MANAGE_MARKETING_SPEND = "manage_marketing_spend"
    IMPORT_HISTORY = "import_history"
    MANAGE_ORG = "manage_org"
    MANAGE_USERS = "manage_users"
    MANAGE_ROLES = "manage_roles"
    MANAGE_METADATA = "manage_metadata"
    MANAGE_SETTINGS = "manage_settings"
    VIEW_AUDIT_LOG = "view_audit_log"
    # SMS: a message to one lead in reach; a send to a filtered set; writing templates and
    # the sensitive-word list; approving templates for sending.
    SEND_SMS = "send_sms"
    BULK_SMS = "bulk_sms"
    MANAGE_SMS = "manage_sms"
    APPROVE_SMS = "approve_sms"
    # QA: settle a rep's appeal against a score (not the inspector who gave it).
    QA_DECIDE = "qa_decide"
    # The call centre's settings: provider, lines, seats; and importing call records.
    MANAGE_CALL_CENTER = "manage_call_center"
    # Sales targets: set and split the targets of the units and people in reach (not one's
    # own, nor one's own unit's: those come from the level above).
    MANAGE_TARGETS = "manage_targets"
    # Approval flows: which roles approve refunds, discounts, transfers across units and
    # re-activations, in which order, from which amount.
    MANAGE_APPROVAL_FLOWS = "manage_approval_flows"


ALL_PERMISSIONS: frozenset[str] = frozenset(p.value for p in Permission)
# Permissions that give the holder no power over anything (grantable by anyone who may grant).
MARKERS: frozenset[str] = frozenset({Permission.RECEIVE_DISPATCH.value})
# The admin role holds everything except being a dispatch target.
ADMIN_PERMISSIONS: frozenset[str] = ALL_PERMISSIONS - {Permission.RECEIVE_DISPATCH.value}


class DataScope(StrEnum):
    """Which business rows a role reaches, from narrowest to widest."""

    SELF = "self"
    TEAM = "team"
    SUBTREE = "subtree"
    CUSTOM = "custom"
    ALL = "all"


# Width order used only to label a user's widest scope (`Actor.scope`); CUSTOM sits between
# the unit-based scopes and ALL because its unit list is merged with whatever the other roles
# reach. It says nothing about how much a scope reaches: a custom list of one unit ranks with
# a subtree. So grants never compare these numbers; they compare the units a role would reach
# from the account's unit with the units the granter reaches (`users.ensure_can_grant_at`).
SCOPE_WIDTH = {
    DataScope.SELF: 0,
    DataScope.TEAM: 1,
    DataScope.SUBTREE: 2,
    DataScope.CUSTOM: 2,
    DataScope.ALL: 3,
}

P = Permission
_REP = {
    P.RECEIVE_DISPATCH,
    P.VIEW_LEADS,
    P.CREATE_LEADS,
    P.VIEW_OPPORTUNITIES,
    P.WORK_OPPORTUNITIES,
    P.CLAIM_FROM_POOL,
    P.CREATE_ORDERS,
    P.SEND_SMS,
}
_TEAM_LEAD = _REP | {
    P.ASSIGN_OPPORTUNITIES,
    P.VIEW_DASHBOARDS,
    P.EXPORT_LEADS,
    P.MANAGE_TARGETS,
}
_SALES_MANAGER = (_TEAM_LEAD - {P.RECEIVE_DISPATCH}) | {
    P.MANAGE_RULES,
    P.RUN_JOBS,
    P.MERGE_LEADS,
    P.IMPORT_LEADS,
    P.APPROVE_DISCOUNTS,
    P.MANAGE_ORG,
    P.MANAGE_USERS,
    P.IMPORT_HISTORY,
    P.BULK_SMS,
    P.QA_DECIDE,
}

# code -> (permissions, data scope). Names are translated through "role.<code>".
BUILTIN_ROLES: dict[str, tuple[frozenset[str], DataScope]] = {
    "admin": (ADMIN_PERMISSIONS, DataScope.ALL),
    "executive": (
        frozenset({P.VIEW_LEADS, P.VIEW_OPPORTUNITIES, P.VIEW_DASHBOARDS, P.EXPORT_LEADS}),
        DataScope.ALL,
    ),
    "sales_manager": (frozenset(_SALES_MANAGER), DataScope.SUBTREE),
    "team_lead": (frozenset(_TEAM_LEAD), DataScope.TEAM),
    "rep": (frozenset(_REP), DataScope.SELF),
    "qa_inspector": (
        frozenset({P.VIEW_LEADS, P.VIEW_OPPORTUNITIES, P.QA_INSPECT}),
        # Inspectors sit in their own unit but review reps company-wide.
        DataScope.ALL,
    ),
    # Finance records payments and refunds (the e-commerce link) and reads revenue.
    "finance": (
        frozenset({P.VIEW_OPPORTUNITIES, P.RECORD_PAYMENTS, P.VIEW_DASHBOARDS}),
        DataScope.ALL,
    ),
    "marketing": (
        frozenset(
            {
                P.VIEW_LEADS,
                P.CREATE_LEADS,
                P.IMPORT_LEADS,
                P.EXPORT_LEADS,
                P.MANAGE_CUSTOMERS,
                P.VIEW_DASHBOARDS,
                P.MANAGE_MARKETING_SPEND,
                P.SEND_SMS,
                P.BULK_SMS,
                P.MANAGE_SMS,
            }
        ),
        DataScope.ALL,
    ),
}

# The largest discount (percent off list price) each built-in role gives without approval.
BUILTIN_DISCOUNTS: dict[str, int] = {"admin": 100, "sales_manager": 30, "team_lead": 15, "rep": 10}
