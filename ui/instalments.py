"""Instalment plans on the pages: the plan editor of the order form (a deposit and equal
instalments a month apart, each row editable), an order's plan with what is paid, open and
overdue, and the table of overdue instalments the workbench and the finance page show.
Every rule is in `crm_core.commerce.instalments`."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal

import pandas as pd
import streamlit as st

from crm_core.commerce.instalments import InstalmentRow, OverdueList, PlanPart
from crm_core.commerce.orders import order_number
from crm_core.platform.i18n import NC_, label_of
from ui.i18n import nt, t
from ui.sales import DETAIL_PAGE, local, local_now
from ui.tables import open_table


def _months_later(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    return day


def suggested_plan(price: Decimal, deposit: Decimal, count: int, first: date) -> list[PlanPart]:
    """A deposit due today, then `count` equal instalments a month apart from `first`
    (the cents left over on the last one)."""
    today = local_now().date()
    parts = [PlanPart("deposit", today, deposit)] if deposit > 0 else []
    rest = price - deposit
    each = (rest / count).quantize(Decimal("0.01"), rounding=ROUND_DOWN) if count else rest
    for n in range(count):
        amount = each if n < count - 1 else rest - each * (count - 1)
        parts.append(PlanPart("instalment", _months_later(first, n), amount))
    return parts


def plan_editor(key: str, price: Decimal) -> list[PlanPart] | None:
    """The plan part of the order form: None unless "pay in instalments" is ticked."""
    if not st.checkbox(t("Pay in a deposit and instalments"), key=f"{key}_on"):
        return None
    left, middle, right = st.columns(3)
    deposit = left.number_input(
        t("Deposit (¥)"),
        min_value=0.0,
        max_value=float(price),
        value=float((price / 5).quantize(Decimal("1"))),
        step=100.0,
        format="%.2f",
        key=f"{key}_deposit",
    )
    count = middle.number_input(
        t("Instalments"), min_value=1, max_value=23, value=2, step=1, key=f"{key}_count"
    )
    first = right.date_input(
        t("First instalment due"), value=_months_later(local_now().date(), 1), key=f"{key}_first"
    )
    parts = suggested_plan(price, Decimal(f"{deposit:.2f}"), int(count), first)
    kind_col, due_col, amount_col = t("Part"), t("Due on"), t(NC_("orders.table", "Amount"))
    frame = pd.DataFrame(
        {
            kind_col: [t(label_of("instalment.kind", p.kind)) for p in parts],
            due_col: [p.due_on for p in parts],
            amount_col: [float(p.amount) for p in parts],
        }
    )
    edited = st.data_editor(
        frame,
        hide_index=True,
        disabled=[kind_col],
        key=f"{key}_parts_{deposit}_{count}_{first}",
        column_config={
            due_col: st.column_config.DateColumn(due_col, required=True),
            amount_col: st.column_config.NumberColumn(amount_col, format="%.2f", min_value=0.01),
        },
    )
    chosen = [
        PlanPart(p.kind, _as_date(row[due_col]), Decimal(f"{float(row[amount_col]):.2f}"))
        for p, (_, row) in zip(parts, edited.iterrows(), strict=False)
    ]
    st.caption(
        t(
            "The parts must add up to the order's price; each payment settles the earliest open part."
        )
    )
    return chosen


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def state_text(state: str) -> str:
    return t(label_of("instalment.state", state))


def plan_frame(parts: list[InstalmentRow]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("Part"): [t(label_of("instalment.kind", p.kind)) for p in parts],
            t("Due on"): [p.due_on.isoformat() for p in parts],
            t(NC_("orders.table", "Amount")): [f"¥{p.amount:,.2f}" for p in parts],
            t("Paid"): [f"¥{p.paid_amount:,.2f}" for p in parts],
            t("Status"): [state_text(p.state) for p in parts],
            t("Settled at"): [local(p.settled_at) for p in parts],
        }
    )


def show_plans(plans: dict[int, list[InstalmentRow]]) -> None:
    """Each order's plan under the orders of an opportunity."""
    for order_id, parts in plans.items():
        overdue = sum(1 for p in parts if p.state == "overdue")
        st.markdown(f"**{t('Instalment plan of order {number}', number=order_number(order_id))}**")
        if overdue:
            st.warning(
                nt(
                    "{count} instalment overdue.",
                    "{count} instalments overdue.",
                    overdue,
                    count=overdue,
                )
            )
        st.dataframe(plan_frame(parts), hide_index=True, width="stretch")


def show_overdue(found: OverdueList, key: str) -> None:
    """The overdue instalments as a table; a click opens the opportunity."""
    st.caption(
        nt(
            "{count} instalment overdue.",
            "{count} instalments overdue.",
            found.total,
            count=found.total,
        )
    )
    if not found.rows:
        return
    frame = pd.DataFrame(
        {
            t("Opportunity"): [f"#{r.opportunity_id} {r.lead_name or ''}" for r in found.rows],
            t(NC_("orders.table", "Order")): [order_number(r.order_id) for r in found.rows],
            t("Owner"): [r.owner_name or "" for r in found.rows],
            t("Part"): [t(label_of("instalment.kind", r.kind)) for r in found.rows],
            t("Due on"): [r.due_on.isoformat() for r in found.rows],
            t("Still owed"): [f"¥{r.owed:,.2f}" for r in found.rows],
        }
    )
    open_table(frame, [r.opportunity_id for r in found.rows], key=key, open_page=DETAIL_PAGE)
