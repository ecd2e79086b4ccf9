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
from crm_core.platform.permissions import Permission
from ui.i18n import t


@dataclass(frozen=True)
class PageSpec:
    path: str
    title_key: str
    icon: str
    section: str
    permission: str | None = None
    default: bool = False
    # The landing page of those who hold this permission (instead of `default`).
    landing_for: str | None = None


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "pages/workspace/home.py", "nav.home", ":material/home:", "nav.section.main", default=True
    ),
    PageSpec(
        "pages/sales/workbench.py",
        "nav.workbench",
        ":material/work:",
        "nav.section.main",
        Permission.WORK_OPPORTUNITIES,
        landing_for=Permission.WORK_OPPORTUNITIES,
    ),
    PageSpec("pages/workspace/account.py", "nav.account", ":material/person:", "nav.section.main"),
    PageSpec(
        "pages/sales/board.py",
        "nav.board",
        ":material/view_kanban:",
        "nav.section.sales",
        Permission.VIEW_OPPORTUNITIES,
    ),
    PageSpec(
        "pages/sales/opportunity.py",
        "nav.opportunity",
        ":material/contact_page:",
        "nav.section.sales",
        Permission.VIEW_OPPORTUNITIES,
    ),
    PageSpec(
        "pages/sales/approvals.py",
        "nav.discount_approvals",
        ":material/price_check:",
        "nav.section.sales",
        Permission.APPROVE_DISCOUNTS,
    ),
    PageSpec(
        "pages/sales/payments.py",
        "nav.payments",
        ":material/payments:",
        "nav.section.sales",
        Permission.RECORD_PAYMENTS,
    ),
    PageSpec(
        "pages/workspace/customers.py",
        "nav.customers",
        ":material/how_to_reg:",
        "nav.section.leads",
        Permission.MANAGE_CUSTOMERS,
    ),
    PageSpec(
        "pages/leads/library.py",
        "nav.leads",
        ":material/contacts:",
        "nav.section.leads",
        Permission.VIEW_LEADS,
    ),
    PageSpec(
        "pages/leads/lead_import.py",
        "nav.lead_import",
        ":material/upload_file:",
        "nav.section.leads",
        Permission.IMPORT_LEADS,
    ),
    PageSpec(
        "pages/leads/learning_import.py",
        "nav.learning_import",
        ":material/school:",
        "nav.section.leads",
        Permission.MANAGE_CUSTOMERS,
    ),
    PageSpec(
        "pages/circulation/pool.py",
        "nav.pool",
        ":material/waves:",
        "nav.section.circulation",
        Permission.CLAIM_FROM_POOL,
    ),
    PageSpec(
        "pages/circulation/desk.py",
        "nav.desk",
        ":material/swap_horiz:",
        "nav.section.circulation",
        Permission.ASSIGN_OPPORTUNITIES,
    ),
    PageSpec(
        "pages/circulation/flow_log.py",
        "nav.flow_log",
        ":material/timeline:",
        "nav.section.circulation",
        Permission.VIEW_OPPORTUNITIES,
    ),
    PageSpec(
        "pages/circulation/rules.py",
        "nav.rules",
        ":material/rule:",
        "nav.section.circulation",
        Permission.MANAGE_RULES,
    ),
    PageSpec(
        "pages/dashboards/funnel.py",
        "nav.dash_funnel",
        ":material/filter_alt:",
        "nav.section.dashboards",
        Permission.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/dashboards/circulation_health.py",
        "nav.dash_circulation",
        ":material/autorenew:",
        "nav.section.dashboards",
        Permission.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/dashboards/performance.py",
        "nav.dash_performance",
        ":material/leaderboard:",
        "nav.section.dashboards",
        Permission.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/dashboards/channel_roi.py",
        "nav.dash_roi",
        ":material/campaign:",
        "nav.section.dashboards",
        Permission.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/admin/history_import.py",
        "nav.history_import",
        ":material/history_edu:",
        "nav.section.admin",
        Permission.IMPORT_HISTORY,
    ),
    PageSpec(
        "pages/admin/org.py",
        "nav.org",
        ":material/account_tree:",
        "nav.section.admin",
        Permission.MANAGE_ORG,
    ),
    PageSpec(
        "pages/admin/users.py",
        "nav.users",
        ":material/group:",
        "nav.section.admin",
        Permission.MANAGE_USERS,
    ),
    PageSpec(
        "pages/admin/roster.py",
        "nav.roster",
        ":material/badge:",
        "nav.section.admin",
        Permission.MANAGE_USERS,
    ),
    PageSpec(
        "pages/admin/settings.py",
        "nav.settings",
        ":material/settings:",
        "nav.section.admin",
        Permission.MANAGE_SETTINGS,
    ),
    PageSpec(
        "pages/admin/login_log.py",
        "nav.login_log",
        ":material/login:",
        "nav.section.admin",
        Permission.VIEW_AUDIT_LOG,
    ),
    PageSpec(
        "pages/admin/roles.py",
        "nav.roles",
        ":material/admin_panel_settings:",
        "nav.section.admin",
        Permission.MANAGE_ROLES,
    ),
    PageSpec(
        "pages/admin/products.py",
        "nav.products",
        ":material/inventory_2:",
        "nav.section.admin",
        Permission.MANAGE_PRODUCTS,
    ),
    PageSpec(
        "pages/admin/audit_log.py",
        "nav.audit_log",
        ":material/history:",
        "nav.section.admin",
        Permission.VIEW_AUDIT_LOG,
    ),
)


def allowed_pages(actor: Actor, must_change_password: bool = False) -> list[PageSpec]:
    """The pages `actor` may open; only the account page until a forced password change."""
    if must_change_password:
        return [p for p in PAGES if p.path == "pages/workspace/account.py"]
    return [p for p in PAGES if p.permission is None or actor.can(p.permission)]


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
