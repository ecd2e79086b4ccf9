"""Showing approval requests: what a request asks, its steps by role, its history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.approvals.listing import ApprovalRow, HistoryRow
from crm_core.platform.i18n import label_of
from ui.company_time import show_time
from ui.i18n import t


def role_text(roles: dict[int, tuple[str, str, bool]], role_id: int) -> str:
    """A role's name: a built-in one in the user's language."""
    if role_id not in roles:
        return f"#{role_id}"
    code, name, builtin = roles[role_id]
    return t(label_of("role", code)) if builtin else name


def steps_text(roles: dict[int, tuple[str, str, bool]], steps: list, current: int | None) -> str:
    """The steps in order, the current one marked."""
    parts = []
    for index, role_id in enumerate(steps):
        text = role_text(roles, role_id)
        parts.append(f"**{text}**" if index == current else text)
    return " → ".join(parts)


def what_text(row: ApprovalRow) -> str:
    """What the request asks, in the user's language."""
    payload = {k: v for k, v in (row.payload or {}).items() if k != "failure"}
    params = {"opportunity": row.opportunity_id, "reason": "", **payload}
    return t(label_of("approval.what", row.kind), **params)


def outcome_text(row: ApprovalRow) -> str:
    """Why an approved request could not be carried out ("" otherwise)."""
    if not row.outcome:
        return ""
    return t(row.outcome, **(row.payload or {}).get("failure", {}))


def show_history(history: list[HistoryRow], roles: dict, steps: list) -> None:
    """The request's history as a small table, oldest first."""
    frame = pd.DataFrame(
        [
            {
                t("When"): show_time(h.at),
                t("Step"): role_text(roles, steps[h.step]) if h.step < len(steps) else "",
                t("Decision"): t(label_of("approval.decision", h.decision)),
                t("By"): h.who or "",
                t("Note"): h.note or "",
            }
            for h in history
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def show_opportunity_requests(
    rows: list[ApprovalRow], histories: dict[int, list[HistoryRow]], roles: dict
) -> None:
    """The opportunity's approval requests, in an expander open while one waits: what each
    asks, its state, its steps and its history."""
    if not rows:
        return
    waiting = any(r.state == "pending" for r in rows)
    with st.expander(t("Approval requests ({count})", count=len(rows)), expanded=waiting):
        for row in rows:
            st.markdown(
                t(
                    "**#{id} {kind}** · {state} · asked by {who} at {at}",
                    id=row.id,
                    kind=t(label_of("approval.kind", row.kind)),
                    state=t(label_of("approval.state", row.state)),
                    who=row.requester or "-",
                    at=show_time(row.requested_at),
                )
            )
            st.caption(what_text(row))
            st.caption(
                steps_text(roles, row.steps, row.current_step if row.state == "pending" else None)
            )
            if row.outcome:
                st.warning(outcome_text(row))
            show_history(histories.get(row.id, []), roles, row.steps)
