"""Which pages exist and who may open them. `st.navigation` receives only the pages of the
user's permissions, so a page outside the set cannot be opened by URL either.

Page scripts live in one folder per section under `pages/`, never directly in `pages/`:
Streamlit would otherwise serve `pages/*.py` on its own (its older multipage mode) on a
fresh server's first run, before app.py's sign-in check.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from crm_core.platform.actor import Actor
from crm_core.platform.i18n import N_, NC_
from crm_core.platform.permissions import Permission
from ui.i18n import t


@dataclass(frozen=True)
class PageSpec:
    path: str
    title_key: str
    icon: str
    section: str
    # Who sees the page: holders of this permission, or of any of these.
    permission: str | tuple[str, ...] | None = None
    default: bool = False
    # The landing page of those who hold this permission (instead of `default`).
    landing_for: str | None = None


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "pages/workspace/home.py", N_("Home"), ":material/home:", N_("Workspace"), default=True
    ),
    PageSpec(
        "pages/sales/workbench.py",
        N_("Workbench"),
        ":material/work:",
        N_("Workspace"),
        Permission.WORK_OPPORTUNITIES,
        landing_for=Permission.WORK_OPPORTUNITIES,
    ),
    PageSpec(
        "pages/workspace/qa.py",
        N_("QA workbench"),
        ":material/fact_check:",
        N_("Workspace"),
        (Permission.QA_INSPECT, Permission.QA_DECIDE),
        landing_for=Permission.QA_INSPECT,
    ),
    PageSpec(
        "pages/workspace/qa_results.py",
        N_("My QA results"),
        ":material/grading:",
        N_("Workspace"),
        Permission.WORK_OPPORTUNITIES,
    ),
    PageSpec(
        "pages/workspace/approval_inbox.py", N_("Approvals"), ":material/approval:", N_("Workspace")
    ),
    PageSpec("pages/workspace/account.py", N_("My account"), ":material/person:", N_("Workspace")),
    PageSpec(
        "pages/sales/board.py",
        N_("Opportunity board"),
        ":material/view_kanban:",
        N_("Sales"),
        Permission.VIEW_OPPORTUNITIES,
    ),
    PageSpec(
        "pages/sales/opportunity.py",
        NC_("nav", "Opportunity"),
        ":material/contact_page:",
        N_("Sales"),
        Permission.VIEW_OPPORTUNITIES,
    ),
    PageSpec(
        "pages/sales/approvals.py",
        N_("Discount approvals"),
        ":material/price_check:",
        N_("Sales"),
        Permission.APPROVE_DISCOUNTS,
    ),
    PageSpec(
        "pages/sales/targets.py",
        N_("Sales targets"),
        ":material/flag:",
        N_("Sales"),
        (Permission.MANAGE_TARGETS, Permission.VIEW_DASHBOARDS),
    ),
    PageSpec(
        "pages/sales/payments.py",
        N_("Payments"),
        ":material/payments:",
        N_("Sales"),
        Permission.RECORD_PAYMENTS,
    ),
    PageSpec(
        "pages/workspace/customers.py",
        N_("Customers"),
        ":material/how_to_reg:",
        NC_("nav.section", "Leads"),
        Permission.MANAGE_CUSTOMERS,
    ),
    PageSpec(
        "pages/leads/library.py",
        N_("Lead library"),
        ":material/contacts:",
        NC_("nav.section", "Leads"),
        Permission.VIEW_LEADS,
    ),
    PageSpec(
        "pages/leads/lead_import.py",
        N_("Import leads"),
        ":material/upload_file:",
        NC_("nav.section", "Leads"),
        Permission.IMPORT_LEADS,
    ),
    PageSpec(
        "pages/leads/learning_import.py",
        N_("Study activity import"),
        ":material/school:",
        NC_("nav.section", "Leads"),
        Permission.MANAGE_CUSTOMERS,
    ),
    PageSpec(
        "pages/leads/sms.py",
        N_("SMS"),
        ":material/sms:",
        NC_("nav.section", "Leads"),
        (Permission.BULK_SMS, Permission.MANAGE_SMS, Permission.APPROVE_SMS),
    ),
    PageSpec(
        "pages/circulation/pool.py",
        N_("Public pool"),
        ":material/waves:",
        N_("Circulation"),
        Permission.CLAIM_FROM_POOL,
    ),
    PageSpec(
        "pages/circulation/desk.py",
        N_("Manager desk"),
        ":material/swap_horiz:",
        N_("Circulation"),
        Permission.ASSIGN_OPPORTUNITIES,
    ),
    PageSpec(
        "pages/circulation/flow_log.py",
        N_("Flow log"),
        ":material/timeline:",
        N_("Circulation"),
        Permission.VIEW_OPPORTUNITIES,
    ),
    PageSpec(
        "pages/circulation/rules.py",
        N_("Circulation rules"),
        ":material/rule:",
        N_("Circulation"),
        Permission.MANAGE_RULES,
    ),
    PageSpec(
        "pages/dashboards/funnel.py",
        N_("Funnel"),
        ":material/filter_alt:",
        N_("Dashboards"),
        Permission.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/dashboards/circulation_health.py",
        N_("Circulation health"),
        ":material/autorenew:",
        N_("Dashboards"),
        Permission.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/dashboards/performance.py",
        N_("Team performance"),
        ":material/leaderboard:",
        N_("Dashboards"),
        Permission.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/dashboards/rankings.py",
        N_("Activity rankings"),
        ":material/emoji_events:",
        N_("Dashboards"),
        (Permission.VIEW_DASHBOARDS, Permission.WORK_OPPORTUNITIES),
    ),
    PageSpec(
        "pages/dashboards/channel_roi.py",
        N_("Channel ROI"),
        ":material/campaign:",
        N_("Dashboards"),
        Permission.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/admin/history_import.py",
        N_("History import"),
        ":material/history_edu:",
        N_("Administration"),
        Permission.IMPORT_HISTORY,
    ),
    PageSpec(
        "pages/admin/org.py",
        N_("Org chart"),
        ":material/account_tree:",
        N_("Administration"),
        Permission.MANAGE_ORG,
    ),
    PageSpec(
        "pages/admin/users.py",
        N_("Users"),
        ":material/group:",
        N_("Administration"),
        Permission.MANAGE_USERS,
    ),
    PageSpec(
        "pages/admin/roster.py",
        N_("HR roster sync"),
        ":material/badge:",
        N_("Administration"),
        Permission.MANAGE_USERS,
    ),
    PageSpec(
        "pages/admin/settings.py",
        N_("Settings"),
        ":material/settings:",
        N_("Administration"),
        Permission.MANAGE_SETTINGS,
    ),
    PageSpec(
        "pages/admin/api_keys.py",
        N_("API keys"),
        ":material/key:",
        N_("Administration"),
        Permission.MANAGE_SETTINGS,
    ),
    PageSpec(
        "pages/admin/approval_flows.py",
        N_("Approval flows"),
        ":material/account_tree:",
        N_("Administration"),
        Permission.MANAGE_APPROVAL_FLOWS,
    ),
    PageSpec(
        "pages/admin/work_chat.py",
        N_("Work-chat notices"),
        ":material/forum:",
        N_("Administration"),
        Permission.MANAGE_SETTINGS,
    ),
    PageSpec(
        "pages/admin/custom_fields.py",
        N_("Custom fields"),
        ":material/dynamic_form:",
        N_("Administration"),
        Permission.MANAGE_METADATA,
    ),
    PageSpec(
        "pages/admin/login_log.py",
        N_("Sign-in log"),
        ":material/login:",
        N_("Administration"),
        Permission.VIEW_AUDIT_LOG,
    ),
    PageSpec(
        "pages/admin/roles.py",
        NC_("nav", "Roles"),
        ":material/admin_panel_settings:",
        N_("Administration"),
        Permission.MANAGE_ROLES,
    ),
    PageSpec(
        "pages/admin/metadata.py",
        N_("Metadata"),
        ":material/list_alt:",
        N_("Administration"),
        Permission.MANAGE_METADATA,
    ),
    PageSpec(
        "pages/admin/products.py",
        N_("Products"),
        ":material/inventory_2:",
        N_("Administration"),
        Permission.MANAGE_PRODUCTS,
    ),
    PageSpec(
        "pages/admin/call_centre.py",
        N_("Call centre"),
        ":material/support_agent:",
        N_("Administration"),
        Permission.MANAGE_CALL_CENTER,
    ),
    PageSpec(
        "pages/admin/audit_log.py",
        N_("Audit log"),
        ":material/history:",
        N_("Administration"),
        Permission.VIEW_AUDIT_LOG,
    ),
)


def allowed_pages(actor: Actor, must_change_password: bool = False) -> list[PageSpec]:
    """The pages `actor` may open; only the account page until a forced password change."""
    if must_change_password:
        return [p for p in PAGES if p.path == "pages/workspace/account.py"]
    return [p for p in PAGES if _may_open(actor, p.permission)]


def _may_open(actor: Actor, permission: str | tuple[str, ...] | None) -> bool:
    if permission is None:
        return True
    if isinstance(permission, tuple):
        return any(actor.can(p) for p in permission)
    return actor.can(permission)


def may_open(actor: Actor, path: str) -> bool:
    """Whether `path` is among the pages `actor`'s navigation offers: a link or a table row
    leads only where the reader may go (marketing reads the funnel but not opportunities)."""
    return any(p.path == path for p in allowed_pages(actor))


def build_navigation(actor: Actor, must_change_password: bool = False):
    sections: dict[str, list] = {}
    specs = allowed_pages(actor, must_change_password)
    landing = next((p for p in specs if p.landing_for and actor.can(p.landing_for)), None)
    landing = landing or next((p for p in specs if p.default), specs[0])
    for spec in specs:
        sections.setdefault(t(spec.section), []).append(
            st.Page(spec.path, title=t(spec.title_key), icon=spec.icon, default=spec is landing)
        )
    # Always the whole menu: past twelve pages Streamlit would hide some behind "View more".
    return st.navigation(sections, expanded=True)
