"""The manager's hand on picked opportunities, the same on the desk and on the board's list:
assign or transfer to a rep, return to the pool, lock, unlock, protect until a date,
re-activate dormant ones. Each act is one core function (`crm_core.circulation.override`)
that checks scope and writes the flow events; assigning to a rep of another unit and
re-activating go through `crm_core.approvals.entry`, which sends them for approval where an
approval flow applies."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from crm_core.approvals.entry import Routed, request_or_assign, request_or_reactivate
from crm_core.circulation.override import (
    protect_until,
    return_to_pool,
    set_locked,
)
from crm_core.circulation.pools import COMPANY_POOL, pool_choices
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import NP_
from ui.company_time import company_today, instant_of
from ui.db import session
from ui.feedback import flash
from ui.i18n import show_error, t

SENT = NP_(
    "{n} request sent for approval (see Approvals); {done} done at once.",
    "{n} requests sent for approval (see Approvals); {done} done at once.",
)


def override_actions(
    me: Actor, picked: list[int], names: dict[int, str], *, key: str, after: str
) -> None:
    """The acts as tabs under a table whose checked rows are `picked`; `names` are the reps
    the actor may give to. After an act the page reruns with `st.session_state[after]` set,
    so it clears its picks."""

    def act(action, *args, success, **params) -> None:
        try:
            with session() as s:
                count = action(s, me, *args)
        except CrmError as error:
            show_error(error)
        else:
            if isinstance(count, Routed) and count.sent:
                flash(SENT, n=count.sent, done=count.done)
            else:
                flash(success, n=count.done if isinstance(count, Routed) else count, **params)
            st.session_state[after] = True
            st.rerun()

    assign_tab, pool_tab, lock_tab, protect_tab, dormant_tab = st.tabs(
        [
            t("Assign / transfer"),
            t("Return to pool"),
            t("Lock"),
            t("Protect"),
            t("Re-activate"),
        ]
    )
    with assign_tab:
        rep = st.selectbox(
            t("Give to"),
            [None, *names],
            key=f"{key}_rep",
            format_func=lambda u: names.get(u, t("Choose a rep")),
        )
        st.caption(
            t(
                "Unowned opportunities are assigned, owned ones transferred. A manager's hand may pass the rep's caps."
            )
        )
        if st.button(
            t("Assign"), key=f"{key}_assign", type="primary", disabled=not picked or rep is None
        ):
            act(
                request_or_assign,
                picked,
                rep,
                success=NP_(
                    "{n} opportunity given to {name}.", "{n} opportunities given to {name}."
                ),
                name=names.get(rep),
            )
    with pool_tab:
        with session() as s:
            choices = {c.unit_id: c.label for c in pool_choices(s, me)}
        pool = st.selectbox(
            t("To the pool of"),
            [None, *choices],
            key=f"{key}_pool",
            format_func=lambda u: (
                t("Their own unit")
                if u is None
                else t("The whole company")
                if u == COMPANY_POOL
                else choices[u]
            ),
        )
        st.caption(
            t(
                "Owned or waiting opportunities go to the public pool of their unit, or of the unit you choose within your scope."
            )
        )
        if st.button(t("Return to pool"), key=f"{key}_return", disabled=not picked):
            act(
                return_to_pool,
                picked,
                pool,
                success=NP_(
                    "{n} opportunity returned to the pool.",
                    "{n} opportunities returned to the pool.",
                ),
            )
    with lock_tab:
        st.caption(t("Locked opportunities are never dispatched or recycled automatically."))
        lock, unlock = st.columns(2)
        if lock.button(t("Lock"), key=f"{key}_lock", disabled=not picked):
            act(
                set_locked,
                picked,
                True,
                success=NP_("{n} opportunity locked.", "{n} opportunities locked."),
            )
        if unlock.button(t("Unlock"), key=f"{key}_unlock", disabled=not picked):
            act(
                set_locked,
                picked,
                False,
                success=NP_("{n} opportunity unlocked.", "{n} opportunities unlocked."),
            )
    with protect_tab:
        today = company_today()
        until = st.date_input(
            t("Protect through"),
            value=today + timedelta(days=7),
            min_value=today,
            key=f"{key}_protect_date",
        )
        st.caption(t("Protected opportunities are not recycled until the end of the chosen day."))
        protect, unprotect = st.columns(2)
        if protect.button(t("Protect"), key=f"{key}_protect", disabled=not picked):
            # Protected through the chosen day: until the next day begins.
            end = instant_of(until + timedelta(days=1))
            act(
                protect_until,
                picked,
                end,
                success=NP_(
                    "{n} opportunity protected through {date}.",
                    "{n} opportunities protected through {date}.",
                ),
                date=until.isoformat(),
            )
        if unprotect.button(t("End protection"), key=f"{key}_unprotect", disabled=not picked):
            act(
                protect_until,
                picked,
                None,
                success=NP_(
                    "Protection ended for {n} opportunity.",
                    "Protection ended for {n} opportunities.",
                ),
            )
    with dormant_tab:
        st.caption(t("Dormant opportunities go back to dispatch with their recycle count reset."))
        if st.button(t("Re-activate"), key=f"{key}_reactivate", disabled=not picked):
            act(
                request_or_reactivate,
                picked,
                success=NP_("{n} opportunity re-activated.", "{n} opportunities re-activated."),
            )
