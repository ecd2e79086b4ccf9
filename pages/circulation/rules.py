"""Circulation rules (流转规则): dispatch, recycle, claim, departure and renewal rules in
the order they apply, each editable, pausable, movable and with its version history; a dry
run of a draft; what waits for dispatch and why; and the engine's "run now" buttons."""

from __future__ import annotations

import streamlit as st

from crm_core.circulation.rules import can_edit, list_rules, rule_names
from crm_core.org.unit_labels import unit_labels as unit_label_of
from crm_core.org.users import staff_names
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import label_of
from crm_core.platform.metadata import list_business_lines
from crm_core.platform.permissions import DataScope
from ui.circulation import people, units
from ui.context import actor
from ui.db import session
from ui.feedback import show_flash
from ui.i18n import show_error, t
from ui.options import labels
from ui.rule_forms import KINDS, TABS, rule_form
from ui.rule_list import rule_list
from ui.rule_ops import RuleContext, jobs_panel, waiting_summary

me = actor()
st.title(t("Circulation rules"))
st.caption(
    t(
        "Rules run by themselves: dispatch gives waiting opportunities to reps, recycling takes back what is not worked, claim rules limit the public pool, departure rules move a leaver's opportunities. Lower priority numbers run first."
    )
)
show_flash()

try:
    with session() as s:
        active_units, unit_labels = units(s, me)
        names = people(s, me)
        ctx = RuleContext(
            me=me,
            lines={line.id: line.name for line in list_business_lines(s)},
            units=active_units,
            unit_labels=unit_labels,
            channels=labels("channel"),
            reps=names,
            names=staff_names(s),
            company_wide=me.scope is DataScope.ALL,
        )
        rules = {kind: list_rules(s, me, kind) for kind in KINDS}
        # The rules of the units above the reader's name units outside their own tree.
        above = {r.org_unit_id for found in rules.values() for r in found} - set(unit_labels)
        unit_labels.update(unit_label_of(s, above))
        dispatch_names = rule_names(s, "dispatch")
        editable = {
            kind: {r.id for r in found if can_edit(s, me, r)} for kind, found in rules.items()
        }
except CrmError as error:
    show_error(error)
    st.stop()

# Keyed: saving a rule reruns the page on the tab it was saved in, not on the first one.
tabs = st.tabs([t(label_of("rules.kind", kind)) for kind in KINDS], key=TABS, on_change="rerun")
for kind, tab in zip(KINDS, tabs, strict=True):
    with tab:
        st.caption(t(label_of("rules.kind_intro", kind)))
        rule_list(kind, ctx, rules[kind], editable[kind], ctx.names)
        st.divider()
        rule_form(kind, ctx, rules[kind])

st.divider()
waiting_summary(ctx, dispatch_names, rules["dispatch"])
jobs_panel(ctx, ctx.names)
