"""The rule editor's list of one kind: the rules in the order they apply, and the chosen
rule's actions (edit, pause or resume, move, delete with confirmation) and version history."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from crm_core.circulation.rules import delete_rule, move_rule, rule_versions, set_rule_enabled
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, NC_, label_of
from ui.circulation import label, person, when
from ui.db import session
from ui.feedback import flash
from ui.i18n import t, tmd
from ui.rule_forms import form_values, key, load, rule_error
from ui.rule_ops import RuleContext


def _unit(ctx: RuleContext, unit_id: int | None) -> str:
    if unit_id is None:
        return t("Whole company")
    return ctx.unit_labels.get(unit_id, f"#{unit_id}")


def _line(ctx: RuleContext, line_id: int | None) -> str:
    return t("Any business line") if line_id is None else ctx.lines.get(line_id, f"#{line_id}")


def _table(ctx: RuleContext, rules: list, names: dict[int, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                t("Priority"): r.priority,
                t(NC_("rules.table", "Name")): r.name,
                t("Unit"): _unit(ctx, r.org_unit_id),
                t("Business line"): _line(ctx, r.business_line_id),
                t("State"): t("Running") if r.enabled else t("Paused"),
                t("Version"): r.version,
                t("Last changed"): " ".join(
                    filter(
                        None,
                        [
                            when(r.updated_at or r.created_at),
                            person(names, r.updated_by_id) if r.updated_by_id else "",
                        ],
                    )
                ),
            }
            for r in rules
        ]
    )


def _act(ctx: RuleContext, action, *args, success: str, **params) -> None:
    try:
        with session() as s:
            action(s, ctx.me, *args)
    except CrmError as error:
        st.error(rule_error(error))
    else:
        flash(success, **params)
        st.rerun()


def _history(kind: str, ctx: RuleContext, rule, names: dict[int, str]) -> None:
    with st.expander(tmd("Version history of “{name}”", name=rule.name)):
        try:
            with session() as s:
                versions = rule_versions(s, ctx.me, kind, rule.id)
        except CrmError as error:
            st.error(rule_error(error))
            return
        if not versions:
            st.caption(t("No versions recorded."))
            return
        frame = pd.DataFrame(
            [
                {
                    t("Version"): v.version,
                    t("Change"): label("rules.change", v.change),
                    t("Changed by"): person(names, v.changed_by_id),
                    t("When"): when(v.changed_at),
                    t("Rule as saved"): json.dumps(
                        v.snapshot, ensure_ascii=False, sort_keys=True, default=str
                    ),
                }
                for v in versions
            ]
        )
        st.dataframe(frame, hide_index=True, width="stretch", key=key(kind, "history"))


def rule_list(
    kind: str, ctx: RuleContext, rules: list, editable: set[int], names: dict[int, str]
) -> None:
    """The rules of `kind` and the chosen rule's actions."""
    st.subheader(t("Rules"))
    if not rules:
        st.info(t("No rules yet — create the first one below."))
        return
    st.caption(t(label_of("rules.list.order", kind)))
    st.dataframe(_table(ctx, rules, names), hide_index=True, width="stretch")
    by_id = {r.id: r for r in rules}
    pick_key = key(kind, "pick")
    if pick_key in st.session_state and st.session_state[pick_key] not in by_id:
        del st.session_state[pick_key]  # the rule is gone: start from the first again
    chosen = st.selectbox(
        t("Rule"),
        list(by_id),
        index=0,
        key=pick_key,
        format_func=lambda i: f"{by_id[i].priority} · {by_id[i].name}",
    )
    rule = by_id[chosen]
    can = rule.id in editable
    if not can:
        st.caption(
            t(
                "This rule belongs to a unit outside your scope or to the whole company: you may read it but not change it."
            )
        )
    columns = st.columns(5)
    if columns[0].button(t("Edit"), key=key(kind, "edit"), disabled=not can):
        load(kind, form_values(kind, ctx, rules, rule), editing=rule.id)
        st.rerun()
    toggle = "pause" if rule.enabled else "resume"
    if columns[1].button(
        t(label_of("rules.action", toggle)), key=key(kind, "toggle"), disabled=not can
    ):
        _act(
            ctx,
            set_rule_enabled,
            kind,
            rule.id,
            not rule.enabled,
            success=label_of("rules.done", toggle),
            name=rule.name,
        )
    if columns[2].button(t("Move up"), key=key(kind, "up"), disabled=not can):
        _act(ctx, move_rule, kind, rule.id, -1, success=N_("Rule “{name}” moved."), name=rule.name)
    if columns[3].button(t("Move down"), key=key(kind, "down"), disabled=not can):
        _act(ctx, move_rule, kind, rule.id, 1, success=N_("Rule “{name}” moved."), name=rule.name)
    confirm_key = key(kind, "confirm")
    if columns[4].button(t("Delete"), key=key(kind, "delete"), disabled=not can):
        st.session_state[confirm_key] = rule.id
    if st.session_state.get(confirm_key) == rule.id and can:
        st.warning(
            tmd(
                "Delete the rule “{name}”? Its version history and flow events stay.",
                name=rule.name,
            )
        )
        yes, no = st.columns(2)
        if yes.button(t("Yes, delete"), key=key(kind, "delete_yes"), type="primary"):
            st.session_state.pop(confirm_key, None)
            if st.session_state.get(key(kind, "editing")) == rule.id:
                load(kind)
            _act(
                ctx,
                delete_rule,
                kind,
                rule.id,
                success=N_("Rule “{name}” deleted."),
                name=rule.name,
            )
        if no.button(t("Cancel"), key=key(kind, "delete_no")):
            st.session_state.pop(confirm_key, None)
            st.rerun()
    _history(kind, ctx, rule, names)
